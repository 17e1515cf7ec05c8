import secrets
import uuid
from datetime import timedelta

from django.conf import settings
from django.core.exceptions import ValidationError
from django.core.validators import MinValueValidator
from django.db import models
from django.db.models import Q
from django.urls import reverse
from django.utils import timezone

from courses.markdown import render_markdown
from courses.models import Course, Lesson
from courseweb.mail import OutboxStatus
from courseweb.text import one_line

from .window import access_ends_at

TIER_OF_ANOTHER_RUN = "Choose a tier of this run."
LESSON_OF_ANOTHER_COURSE = "Choose a lesson of this run's course."
CERTIFICATE_NAME_MAX_LENGTH = 120
OFFICE_HOURS_FOLLOW_KIND = "A {kind} tier {does} include office hours: tick the box only for the office-hours kind."


class RunQuerySet(models.QuerySet):
    def open_for_enrollment(self):
        """Runs on sale: enrolment open, of a published course (as `Run.is_on_sale`)."""
        return self.filter(enrollment_open=True, course__is_published=True)


class Run(models.Model):
    """A cohort of a course: everyone in it starts on the same date."""

    course = models.ForeignKey(Course, on_delete=models.PROTECT, related_name="runs")
    title = models.CharField(max_length=200)
    slug = models.SlugField(unique=True)
    starts_at = models.DateTimeField(help_text="When lessons open for this run's students.")
    enrollment_open = models.BooleanField(default=False, help_text="Offered on the landing page.")
    prelaunch_email_days = models.PositiveSmallIntegerField(
        "pre-launch email, days before start", default=2, help_text="When the 'course starts soon' email goes out."
    )

    objects = RunQuerySet.as_manager()

    class Meta:
        ordering = ["-starts_at"]

    def __str__(self):
        return self.title

    @property
    def is_on_sale(self):
        return self.enrollment_open and self.course.is_published

    @property
    def prelaunch_email_at(self):
        return self.starts_at - timedelta(days=self.prelaunch_email_days)


class ReleaseOverride(models.Model):
    """When a lesson opens for one run, instead of its days after the run's start."""

    run = models.ForeignKey(Run, on_delete=models.CASCADE, related_name="release_overrides")
    lesson = models.ForeignKey(Lesson, on_delete=models.CASCADE, related_name="release_overrides")
    opens_at = models.DateTimeField("opens at", help_text="For this run's students only.")

    class Meta:
        ordering = ["opens_at"]
        constraints = [
            models.UniqueConstraint(fields=["run", "lesson"], name="one_release_override_per_run_and_lesson")
        ]

    def __str__(self):
        return f"{self.lesson} in {self.run}"

    def clean(self):
        if self.run_id and self.lesson_id and self.lesson.course_id != self.run.course_id:
            raise ValidationError({"lesson": LESSON_OF_ANOTHER_COURSE})


class Tier(models.Model):
    class Kind(models.TextChoices):
        STANDARD = "standard", "Standard"
        OFFICE_HOURS = "office-hours", "Office hours"

    run = models.ForeignKey(Run, on_delete=models.CASCADE, related_name="tiers")
    kind = models.CharField(max_length=20, choices=Kind.choices, default=Kind.STANDARD)
    name = models.CharField(max_length=100)
    description = models.TextField(blank=True, help_text="What the tier includes, one item per line.")
    price = models.DecimalField(max_digits=9, decimal_places=2, validators=[MinValueValidator(0)])
    currency = models.CharField(max_length=3, default="USD", help_text="ISO code, e.g. USD or EUR.")
    months = models.PositiveSmallIntegerField(
        "months of access", default=2, validators=[MinValueValidator(1)], help_text="Counted from the run's start."
    )
    includes_office_hours = models.BooleanField(default=False)
    stripe_price_id = models.CharField(max_length=100, blank=True, help_text="Optional Stripe price (price_…).")

    class Meta:
        ordering = ["run", "months", "price"]
        constraints = [
            models.UniqueConstraint(fields=["run", "kind"], name="one_tier_of_each_kind_per_run"),
            models.CheckConstraint(condition=Q(months__gte=1), name="tier_months_at_least_one"),
            models.CheckConstraint(condition=Q(price__gte=0), name="tier_price_not_negative"),
        ]

    def __str__(self):
        return f"{self.run} – {self.name}"

    def clean(self):
        wanted = self.kind == self.Kind.OFFICE_HOURS
        if self.includes_office_hours != wanted:
            does = "does" if wanted else "does not"
            kind = self.Kind(self.kind).label.lower() if self.kind in self.Kind.values else self.kind
            raise ValidationError({"includes_office_hours": OFFICE_HOURS_FOLLOW_KIND.format(kind=kind, does=does)})

    def belongs_to(self, run) -> bool:
        """Whether this tier is one of the run's: the one check of it, for the admin, the services and the roster."""
        return self.run_id == run.pk

    @property
    def rank(self):
        """Order tiers by what they give: office hours beat standard, more months beat fewer."""
        return (self.includes_office_hours, self.months)

    @property
    def included_items(self):
        return [line.strip() for line in self.description.splitlines() if line.strip()]


