from django import forms
from django.conf import settings
from django.contrib import admin, messages
from django.core import signing
from django.db import IntegrityError
from django.shortcuts import redirect
from django.template.response import TemplateResponse
from django.urls import path, reverse
from django.utils import timezone

from accounts.models import normalize_email
from courses.models import Lesson

from . import announcement_admin, certificate_admin  # noqa: F401  (register their admins)
from .bulk import CONCURRENT_CHANGE, PROBLEMS, RosterError, apply_roster, parse_roster, report_lines
from .models import Enrollment, Extension, Payment, ReleaseDigest, ReleaseOverride, Run, SentEmail, StripeEvent, Tier
from .services import ExtensionRefused, enroll, extend_access, get_or_create_student

ALREADY_IN_RUN = "{email} is already enrolled in {run}."
EXTENDED = "Access extended to {date} for {count} student(s); each is emailed."
TIER_KIND_TWICE = "A run has one {kind} tier: remove the second."
BULK_SALT = "enrollment.admin.bulk-enroll"
BULK_EXPIRED = "The checked file has expired or was altered: upload it again."


class RunChoiceField(forms.ModelChoiceField):
    """Runs named with their course and slug (the slug is what `bulk_enroll --run` takes)."""

    def label_from_instance(self, obj):
        return f"{obj.course} – {obj} ({obj.slug})"


class TierSelect(forms.Select):
    """Each option says its run, so the page's script can offer only the chosen run's tiers."""

    def create_option(self, name, value, *args, **kwargs):
        option = super().create_option(name, value, *args, **kwargs)
        instance = getattr(value, "instance", None)
        if instance is not None:
            option["attrs"]["data-run"] = str(instance.run_id)
        return option


class TierChoiceField(forms.ModelChoiceField):
    widget = TierSelect

    def label_from_instance(self, obj):
        return f"{obj.run.course} – {obj.run} – {obj.name}"


def run_and_tier_fields(db_field, kwargs):
    """The run and tier drop-downs of the enrollment forms, named with their course; None for other fields."""
    if db_field.name == "run":
        kwargs["form_class"] = RunChoiceField
        kwargs["queryset"] = Run.objects.select_related("course")
    elif db_field.name == "tier":
        kwargs["form_class"] = TierChoiceField
        kwargs["queryset"] = Tier.objects.select_related("run__course")
    else:
        return None
    return db_field.formfield(**kwargs)


class TierInlineFormSet(forms.BaseInlineFormSet):
    """A run has one tier of each kind: two rows of one kind are a form error, not the database's IntegrityError."""

    def clean(self):
        super().clean()
        seen = set()
        for form in self.forms:
            if not hasattr(form, "cleaned_data") or self._should_delete_form(form) or "kind" in form.errors:
                continue
            kind = form.cleaned_data.get("kind")
            if kind and kind in seen:
                form.add_error("kind", TIER_KIND_TWICE.format(kind=Tier.Kind(kind).label))
            seen.add(kind)
        # A tier saved since this page was loaded (another tab, another admin) is not among the rows.
        if self.instance.pk is not None:
            shown = [form.instance.pk for form in self.forms if form.instance.pk]
            saved = set(Tier.objects.filter(run=self.instance).exclude(pk__in=shown).values_list("kind", flat=True))
            for form in self.forms:
                kind = getattr(form, "cleaned_data", {}).get("kind")
                if kind in saved and not self._should_delete_form(form):
                    form.add_error("kind", TIER_KIND_TWICE.format(kind=Tier.Kind(kind).label))


class TierInline(admin.StackedInline):
    model = Tier
    formset = TierInlineFormSet
    extra = 0
    fields = [("kind", "name"), ("price", "currency"), ("months", "includes_office_hours"), "description",
              "stripe_price_id"]  # fmt: skip


