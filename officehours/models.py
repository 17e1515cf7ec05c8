import secrets
import uuid
import zoneinfo
from datetime import UTC, timedelta

from django.conf import settings
from django.db import models
from django.db.models import Q
from django.utils import timezone

from courseweb.mail import OutboxStatus
from courseweb.text import one_line
from enrollment.models import Run


def zone_choices():
    return [(name, name.replace("_", " ")) for name in sorted(zoneinfo.available_timezones())]


def new_feed_token():
    return secrets.token_urlsafe(32)


class WeeklySlot(models.Model):
    """A weekly office-hours time, fixed in its own zone's local time (it follows that zone's DST)."""

    class Weekday(models.IntegerChoices):
        MONDAY = 0, "Monday"
        TUESDAY = 1, "Tuesday"
        WEDNESDAY = 2, "Wednesday"
        THURSDAY = 3, "Thursday"
        FRIDAY = 4, "Friday"
        SATURDAY = 5, "Saturday"
        SUNDAY = 6, "Sunday"

    run = models.ForeignKey(Run, on_delete=models.CASCADE, related_name="office_hour_slots")
    title = models.CharField(max_length=200, default="Office hours")
    weekday = models.PositiveSmallIntegerField(choices=Weekday.choices)
    local_time = models.TimeField(help_text="In the slot's time zone, e.g. 08:00.")
    timezone = models.CharField(max_length=64, choices=zone_choices, help_text="e.g. Asia/Jerusalem")
    duration_minutes = models.PositiveSmallIntegerField(default=60)
    meeting_url = models.URLField(help_text="Shown to signed-up students from 15 minutes before the start.")
    capacity = models.PositiveSmallIntegerField(null=True, blank=True, help_text="Leave empty for no limit.")

    class Meta:
        ordering = ["run", "weekday", "local_time"]
        constraints = [models.CheckConstraint(condition=Q(duration_minutes__gt=0), name="slot_has_a_duration")]

    def __str__(self):
        return f"{self.title}: {self.get_weekday_display()} {self.local_time:%H:%M} {self.timezone}"

    def save(self, *args, **kwargs):
        self.title = one_line(self.title)  # its sessions' titles go into email subjects
        super().save(*args, **kwargs)


class SessionQuerySet(models.QuerySet):
    def scheduled(self):
        return self.filter(status=Session.Status.SCHEDULED)

    def upcoming(self, *, at=None):
        """Sessions not yet over."""
        at = at or timezone.now()
        return self.filter(ends_at__gt=at)

    def past(self, *, at=None):
        at = at or timezone.now()
        return self.filter(ends_at__lte=at)


class Session(models.Model):
    """One office-hours meeting, stored in UTC."""

    class Status(models.TextChoices):
        SCHEDULED = "scheduled", "Scheduled"
        CANCELLED = "cancelled", "Cancelled"

    run = models.ForeignKey(Run, on_delete=models.CASCADE, related_name="office_hour_sessions")
    slot = models.ForeignKey(WeeklySlot, on_delete=models.SET_NULL, null=True, blank=True, related_name="sessions")
    slot_date = models.DateField(
        null=True, blank=True, editable=False, help_text="The slot's local date this session was generated for."
    )
    title = models.CharField(max_length=200, default="Office hours")
    starts_at = models.DateTimeField()
    ends_at = models.DateTimeField(editable=False)
    duration_minutes = models.PositiveSmallIntegerField(default=60)
    meeting_url = models.URLField()
    capacity = models.PositiveSmallIntegerField(null=True, blank=True, help_text="Leave empty for no limit.")
    status = models.CharField(max_length=10, choices=Status.choices, default=Status.SCHEDULED)
    recording_url = models.URLField(blank=True)
    notes = models.TextField(blank=True, help_text="Shown with the recording after the session.")
    uid = models.UUIDField(default=uuid.uuid4, unique=True, editable=False, help_text="Stable calendar UID.")
    sequence = models.PositiveIntegerField(default=0, editable=False, help_text="Calendar revision.")

    objects = SessionQuerySet.as_manager()

    class Meta:
        ordering = ["starts_at"]
        constraints = [
            models.UniqueConstraint(fields=["slot", "slot_date"], name="one_session_per_slot_and_date"),
            models.CheckConstraint(condition=Q(ends_at__gt=models.F("starts_at")), name="session_ends_after_start"),
        ]

    def __str__(self):
        # The instant in memory may carry another zone (a form's input): convert before saying UTC.
        return f"{self.title} {self.starts_at.astimezone(UTC):%Y-%m-%d %H:%M} UTC"

    def save(self, *args, **kwargs):
        self.title = one_line(self.title)  # it goes into email subjects
        self.ends_at = self.starts_at + timedelta(minutes=self.duration_minutes)
        super().save(*args, **kwargs)

    @property
    def is_cancelled(self):
        return self.status == self.Status.CANCELLED


