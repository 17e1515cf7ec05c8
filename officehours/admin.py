import zoneinfo

from django.conf import settings
from django.contrib import admin, messages
from django.core.validators import MinValueValidator
from django.db import models
from django.db.models import Count
from django.utils import timezone

from enrollment.admin import RunAdmin as EnrollmentRunAdmin
from enrollment.models import Run

from .models import ChangeEmail, Question, Registration, Session, WeeklySlot
from .scheduling import cancel_session, generate_sessions, move_session, office_hours_window, revise_session

NO_OFFICE_HOURS_TIER = "{run} has no tier with office hours: no sessions generated."
# A change to these bumps the calendar sequence (moves and cancels bump it and email the students).
CALENDAR_FIELDS = {"title", "duration_minutes", "status"}
# Meeting and recording links typed without a scheme are https (Django 6 default; silences its warning).
URL_FIELDS = {models.URLField: {"assume_scheme": "https"}}
GENERATED = "{run}: {created} sessions created, {existing} already existed."
SLOT_ZONE_HELP = "In {zone}, the zone of this session's weekly slot. A new time emails the signed-up students."
SITE_ZONE_HELP = (
    "In {zone}, the site's zone (this session has no weekly slot). A new time emails the signed-up students."
)


class WeeklySlotInline(admin.TabularInline):
    model = WeeklySlot
    formfield_overrides = URL_FIELDS
    extra = 0
    fields = ["title", "weekday", "local_time", "timezone", "duration_minutes", "meeting_url", "capacity"]


# The run's page (enrollment's admin) gains the weekly slots and the generate action here, so that
# enrollment never imports officehours.
admin.site.unregister(Run)


@admin.register(Run)
class RunAdmin(EnrollmentRunAdmin):
    inlines = [*EnrollmentRunAdmin.inlines, WeeklySlotInline]
    actions = [*(EnrollmentRunAdmin.actions or []), "generate_office_hours"]

    def save_related(self, request, form, formsets, change):
        """Saving weekly slots generates the run's missing sessions, as the action and the command do."""
        super().save_related(request, form, formsets, change)
        slots_changed = any(fs.model is WeeklySlot and fs.has_changed() for fs in formsets)
        if slots_changed:
            generate_and_report(self, request, Run.objects.filter(pk=form.instance.pk))

    @admin.action(description="Generate office-hours sessions")
    def generate_office_hours(self, request, queryset):
        generate_and_report(self, request, queryset)


def generate_and_report(model_admin, request, runs):
    """Generate each run's missing sessions (idempotent, as the command) and say what was done."""
    for run in runs:
        if office_hours_window(run) is None:
            model_admin.message_user(request, NO_OFFICE_HOURS_TIER.format(run=run), messages.WARNING)
            continue
        result = generate_sessions(run=run)
        model_admin.message_user(
            request, GENERATED.format(run=run, created=result.created, existing=result.existing), messages.SUCCESS
        )


@admin.register(WeeklySlot)
class WeeklySlotAdmin(admin.ModelAdmin):
    formfield_overrides = URL_FIELDS
    list_display = ["title", "run", "weekday", "local_time", "timezone", "duration_minutes", "capacity"]
    list_filter = ["run", "weekday", "timezone"]
    list_select_related = ["run"]
    search_fields = ["title", "run__title", "run__slug"]

    def save_model(self, request, obj, form, change):
        """A slot saved here generates its run's missing sessions too, as on the run's page."""
        super().save_model(request, obj, form, change)
        generate_and_report(self, request, Run.objects.filter(pk=obj.run_id))


class RegistrationInline(admin.TabularInline):
    model = Registration
    fields = ["user", "created_at"]
    readonly_fields = fields
    extra = 0
    can_delete = False

    def has_add_permission(self, request, obj=None):
        return False


class QuestionInline(admin.TabularInline):
    model = Question
    fields = ["text", "author", "created_at", "answered_at"]
    readonly_fields = fields
    extra = 0
    can_delete = False

    def has_add_permission(self, request, obj=None):
        return False


