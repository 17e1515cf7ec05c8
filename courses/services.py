"""Writes to course progress. Callers check access first (enrollment.access)."""

from datetime import UTC, datetime, timedelta

from django.db import connection, transaction
from django.db.models import Value
from django.db.models.functions import Greatest
from django.utils import timezone
from django.utils.dateparse import parse_datetime

from .models import CourseVisit, Lesson, LessonProgress

# Watching this share of a lesson's video (its furthest point, never a flag from the page) completes the lesson.
WATCHED_SHARE = 0.9

# Views of the course home this close together are one visit: going back and forth between the lessons and
# the syllabus keeps the "new" marks; they clear at the next visit.
VISIT_GAP = timedelta(minutes=30)


def set_lesson_completed(*, user, lesson: Lesson, completed: bool, now=None) -> LessonProgress:
    """Mark the lesson complete or not; posting the same state twice changes nothing more."""
    now = now or timezone.now()
    with transaction.atomic():
        progress, _ = LessonProgress.objects.select_for_update().get_or_create(
            user=user, lesson=lesson, defaults={"updated_at": now}
        )
        if completed and progress.completed_at is None:
            progress.completed_at = now
        elif not completed:
            progress.completed_at = None
        progress.updated_at = now
        progress.save(update_fields=["completed_at", "updated_at"])
    return progress


def record_lesson_opened(*, user, lesson: Lesson, now=None) -> LessonProgress:
    """Return the student's progress of the lesson, recording the first time they opened it (the dashboard counts
    openings). Opening it again changes nothing: where to continue follows what the student did, not what they saw.
    """
    progress, _ = LessonProgress.objects.get_or_create(
        user=user, lesson=lesson, defaults={"updated_at": now or timezone.now()}
    )
    return progress


def record_video_position(
    *, user, lesson: Lesson, seconds: float, duration: float | None = None, now=None
) -> LessonProgress:
    """Remember where the student is in the lesson's video, so the next visit resumes there.

    The furthest point reached only moves forward (the dashboard's drop-off chart reads it); it is raised
    in the UPDATE itself, so two tabs reporting at once cannot lower it. Given the video's `duration`, a
    furthest point at WATCHED_SHARE of it or beyond completes the lesson (once: the first time stays).
    """
    now = now or timezone.now()
    seconds = max(0.0, float(seconds))
    progress, created = LessonProgress.objects.get_or_create(
        user=user,
        lesson=lesson,
        defaults={"video_position": seconds, "furthest_position": seconds, "updated_at": now},
    )
    if not created:
        LessonProgress.objects.filter(pk=progress.pk).update(
            video_position=seconds, furthest_position=Greatest("furthest_position", Value(seconds)), updated_at=now
        )
        progress.video_position, progress.updated_at = seconds, now
        progress.furthest_position = max(progress.furthest_position, seconds)
    if duration and progress.completed_at is None:
        # Decided on the stored furthest point, in one UPDATE, so a concurrent report cannot complete it twice.
        if LessonProgress.objects.filter(
            pk=progress.pk, completed_at__isnull=True, furthest_position__gte=WATCHED_SHARE * duration
        ).update(completed_at=now):
            progress.completed_at = now
    return progress


def record_course_visit(*, user, course, now=None) -> datetime | None:
    """Record a view of the course home; return the end of the previous visit (None: the first visit).

    One statement (an upsert that returns the row), so that the course home costs one query more: a view
    more than VISIT_GAP after the last one starts a new visit, and the last one's time becomes the point the
    marks count from.
    """
    now = now or timezone.now()
    table = connection.ops.quote_name(CourseVisit._meta.db_table)
    # Postgres and SQLite (3.35+) both speak INSERT … ON CONFLICT … RETURNING; in SET, the table's name is
    # the row as it was.
    sql = (
        f"INSERT INTO {table} (user_id, course_id, last_seen_at, previous_visit_at) VALUES (%s, %s, %s, NULL) "
        f"ON CONFLICT (user_id, course_id) DO UPDATE SET "
        f"previous_visit_at = CASE WHEN {table}.last_seen_at < %s THEN {table}.last_seen_at "
        f"ELSE {table}.previous_visit_at END, "
        f"last_seen_at = CASE WHEN {table}.last_seen_at < excluded.last_seen_at THEN excluded.last_seen_at "
        f"ELSE {table}.last_seen_at END "
        f"RETURNING previous_visit_at"
    )
    field = CourseVisit._meta.get_field("last_seen_at")
    values = [field.get_db_prep_value(value, connection) for value in (now, now - VISIT_GAP)]
    with connection.cursor() as cursor:
        cursor.execute(sql, [user.pk, course.pk, values[0], values[1]])
        (previous,) = cursor.fetchone()
    if isinstance(previous, str):  # SQLite answers raw SQL with text, in UTC
        previous = parse_datetime(previous)
    if previous is not None and timezone.is_naive(previous):
        previous = previous.replace(tzinfo=UTC)
    return previous
