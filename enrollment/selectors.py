"""Reads of runs and enrollments that pages show (the access policy, enrollment/access.py, decides what they allow)."""

from django.utils import timezone

from .models import Enrollment, Run


def offered_run(*, course, now=None) -> Run | None:
    """Return the run on sale, with its tiers: the next open run to start, else the latest open one that has started."""
    now = now or timezone.now()
    runs = list(Run.objects.open_for_enrollment().filter(course=course).prefetch_related("tiers").order_by("starts_at"))
    return next((run for run in runs if run.starts_at >= now), runs[-1] if runs else None)


def latest_enrollment(*, user) -> Enrollment | None:
    """Return the user's enrollment (of any status) in the run that starts last, with its run's course."""
    return Enrollment.objects.filter(user=user).select_related("run__course").order_by("-run__starts_at").first()