@admin.register(Session)
class SessionAdmin(admin.ModelAdmin):
    """Sessions are added here one by one, or generated from slots; a move or a cancel emails the students."""

    list_display = ["title", "run", "starts_at_utc", "starts_at_in_slot_zone", "status", "registrations",
                    "sequence"]  # fmt: skip
    list_filter = ["run", "status", "slot"]
    formfield_overrides = URL_FIELDS
    list_select_related = ["run", "slot"]
    search_fields = ["title", "run__title", "run__slug"]
    date_hierarchy = "starts_at"
    fields = ["run", "slot", "slot_date", "title", "starts_at", "ends", "duration_minutes", "meeting_url",
              "capacity", "status", "recording_url", "notes", "uid", "sequence"]  # fmt: skip
    readonly_fields = ["slot", "slot_date", "ends", "uid", "sequence"]
    inlines = [RegistrationInline, QuestionInline]
    actions = ["cancel_sessions"]

    def get_queryset(self, request):
        return super().get_queryset(request).annotate(registration_count=Count("registrations"))

    @admin.display(description="starts (UTC)", ordering="starts_at")
    def starts_at_utc(self, obj):
        return f"{obj.starts_at.astimezone(zoneinfo.ZoneInfo('UTC')):%Y-%m-%d %H:%M} UTC"

    @admin.display(description="starts (in the form's zone)", ordering="starts_at")
    def starts_at_in_slot_zone(self, obj):
        """The start in the zone its form is typed in: the slot's, or the site's for a session without a slot."""
        zone, _ = session_zone(obj)
        return f"{timezone.localtime(obj.starts_at, zone):%a %Y-%m-%d %H:%M} {zone}"

    class Media:
        # Django's "you are N hours ahead of server time" compares the browser with the form's zone; the help
        # text names that zone instead.
        css = {"all": ["css/admin-session.css"]}

    @admin.display(description="ends")
    def ends(self, obj):
        """The end in the zone the form is in (session_zone), named."""
        if obj is None or obj.ends_at is None:
            return "–"
        zone, _ = session_zone(obj)
        return f"{timezone.localtime(obj.ends_at, zone):%a %Y-%m-%d %H:%M} {zone}"

    @admin.display(description="sign-ups", ordering="registration_count")
    def registrations(self, obj):
        return obj.registration_count

    @admin.action(description="Cancel sessions")
    def cancel_sessions(self, request, queryset):
        cancelled = 0
        for session in queryset.filter(status=Session.Status.SCHEDULED):
            cancel_session(session=session)
            cancelled += 1
        self.message_user(request, f"{cancelled} sessions cancelled; their students are emailed.", messages.SUCCESS)

    def save_model(self, request, obj, form, change):
        """Save the form; a new start time goes through move_session and a cancel through cancel_session."""
        if not change:
            super().save_model(request, obj, form, change)
            return
        moved_to = obj.starts_at if "starts_at" in form.changed_data else None
        cancelling = "status" in form.changed_data and obj.status == Session.Status.CANCELLED
        # Seen in a calendar app, though no email is due: a new title or length, or a session un-cancelled.
        revised = not cancelling and bool(set(form.changed_data) & CALENDAR_FIELDS) and moved_to is None
        if moved_to is not None:
            obj.starts_at = form.initial["starts_at"]
        if cancelling:
            obj.status = form.initial["status"]
        super().save_model(request, obj, form, change)
        if moved_to is not None:
            move_session(session=obj, starts_at=moved_to)
        if cancelling:
            cancel_session(session=obj)
        if revised:
            revise_session(session=obj)

    def get_form(self, request, obj=None, **kwargs):
        form = super().get_form(request, obj, **kwargs)
        zone, help_text = session_zone(obj)
        form.base_fields["starts_at"].help_text = help_text.format(zone=zone)
        form.base_fields["duration_minutes"].min_value = 1
        form.base_fields["duration_minutes"].validators.append(MinValueValidator(1))
        return form

    def changeform_view(self, request, object_id=None, form_url="", extra_context=None):
        """Show and read the start in the zone the form names, not in the viewer's own (see session_zone)."""
        session = self.get_object(request, object_id) if object_id else None
        zone, _ = session_zone(session)
        with timezone.override(zone):
            response = super().changeform_view(request, object_id, form_url, extra_context)
            if hasattr(response, "render"):
                response.render()
        return response


def session_zone(session) -> tuple[zoneinfo.ZoneInfo, str]:
    """The zone a session's time is typed in: its weekly slot's, or the site's for a session without one."""
    if session is not None and session.slot is not None:
        return zoneinfo.ZoneInfo(session.slot.timezone), SLOT_ZONE_HELP
    return zoneinfo.ZoneInfo(settings.TIME_ZONE), SITE_ZONE_HELP


@admin.register(ChangeEmail)
class ChangeEmailAdmin(admin.ModelAdmin):
    """The record of the emails about moved and cancelled sessions: read-only, the task writes it."""

    list_display = ["student", "session", "change", "sequence", "status", "queued_at", "sent_at"]
    list_filter = ["change", "status"]
    list_select_related = ["registration__user", "registration__session"]
    search_fields = ["registration__user__email", "registration__session__title"]
    date_hierarchy = "queued_at"

    @admin.display(description="student", ordering="registration__user__email")
    def student(self, obj):
        return obj.registration.user

    @admin.display(description="session", ordering="registration__session__starts_at")
    def session(self, obj):
        return obj.registration.session

    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    def has_delete_permission(self, request, obj=None):
        return False
