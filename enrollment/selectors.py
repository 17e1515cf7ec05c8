"""Reads of runs and enrollments that pages show (the access policy, enrollment/access.py, decides what they allow)."""

from django.db import connection
from django.db.models import Max
from django.utils import timezone

from courses.content import built, content_version

from .models import Enrollment, Run, Tier
from .window import access_ends_at


def offered_run(*, course, now=None) -> Run | None:
    """Return the run on sale, with its tiers: the next open run to start, else the latest open one that has started.

    On sale as `Run.is_on_sale` says (RunQuerySet.open_for_enrollment): enrolment open, in a published course.
    """
    now = now or timezone.now()
    if not course.is_published:
        return None
    runs = sorted(
        (run for run in course_runs(course).values() if run.enrollment_open), key=lambda run: (run.starts_at, run.pk)
    )
    return next((run for run in runs if run.starts_at >= now), runs[-1] if runs else None)


def course_runs(course) -> dict[int, Run]:
    """The course's runs by id, each with its course and tiers: built once per content version (saving a run or a
    tier gives the course a new one). Shared by the requests of a process: read them, never change them."""

    def read():
        runs = list(Run.objects.filter(course_id=course.pk).prefetch_related("tiers"))
        for run in runs:
            run.course = course
        return {run.pk: run for run in runs}

    return built(f"course-runs:{course.pk}", read, version=content_version(course.pk))


def enrollments_in(*, user, course) -> list[Enrollment]:
    """The user's enrollments (every status) in the course's runs, each with its run and tier (one plain query:
    the access policy asks it on every page of a course, and the ORM took longer to build it than to run it)."""
    runs = course_runs(course)
    if not runs:
        return []
    table = connection.ops.quote_name(Enrollment._meta.db_table)
    enrollments = list(
        Enrollment.objects.raw(
            f"SELECT * FROM {table} WHERE user_id = %s AND run_id IN ({', '.join(['%s'] * len(runs))}) ORDER BY id",
            [user.pk, *runs],
        )
    )
    for enrollment in enrollments:
        run = runs[enrollment.run_id]
        enrollment.run = run
        enrollment.tier = next((tier for tier in run.tiers.all() if tier.pk == enrollment.tier_id), None) or (
            Tier.objects.get(pk=enrollment.tier_id)  # a tier of another run (never made by the services)
        )
    return enrollments


def latest_enrollment(*, user) -> Enrollment | None:
    """Return the user's enrollment (of any status) in the run that starts last, with its run's course."""
    return Enrollment.objects.filter(user=user).select_related("run__course").order_by("-run__starts_at").first()


def enrollments_of(*, user):
    """Return the user's enrollments (every status) with run, tier and course in one query, and the runs'
    tiers prefetched (one more, for the upgrade offer): the latest run to start first.
    """
    return list(
        Enrollment.objects.filter(user=user)
        .select_related("run__course", "tier")
        .prefetch_related("run__tiers")
        .order_by("-run__starts_at", "pk")
    )


def current_run(*, course, now=None) -> Run | None:
    """Return the course's current run: the latest started whose window (its longest tier) contains now,
    else the latest started, else the first to start. One query.
    """
    now = now or timezone.now()
    runs = list(Run.objects.filter(course=course).annotate(longest=Max("tiers__months")).order_by("starts_at", "pk"))
    started = [run for run in runs if run.starts_at <= now]
    running = [
        run for run in started if run.longest and access_ends_at(starts_at=run.starts_at, months=run.longest) > now
    ]
    if running or started:
        return (running or started)[-1]
    return runs[0] if runs else None
