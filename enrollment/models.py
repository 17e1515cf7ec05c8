from django.conf import settings
from django.core.exceptions import ValidationError
from django.core.validators import MinValueValidator
from django.db import models
from django.db.models import Q
from django.utils import timezone

from courses.models import Course

from .window import access_ends_at


class RunQuerySet(models.QuerySet):
    def open_for_enrollment(self):
        return self.filter(enrollment_open=True)


class Run(models.Model):
    """A cohort of a course: everyone in it starts on the same date."""

    course = models.ForeignKey(Course, on_delete=models.PROTECT, related_name="runs")
    title = models.CharField(max_length=200)
    slug = models.SlugField(unique=True)
    starts_at = models.DateTimeField(help_text="When lessons open for this run's students.")
    enrollment_open = models.BooleanField(default=False, help_text="Offered on the landing page.")

    objects = RunQuerySet.as_manager()

    class Meta:
        ordering = ["-starts_at"]

    def __str__(self):
        return self.title


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
        if self.tier_id and self.run_id and self.tier.run_id != self.run_id:
            raise ValidationError({"tier": "Choose a tier of this run."})

    @property
    def access_starts_at(self):
        return self.run.starts_at

    @property
    def access_ends_at(self):
        return access_ends_at(starts_at=self.run.starts_at, months=self.tier.months, extended_until=self.extended_until)