class EnrollmentQuerySet(models.QuerySet):
    def active(self):
        return self.filter(status=Enrollment.Status.ACTIVE)


class Enrollment(models.Model):
    class Source(models.TextChoices):
        ADMIN = "admin", "Added in the admin"
        BULK = "bulk", "Bulk import"
        STRIPE = "stripe", "Stripe payment"

    class Status(models.TextChoices):
        ACTIVE = "active", "Active"
        CANCELLED = "cancelled", "Cancelled"
        REFUNDED = "refunded", "Refunded"

    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="enrollments")
    run = models.ForeignKey(Run, on_delete=models.PROTECT, related_name="enrollments")
    tier = models.ForeignKey(Tier, on_delete=models.PROTECT, related_name="enrollments")
    source = models.CharField(max_length=10, choices=Source.choices, default=Source.ADMIN)
    status = models.CharField(max_length=10, choices=Status.choices, default=Status.ACTIVE)
    enrolled_at = models.DateTimeField(default=timezone.now)
    extended_until = models.DateTimeField(
        null=True, blank=True, help_text="Give this student access until this time, if later than the tier's window."
    )

    objects = EnrollmentQuerySet.as_manager()

    class Meta:
        ordering = ["-enrolled_at"]
        constraints = [models.UniqueConstraint(fields=["user", "run"], name="one_enrollment_per_user_and_run")]

    def __str__(self):
        return f"{self.user} in {self.run}"

    def clean(self):
        if self.tier_id and self.run_id and not self.tier.belongs_to(self.run):
            raise ValidationError({"tier": TIER_OF_ANOTHER_RUN})

    @property
    def access_starts_at(self):
        return self.run.starts_at

    @property
    def access_ends_at(self):
        return access_ends_at(starts_at=self.run.starts_at, months=self.tier.months, extended_until=self.extended_until)


class Payment(models.Model):
    """One Stripe payment, for a seat or for an upgrade within a run: a paid Checkout Session and its payment intent.

    The row is the lock that orders a completion and a refund of the same payment, whichever
    arrives first; `reference` is the payment intent id (or the session id when nothing was charged).
    `kind`, `tier` and `from_tier` say what it bought, so a refund undoes exactly that.
    """

    class Kind(models.TextChoices):
        SEAT = "seat", "Seat"
        UPGRADE = "upgrade", "Upgrade within a run"

    kind = models.CharField(
        max_length=10, choices=Kind.choices, default=Kind.SEAT, help_text="A seat, or an upgrade of one."
    )
    tier = models.ForeignKey(
        Tier, on_delete=models.PROTECT, null=True, blank=True, related_name="+", help_text="The tier it bought."
    )
    from_tier = models.ForeignKey(
        Tier, on_delete=models.PROTECT, null=True, blank=True, related_name="+",
        help_text="For an upgrade: the tier it upgraded from (a refund returns to it).",
    )  # fmt: skip
    reference = models.CharField(max_length=255, unique=True)
    checkout_session_id = models.CharField(max_length=255, unique=True, null=True, blank=True)
    enrollment = models.ForeignKey(Enrollment, on_delete=models.PROTECT, null=True, blank=True, related_name="payments")
    email = models.EmailField(blank=True)
    amount_total = models.PositiveIntegerField(default=0, help_text="In the currency's smallest unit (cents).")
    currency = models.CharField(max_length=3, blank=True)
    paid_at = models.DateTimeField(null=True, blank=True)
    refunded_at = models.DateTimeField(null=True, blank=True)
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["-created_at"]

    def __str__(self):
        return self.checkout_session_id or self.reference


class StripeEvent(models.Model):
    """A webhook event, recorded once: a replay finds its id here and changes nothing."""

    event_id = models.CharField(max_length=255, unique=True)
    type = models.CharField(max_length=100)
    received_at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["-received_at"]

    def __str__(self):
        return f"{self.type} {self.event_id}"