class Registration(models.Model):
    session = models.ForeignKey(Session, on_delete=models.CASCADE, related_name="registrations")
    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="office_hour_registrations"
    )
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        constraints = [models.UniqueConstraint(fields=["session", "user"], name="one_registration_per_user_session")]

    def __str__(self):
        return f"{self.user} at {self.session}"


class Reminder(models.Model):
    """A reminder email sent for one registration: once per kind."""

    class Kind(models.TextChoices):
        DAY_BEFORE = "day", "A day before"
        HOUR_BEFORE = "hour", "An hour before"

    registration = models.ForeignKey(Registration, on_delete=models.CASCADE, related_name="reminders")
    kind = models.CharField(max_length=10, choices=Kind.choices)
    sent_at = models.DateTimeField(default=timezone.now)

    class Meta:
        constraints = [models.UniqueConstraint(fields=["registration", "kind"], name="one_reminder_per_kind")]

    def __str__(self):
        return f"{self.get_kind_display()} reminder for {self.registration}"


class ChangeEmail(models.Model):
    """The email telling one signed-up student that their session moved or was cancelled: once per change.

    A change is known by the session's calendar sequence it made, so a retried task finds the row sent,
    and a second move (a new sequence) is a new email.
    """

    class Change(models.TextChoices):
        MOVED = "moved", "Moved"
        CANCELLED = "cancelled", "Cancelled"

    Status = OutboxStatus

    registration = models.ForeignKey(Registration, on_delete=models.CASCADE, related_name="change_emails")
    sequence = models.PositiveIntegerField(help_text="The session's calendar sequence after the change.")
    change = models.CharField(max_length=10, choices=Change.choices)
    status = models.CharField(max_length=10, choices=Status.choices, default=Status.QUEUED)
    queued_at = models.DateTimeField(default=timezone.now)
    sent_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-queued_at"]
        constraints = [models.UniqueConstraint(fields=["registration", "sequence"], name="one_change_email_per_change")]

    def __str__(self):
        return f"{self.get_change_display()} email for {self.registration}"


class Question(models.Model):
    """A question sent in advance for a session; students upvote the ones they want answered too."""

    session = models.ForeignKey(Session, on_delete=models.CASCADE, related_name="questions")
    author = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, related_name="+")
    text = models.TextField(max_length=2000)
    created_at = models.DateTimeField(default=timezone.now)
    answered_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["created_at"]

    def __str__(self):
        return self.text[:60]


class QuestionVote(models.Model):
    question = models.ForeignKey(Question, on_delete=models.CASCADE, related_name="votes")
    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="+")

    class Meta:
        constraints = [models.UniqueConstraint(fields=["question", "user"], name="one_vote_per_user_question")]

    def __str__(self):
        return f"{self.user} +1 {self.question_id}"


class CalendarFeed(models.Model):
    """A personal calendar feed: the secret token in its URL can be reset."""

    class Scope(models.TextChoices):
        SIGNED_UP = "signed-up", "Sessions I signed up for"
        ALL = "all", "All upcoming sessions"

    user = models.OneToOneField(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="calendar_feed")
    token = models.CharField(max_length=64, unique=True, default=new_feed_token)
    scope = models.CharField(max_length=10, choices=Scope.choices, default=Scope.SIGNED_UP)

    def __str__(self):
        return f"Calendar feed of {self.user}"