class ReleaseOverrideInline(admin.TabularInline):
    """This run's own opening dates for some lessons, instead of their days after the start."""

    model = ReleaseOverride
    fields = ["lesson", "opens_at"]
    extra = 0
    verbose_name = "release date for this run"
    verbose_name_plural = "release dates for this run (instead of the lesson's days after the start)"

    def formfield_for_dbfield(self, db_field, request, **kwargs):
        formfield = super().formfield_for_dbfield(db_field, request, **kwargs)
        if db_field.name == "opens_at":  # the admin reads and shows it in the viewer's zone (their profile's)
            formfield.help_text = f"In {timezone.get_current_timezone_name()}; for this run's students only."
        return formfield

    def formfield_for_foreignkey(self, db_field, request, **kwargs):
        if db_field.name == "lesson":
            # Only the run's course's lessons; on "add run" the course is not known yet (ReleaseOverride.clean checks).
            run_id = request.resolver_match.kwargs.get("object_id")
            course_id = Run.objects.filter(pk=run_id).values("course_id")[:1] if run_id else None
            queryset = Lesson.objects.select_related("course").in_syllabus_order()
            kwargs["queryset"] = queryset.filter(course_id__in=course_id) if course_id is not None else queryset
        return super().formfield_for_foreignkey(db_field, request, **kwargs)


@admin.register(Run)
class RunAdmin(admin.ModelAdmin):
    list_display = ["title", "slug", "course", "starts_at", "enrollment_open", "prelaunch_email_days"]
    list_filter = ["course", "enrollment_open"]
    search_fields = ["title", "slug"]
    prepopulated_fields = {"slug": ["title"]}
    inlines = [TierInline, ReleaseOverrideInline]


class EnrollmentForm(forms.ModelForm):
    """Enroll one student by email; the account is created if it does not exist yet.

    The form only checks; `EnrollmentAdmin.save_model` enrolls through the service, as every other way in does.
    """

    email = forms.EmailField(help_text="The student's email address. A new account is created if needed.")

    class Meta:
        model = Enrollment
        fields = ["email", "run", "tier", "source", "status", "extended_until"]

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        if self.instance.pk:
            self.fields["email"].initial = self.instance.user.email
            self.fields["email"].disabled = True

    def clean(self):
        cleaned = super().clean()
        email = normalize_email(cleaned.get("email"))
        run = cleaned.get("run")
        if not self.instance.pk and email and run:
            if Enrollment.objects.filter(user__email__iexact=email, run=run).exists():
                raise forms.ValidationError(ALREADY_IN_RUN.format(email=email, run=run))
        if self.instance.pk and run and run.pk != self.instance.run_id:
            # Moving a student to a run they are already in would break one enrollment per user and run.
            if Enrollment.objects.filter(user_id=self.instance.user_id, run=run).exists():
                self.add_error("run", ALREADY_IN_RUN.format(email=self.instance.user.email, run=run))
        # A tier of another run is refused by Enrollment.clean, which the form runs next.
        return cleaned


class ExtendAccessForm(forms.Form):
    until = forms.DateField(
        label="Access until", widget=forms.DateInput(attrs={"type": "date"}),
        help_text="The last day of access, on the site's calendar ({zone}); it ends at the time of day it ends now.",
    )  # fmt: skip

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["until"].help_text = self.fields["until"].help_text.format(zone=settings.TIME_ZONE)


class BulkEnrollForm(forms.Form):
    """The same input as `manage.py bulk_enroll FILE --run SLUG [--tier KIND] [--no-email]`."""

    file = forms.FileField(label="CSV file", help_text="UTF-8, a header row: email (required), first_name, "
                           "last_name, tier (standard or office-hours).")  # fmt: skip
    run = RunChoiceField(queryset=Run.objects.select_related("course"))
    tier = forms.ChoiceField(
        choices=[("", "The run's standard tier"), *Tier.Kind.choices], required=False,
        help_text="The tier of rows that name none.",
    )  # fmt: skip
    send_email = forms.BooleanField(
        label="Send the pre-launch email", required=False, initial=True,
        help_text="Unticked, these students never get it (as --no-email).",
    )  # fmt: skip


class ExtensionInline(admin.TabularInline):
    model = Extension
    fields = ["until", "previous_end", "created_at", "status", "sent_at"]
    readonly_fields = fields
    extra = 0
    can_delete = False

    def has_add_permission(self, request, obj=None):
        return False


class SentEmailInline(admin.TabularInline):
    model = SentEmail
    fields = ["kind", "status", "queued_at", "sent_at"]
    readonly_fields = fields
    extra = 0
    can_delete = False

    def has_add_permission(self, request, obj=None):
        return False