class SentEmail(models.Model):
    """One email of a kind to one enrollment: queued, then sent exactly once (or skipped)."""

    class Kind(models.TextChoices):
        PRELAUNCH = "prelaunch", "Pre-launch: the course starts soon"
        WELCOME = "welcome", "Welcome and receipt"

    Status = OutboxStatus

    enrollment = models.ForeignKey(Enrollment, on_delete=models.CASCADE, related_name="emails")
    kind = models.CharField(max_length=20, choices=Kind.choices)
    status = models.CharField(max_length=10, choices=Status.choices, default=Status.QUEUED)
    queued_at = models.DateTimeField(default=timezone.now)
    sent_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-queued_at"]
        constraints = [models.UniqueConstraint(fields=["enrollment", "kind"], name="one_email_per_enrollment_and_kind")]
        indexes = [models.Index(fields=["status", "queued_at"], name="sentemail_status_idx")]

    def __str__(self):
        return f"{self.get_kind_display()} to {self.enrollment.user}"


class Extension(models.Model):
    """Access extended for one enrollment, and the email that tells the student: queued, then sent once.

    Its own row per extension (not a SentEmail kind, which is one per enrollment): extending twice is
    two emails, each delivered exactly once like the others (see enrollment.emails.deliver_extensions).
    """

    Status = OutboxStatus

    enrollment = models.ForeignKey(Enrollment, on_delete=models.CASCADE, related_name="extensions")
    until = models.DateTimeField(help_text="Access ends at this time.")
    previous_end = models.DateTimeField(help_text="When access would have ended before.")
    created_at = models.DateTimeField(default=timezone.now)
    status = models.CharField(max_length=10, choices=Status.choices, default=Status.QUEUED)
    sent_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-created_at"]
        constraints = [
            models.CheckConstraint(condition=Q(until__gt=models.F("previous_end")), name="extension_extends"),
        ]
        indexes = [models.Index(fields=["status", "created_at"], name="extension_status_idx")]

    def __str__(self):
        return f"{self.enrollment} until {self.until:%Y-%m-%d}"


class AnnouncementQuerySet(models.QuerySet):
    def published(self):
        return self.filter(published_at__isnull=False)


class Announcement(models.Model):
    """The instructor's message to every student of a run: on the course home until each dismisses it.

    A draft (no published_at) shows nowhere; publishing it (enrollment.announcements.publish) shows it and
    queues one email per student with current access, once.
    """

    uid = models.UUIDField(default=uuid.uuid4, unique=True, editable=False)
    run = models.ForeignKey(Run, on_delete=models.CASCADE, related_name="announcements")
    title = models.CharField(max_length=200)
    body = models.TextField(help_text="Markdown: **bold**, *italic*, [links](https://…), lists, `code`.")
    body_html = models.TextField(editable=False, blank=True)
    author = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, blank=True, editable=False, related_name="+"
    )
    created_at = models.DateTimeField(default=timezone.now, editable=False)
    published_at = models.DateTimeField(null=True, blank=True, editable=False)

    objects = AnnouncementQuerySet.as_manager()

    class Meta:
        ordering = [models.F("published_at").desc(nulls_first=True), "-created_at"]
        indexes = [models.Index(fields=["run", "published_at"], name="announcement_run_published_idx")]

    def __str__(self):
        return self.title

    def save(self, *args, **kwargs):
        # The title is an email subject and a heading: one line. The body is sanitised once, here.
        self.title = one_line(self.title)
        self.body_html = render_markdown(self.body)
        super().save(*args, **kwargs)

    @property
    def is_published(self):
        return self.published_at is not None


class AnnouncementDismissal(models.Model):
    """A user closed an announcement on their course home: it stays closed."""

    announcement = models.ForeignKey(Announcement, on_delete=models.CASCADE, related_name="dismissals")
    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="+")
    dismissed_at = models.DateTimeField(default=timezone.now)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["announcement", "user"], name="one_dismissal_per_announcement_and_user")
        ]

    def __str__(self):
        return f"{self.user} dismissed {self.announcement}"


