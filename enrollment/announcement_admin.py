"""The admin of announcements: write a draft to a run, then publish it (shown and emailed once), and its emails."""

from django import forms
from django.contrib import admin, messages
from django.db.models import Count, Q
from django.utils import timezone
from django.utils.formats import date_format

from . import announcement_emails, announcements
from .models import Announcement, AnnouncementEmail, Run

PUBLISH_BUTTON = "_publish"
NOTHING_TO_PUBLISH = "The selected announcements were published already: nobody was emailed again."


def run_label(run: Run) -> str:
    return f"{run.course.title} — {run.title} ({run.slug})"


class AnnouncementForm(forms.ModelForm):
    class Meta:
        model = Announcement
        fields = ["run", "title", "body"]
        help_texts = {"run": "Its students see it on the course home and get it by email when you publish it."}

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        if "run" in self.fields:
            self.fields["run"].queryset = Run.objects.select_related("course").order_by("course__title", "-starts_at")
            self.fields["run"].label_from_instance = run_label


def _published_message(announcement: Announcement, queued: int) -> str:
    return announcements.PUBLISHED.format(title=announcement.title, count=queued, plural="" if queued == 1 else "s")


@admin.register(Announcement)
class AnnouncementAdmin(admin.ModelAdmin):
    """Save writes a draft (shown nowhere); "Save and publish" or the list action publishes it."""

    form = AnnouncementForm
    change_form_template = "admin/enrollment/announcement/change_form.html"
    list_display = ["title", "run", "state", "emails_sent", "emails_queued", "created_at"]
    list_filter = ["run__course", "run", ("published_at", admin.EmptyFieldListFilter)]
    list_select_related = ["run"]
    search_fields = ["title", "body"]
    readonly_fields = ["published_at", "author"]
    actions = ["publish_selected"]

    def get_queryset(self, request):
        return (
            super()
            .get_queryset(request)
            .annotate(
                sent_count=Count("emails", filter=Q(emails__status=AnnouncementEmail.Status.SENT)),
                queued_count=Count("emails", filter=Q(emails__status=AnnouncementEmail.Status.QUEUED)),
            )
        )

    def get_readonly_fields(self, request, obj=None):
        # Its emails went to this run's students: a published announcement stays with its run.
        if obj is not None and obj.is_published:
            return [*self.readonly_fields, "run"]
        return self.readonly_fields

    @admin.display(description="state", ordering="published_at")
    def state(self, obj):
        if obj.published_at is None:
            return "Draft"
        return f"Published {date_format(timezone.localtime(obj.published_at), 'j M Y, H:i')}"

    @admin.display(description="emails sent")
    def emails_sent(self, obj):
        return obj.sent_count

    @admin.display(description="emails queued")
    def emails_queued(self, obj):
        return obj.queued_count

    def render_change_form(self, request, context, add=False, change=False, form_url="", obj=None):
        if obj is not None and not obj.is_published:
            context["audience_count"] = len(announcement_emails.audience(obj, at=timezone.now()))
        context["publish_button"] = PUBLISH_BUTTON
        return super().render_change_form(request, context, add=add, change=change, form_url=form_url, obj=obj)

    def save_model(self, request, obj, form, change):
        if obj.author_id is None:
            obj.author = request.user
        super().save_model(request, obj, form, change)
        if PUBLISH_BUTTON in request.POST and not obj.is_published:
            queued = announcements.publish(announcement=obj)
            self.message_user(request, _published_message(obj, queued), messages.SUCCESS)

    @admin.action(description="Publish and email the selected drafts to their run's students")
    def publish_selected(self, request, queryset):
        published = 0
        for announcement in queryset.filter(published_at__isnull=True).order_by("pk"):
            queued = announcements.publish(announcement=announcement)
            if announcement.is_published:
                published += 1
                self.message_user(request, _published_message(announcement, queued), messages.SUCCESS)
        if not published:
            self.message_user(request, NOTHING_TO_PUBLISH, messages.WARNING)


@admin.register(AnnouncementEmail)
class AnnouncementEmailAdmin(admin.ModelAdmin):
    """Which student got which announcement, and when: read-only."""

    list_display = ["announcement", "enrollment", "status", "queued_at", "sent_at"]
    list_filter = ["status", "announcement__run", "announcement"]
    list_select_related = ["announcement", "enrollment__user", "enrollment__run"]
    search_fields = ["enrollment__user__email", "announcement__title"]
    date_hierarchy = "queued_at"

    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False