@admin.register(Enrollment)
class EnrollmentAdmin(admin.ModelAdmin):
    form = EnrollmentForm
    list_display = ["user", "run", "tier", "status", "source", "enrolled_at", "access_ends"]
    list_filter = ["run", "tier__kind", "status", "source"]
    list_select_related = ["user", "run", "tier"]
    search_fields = ["user__email", "user__first_name", "user__last_name"]
    date_hierarchy = "enrolled_at"
    inlines = [SentEmailInline, ExtensionInline]
    actions = ["extend_access"]
    change_list_template = "admin/enrollment/enrollment/change_list.html"

    class Media:
        js = ["js/admin-tier-by-run.js"]

    def formfield_for_foreignkey(self, db_field, request, **kwargs):
        return run_and_tier_fields(db_field, kwargs) or super().formfield_for_foreignkey(db_field, request, **kwargs)

    def get_urls(self):
        bulk = path("bulk-enroll/", self.admin_site.admin_view(self.bulk_enroll_view), name="enrollment_bulk_enroll")
        return [bulk, *super().get_urls()]

    @admin.action(description="Extend access to a date…", permissions=["change"])
    def extend_access(self, request, queryset):
        """Ask for the date on an intermediate page, then extend every chosen enrollment through the service."""
        enrollments = list(queryset.select_related("user", "run", "tier"))
        form = ExtendAccessForm(request.POST if "extend" in request.POST else None)
        if form.is_valid():
            try:
                extensions = extend_access(enrollments=enrollments, until=form.cleaned_data["until"])
            except ExtensionRefused as refusal:
                form.add_error("until", refusal.message)
            else:
                date = f"{form.cleaned_data['until']:%d %B %Y}"
                self.message_user(request, EXTENDED.format(date=date, count=len(extensions)), messages.SUCCESS)
                return None
        context = {
            **self.admin_site.each_context(request),
            "title": "Extend access",
            "opts": self.model._meta,
            "form": form,
            "enrollments": enrollments,
            "action_checkbox_name": admin.helpers.ACTION_CHECKBOX_NAME,
        }
        return TemplateResponse(request, "admin/enrollment/enrollment/extend_access.html", context)

    def bulk_enroll_view(self, request):
        """Upload a roster: its dry-run report first (the command's), then a confirm step that writes it."""
        if not self.has_add_permission(request):
            return redirect("admin:index")
        context = {**self.admin_site.each_context(request), "title": "Enrol students from a CSV file",
                   "opts": self.model._meta}  # fmt: skip
        if request.method == "POST" and "confirm" in request.POST:
            return self._bulk_confirm(request, context)
        form = BulkEnrollForm(request.POST or None, request.FILES or None)
        if request.method == "POST" and form.is_valid():
            run, send_email = form.cleaned_data["run"], form.cleaned_data["send_email"]
            tier = form.cleaned_data["tier"] or None
            data = form.cleaned_data["file"].read()
            try:
                roster = parse_roster(data, run=run, tier_kind=tier)
                result = apply_roster(roster=roster, send_email=send_email, dry_run=True)
            except RosterError as error:
                context["problems"] = [PROBLEMS.format(count=len(error.errors), name=form.cleaned_data["file"].name),
                                       *(str(e) for e in error.errors)]  # fmt: skip
            else:
                payload = {"csv": data.decode("utf-8-sig"), "run": run.pk, "tier": tier, "send_email": send_email}
                context["report"] = report_lines(result, run, no_email_hint="no email")
                context["payload"] = signing.dumps(payload, salt=BULK_SALT, compress=True)
        context["form"] = form
        return TemplateResponse(request, "admin/enrollment/enrollment/bulk_enroll.html", context)

    def _bulk_confirm(self, request, context):
        try:
            payload = signing.loads(request.POST["payload"], salt=BULK_SALT, max_age=3600)
            run = Run.objects.get(pk=payload["run"])
        except (KeyError, signing.BadSignature, Run.DoesNotExist):
            self.message_user(request, BULK_EXPIRED, messages.ERROR)
            return redirect("admin:enrollment_bulk_enroll")
        try:
            roster = parse_roster(payload["csv"], run=run, tier_kind=payload["tier"])
            result = apply_roster(roster=roster, send_email=payload["send_email"])
        except RosterError as error:  # the run's tiers changed since the check
            self.message_user(request, "\n".join(str(e) for e in error.errors), messages.ERROR)
            return redirect("admin:enrollment_bulk_enroll")
        except IntegrityError:
            self.message_user(request, CONCURRENT_CHANGE, messages.ERROR)
            return redirect("admin:enrollment_bulk_enroll")
        for line in report_lines(result, run, no_email_hint="no email"):
            self.message_user(request, line, messages.SUCCESS)
        return redirect(f"{reverse('admin:enrollment_enrollment_changelist')}?run__id__exact={run.pk}")

    def save_model(self, request, obj, form, change):
        if change:
            super().save_model(request, obj, form, change)
            return
        # As everywhere: the student found case-insensitively or created with no usable password (they log in by
        # code), and the pre-launch email queued at once if its time has passed.
        now = timezone.now()
        user, _ = get_or_create_student(email=form.cleaned_data["email"])
        enrollment = enroll(user=user, run=obj.run, tier=obj.tier, source=obj.source, now=now)
        # The admin goes on with `obj` (inlines, history, the redirect): make it the row the service wrote, then
        # apply what the add form sets beyond the service (a status other than active, an extension) as an edit;
        # unless the row is not new (enrolled meanwhile by someone else, after the form's check), which it leaves.
        obj.pk, obj.user, obj.enrolled_at = enrollment.pk, user, enrollment.enrolled_at
        edited = [name for name in ("status", "extended_until") if getattr(obj, name) != getattr(enrollment, name)]
        if edited and enrollment.enrolled_at == now:
            obj.save(update_fields=edited)

    @admin.display(description="access ends")
    def access_ends(self, enrollment):
        return enrollment.access_ends_at