class AnnouncementEmail(models.Model):
    """The email of one announcement to one student: queued when it is published, then sent once (or skipped)."""

    Status = OutboxStatus

    announcement = models.ForeignKey(Announcement, on_delete=models.CASCADE, related_name="emails")
    enrollment = models.ForeignKey(Enrollment, on_delete=models.CASCADE, related_name="announcement_emails")
    status = models.CharField(max_length=10, choices=Status.choices, default=Status.QUEUED)
    queued_at = models.DateTimeField(default=timezone.now)
    sent_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-queued_at"]
        constraints = [
            models.UniqueConstraint(
                fields=["announcement", "enrollment"], name="one_email_per_announcement_and_enrollment"
            )
        ]
        indexes = [models.Index(fields=["status", "queued_at"], name="announcementemail_status_idx")]

    def __str__(self):
        return f"{self.announcement} to {self.enrollment.user}"


class CourseEmailOptOut(models.Model):
    """A student turned one kind of course email off (every kind is on until then). One row per user and kind."""

    class Kind(models.TextChoices):
        ANNOUNCEMENTS = "announcements", "Course announcements"
        DIGESTS = "digests", "Release digests"

    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="course_email_opt_outs")
    kind = models.CharField(max_length=20, choices=Kind.choices)
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        constraints = [models.UniqueConstraint(fields=["user", "kind"], name="one_opt_out_per_user_and_kind")]

    def __str__(self):
        return f"{self.user}: no {self.get_kind_display().lower()}"


class ReleaseDigest(models.Model):
    """One student's email of a day listing the lessons that opened (or were updated) for their run: queued, sent once.

    One row per enrollment and day (the student's local date, see enrollment.release_digests), listing what
    happened in (covers_from, covers_until]: the next digest starts where this one ends.
    """

    Status = OutboxStatus

    enrollment = models.ForeignKey(Enrollment, on_delete=models.CASCADE, related_name="release_digests")
    day = models.DateField(help_text="The student's local date of the digest.")
    covers_from = models.DateTimeField()
    covers_until = models.DateTimeField()
    opened = models.JSONField(
        default=list, blank=True, help_text="Ids of the lessons that opened, in syllabus order."
    )
    updated = models.JSONField(
        default=list, blank=True, help_text="Ids of the lessons marked updated, in syllabus order."
    )
    status = models.CharField(max_length=10, choices=Status.choices, default=Status.QUEUED)
    queued_at = models.DateTimeField(default=timezone.now)
    sent_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-queued_at"]
        constraints = [
            models.UniqueConstraint(fields=["enrollment", "day"], name="one_release_digest_per_enrollment_and_day"),
            models.CheckConstraint(
                condition=Q(covers_until__gt=models.F("covers_from")), name="release_digest_covers_a_span"
            ),
        ]
        indexes = [models.Index(fields=["status", "queued_at"], name="releasedigest_status_idx")]

    def __str__(self):
        return f"Release digest of {self.day:%Y-%m-%d} to {self.enrollment.user}"


def new_verification_id():
    """An unguessable id for a certificate's public address (128 random bits)."""
    return secrets.token_urlsafe(16)


class Certificate(models.Model):
    """A student's certificate of completing a course in a run: issued once, verifiable by anyone at its address.

    Issued by enrollment.certificates.issue when every lesson is done and every published quiz passed; one per
    student and course (a second request returns this one). The instructor revokes it in the admin: the
    verification page then says so and the student can no longer download it.
    """

    verification_id = models.CharField(max_length=32, unique=True, default=new_verification_id, editable=False)
    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="certificates")
    course = models.ForeignKey(Course, on_delete=models.PROTECT, related_name="certificates")
    run = models.ForeignKey(Run, on_delete=models.PROTECT, related_name="certificates")
    name = models.CharField("name printed", max_length=CERTIFICATE_NAME_MAX_LENGTH, help_text="As the student gave it.")
    completed_at = models.DateTimeField(help_text="When the last lesson was completed or the last quiz passed.")
    issued_at = models.DateTimeField(default=timezone.now)
    revoked_at = models.DateTimeField(null=True, blank=True)
    revoked_reason = models.CharField(
        "reason for revoking", max_length=300, blank=True, help_text="For the record; not shown to the public."
    )

    class Meta:
        ordering = ["-issued_at"]
        constraints = [
            models.UniqueConstraint(fields=["user", "course"], name="one_certificate_per_user_and_course"),
            models.CheckConstraint(
                condition=Q(revoked_at__isnull=True) | ~Q(revoked_reason=""), name="certificate_revoked_with_reason"
            ),
        ]

    def __str__(self):
        return f"{self.name} – {self.course}"

    def get_absolute_url(self):
        return reverse("certificates:verify", args=[self.verification_id])

    @property
    def is_revoked(self):
        return self.revoked_at is not None
