"""Reads that pages compose. Each runs a fixed number of queries, whatever the course's size."""

from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime

from django.db.models import Prefetch
from django.urls import reverse

from .models import Course, Lesson, LessonProgress, Section


@dataclass
class SyllabusLesson:
    lesson: Lesson
    released: bool
    opens_at: datetime | None = None
    completed: bool = False
    url: str = ""


@dataclass
class SyllabusSection:
    section: Section
    lessons: list[SyllabusLesson] = field(default_factory=list)

    @property
    def completed_count(self):
        return sum(1 for item in self.lessons if item.completed)

    @property
    def percent(self):
        return round(100 * self.completed_count / len(self.lessons)) if self.lessons else 0


@dataclass
class Syllabus:
    sections: list[SyllabusSection]
    continue_lesson: Lesson | None = None

    @property
    def lesson_count(self):
        return sum(len(section.lessons) for section in self.sections)

    @property
    def completed_count(self):
        return sum(section.completed_count for section in self.sections)

    @property
    def percent(self):
        return round(100 * self.completed_count / self.lesson_count) if self.lesson_count else 0


def sections_with_lessons(course: Course):
    """Return the course's sections, each with its lessons prefetched (two queries)."""
    lessons = Lesson.objects.only(
        "id", "course_id", "section_id", "title", "slug", "order", "release_after_days", "release_time",
        "is_free_preview", "video_minutes", "estimated_minutes",
    )  # fmt: skip
    return list(course.sections.prefetch_related(Prefetch("lessons", queryset=lessons)))


OpensAt = Callable[[Lesson], datetime | None]


def syllabus_for(course: Course, *, user=None, at, opens_at: OpensAt) -> Syllabus:
    """Return the syllabus with the user's ticks and the lesson to continue with.

    `opens_at(lesson)` says when a lesson opens for the user's run (None: open); the page passes it from
    the access policy, since runs are not this app's.
    """
    sections = sections_with_lessons(course)
    # One reverse() for the whole syllabus rather than one per lesson (2,000 in a large course).
    url_prefix = reverse("courses:lesson", args=[course.slug, "x"]).removesuffix("x/")
    progress = {}
    if user is not None and user.is_authenticated:
        progress = {
            row.lesson_id: row
            for row in LessonProgress.objects.filter(user=user, lesson__course=course).only(
                "lesson_id", "completed_at", "updated_at"
            )
        }
    syllabus = Syllabus(
        sections=[
            SyllabusSection(
                section=section,
                lessons=[
                    SyllabusLesson(
                        lesson=lesson,
                        released=(when := opens_at(lesson)) is None or when <= at,
                        opens_at=when,
                        completed=bool(progress.get(lesson.id) and progress[lesson.id].completed_at),
                        url=f"{url_prefix}{lesson.slug}/",
                    )
                    for lesson in section.lessons.all()
                ],
            )
            for section in sections
        ]
    )
    syllabus.continue_lesson = _continue_lesson(syllabus, progress)
    return syllabus


def _continue_lesson(syllabus: Syllabus, progress) -> Lesson | None:
    """The lesson last worked on if unfinished, else the next unfinished released one after it."""
    ordered = [item for section in syllabus.sections for item in section.lessons]
    open_items = [item for item in ordered if item.released]
    if not open_items:
        return None
    if not progress:
        return open_items[0].lesson
    last = max(progress.values(), key=lambda row: row.updated_at)
    position = next((i for i, item in enumerate(ordered) if item.lesson.id == last.lesson_id), 0)
    if not ordered[position].completed and ordered[position].released:
        return ordered[position].lesson
    after = ordered[position + 1 :] + ordered[:position]
    fallback = ordered[position].lesson if ordered[position].released else open_items[0].lesson
    return next((item.lesson for item in after if item.released and not item.completed), fallback)


def neighbours(course: Course, lesson: Lesson):
    """Return the lessons before and after this one in syllabus order (two small queries)."""
    ordered = list(Lesson.objects.filter(course=course).in_syllabus_order().values_list("id", flat=True))
    try:
        index = ordered.index(lesson.id)
    except ValueError:
        return None, None
    wanted = {
        "previous": ordered[index - 1] if index > 0 else None,
        "next": ordered[index + 1] if index + 1 < len(ordered) else None,
    }
    found = Lesson.objects.only("id", "slug", "title", "course_id").in_bulk([pk for pk in wanted.values() if pk])
    return found.get(wanted["previous"]), found.get(wanted["next"])
