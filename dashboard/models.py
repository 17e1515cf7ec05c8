from django.conf import settings
from django.db import models
from django.db.models import F, Q
from django.utils import timezone

from courseweb.mail import OutboxStatus


class WeeklyPulse(models.Model):
    """One staff member's weekly pulse: queued once per ISO week, then sent exactly once (or skipped)."""

    Status = OutboxStatus  # skipped: a quiet week, or the staff member lost their staff status or address

    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="weekly_pulses")
    week_of = models.DateField(help_text="The Monday of the ISO week, on the staff member's calendar.")
    covers_from = models.DateTimeField(help_text="The week reported on: from the Monday before, 00:00 …")
    covers_until = models.DateTimeField(help_text="… to this Monday 00:00, in the staff member’s zone.")
    status = models.CharField(max_length=10, choices=Status.choices, default=Status.QUEUED)
    queued_at = models.DateTimeField(default=timezone.now)
    sent_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-week_of", "pk"]
        constraints = [
            models.UniqueConstraint(fields=["user", "week_of"], name="one_weekly_pulse_per_user_and_week"),
            models.CheckConstraint(condition=Q(covers_until__gt=F("covers_from")), name="weekly_pulse_covers_a_span"),
        ]
        indexes = [models.Index(fields=["status"], name="weeklypulse_status_idx")]

    def __str__(self):
        return f"Weekly pulse of {self.week_of} to {self.user}"
