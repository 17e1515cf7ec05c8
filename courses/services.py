"""Writes to course progress. Callers check access first (enrollment.access)."""

from django.db import transaction
from django.db.models import Value
from django.db.models.functions import Greatest
from django.utils import timezone

from .models import Lesson, LessonProgress


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


def record_video_position(*, user, lesson: Lesson, seconds: float, now=None) -> LessonProgress:
    """Remember where the student is in the lesson's video, so the next visit resumes there.

    The furthest point reached only moves forward (the dashboard's drop-off chart reads it); it is raised
    in the UPDATE itself, so two tabs reporting at once cannot lower it.
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
    return progress