@admin.register(SentEmail)
class SentEmailAdmin(admin.ModelAdmin):
    """What was sent to whom, and when: read-only."""

    list_display = ["enrollment", "kind", "status", "queued_at", "sent_at"]
    list_filter = ["kind", "status", "enrollment__run"]
    list_select_related = ["enrollment__user", "enrollment__run"]
    search_fields = ["enrollment__user__email"]
    date_hierarchy = "queued_at"

    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False


@admin.register(Extension)
class ExtensionAdmin(admin.ModelAdmin):
    """Extensions and their emails: read-only, written by the "Extend access to a date…" action."""

    list_display = ["enrollment", "previous_end", "until", "status", "created_at", "sent_at"]
    list_filter = ["status", "enrollment__run"]
    list_select_related = ["enrollment__user", "enrollment__run"]
    search_fields = ["enrollment__user__email"]
    date_hierarchy = "created_at"

    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False


@admin.register(Payment)
class PaymentAdmin(admin.ModelAdmin):
    list_display = [
        "checkout_session_id", "email", "kind", "from_tier", "tier", "amount_total", "currency", "paid_at",
        "refunded_at", "enrollment",
    ]  # fmt: skip
    list_filter = ["kind", "currency", ("refunded_at", admin.EmptyFieldListFilter)]
    search_fields = ["email", "checkout_session_id", "reference"]
    list_select_related = ["enrollment__user", "enrollment__run", "tier__run", "from_tier__run"]

    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False


@admin.register(StripeEvent)
class StripeEventAdmin(admin.ModelAdmin):
    list_display = ["event_id", "type", "received_at"]
    list_filter = ["type"]
    search_fields = ["event_id"]

    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False


@admin.register(ReleaseDigest)
class ReleaseDigestAdmin(admin.ModelAdmin):
    """Which student got which day's release digest, listing how many lessons: read-only."""

    list_display = ["enrollment", "day", "lessons_opened", "lessons_updated", "status", "sent_at"]
    list_filter = ["status", "enrollment__run"]
    list_select_related = ["enrollment__user", "enrollment__run"]
    search_fields = ["enrollment__user__email"]
    date_hierarchy = "day"

    @admin.display(description="lessons opened")
    def lessons_opened(self, obj):
        return len(obj.opened)

    @admin.display(description="lessons updated")
    def lessons_updated(self, obj):
        return len(obj.updated)

    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False
