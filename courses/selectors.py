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
    is_new: bool = False  # opened since the viewer's previous visit
    is_updated: bool = False  # marked updated by the instructor since then (lesson.change_note says what)
    may_open: bool = False  # set by player_for from the access policy: the viewer may open it now
    is_current: bool = False  # the lesson the player shows

    @property
    def locked(self):
        """Not yet released for the viewer's run: shown with its date, not as a link."""
        return not self.released


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
    marks_since: datetime | None = None  # the end of the viewer's previous visit: "new" and "updated" count from it

    @property
    def new_lessons(self) -> list[SyllabusLesson]:
        return [item for section in self.sections for item in section.lessons if item.is_new]

    @property
    def updated_lessons(self) -> list[SyllabusLesson]:
        return [item for section in self.sections for item in section.lessons if item.is_updated]

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
        "is_free_preview", "video_minutes", "estimated_minutes", "content_updated_at", "change_note",
    )  # fmt: skip
    return list(course.sections.prefetch_related(Prefetch("lessons", queryset=lessons)))


OpensAt = Callable[[Lesson], datetime | None]


def syllabus_for(course: Course, *, user=None, at, opens_at: OpensAt, marks_since: datetime | None = None) -> Syllabus:
    """Return the syllabus with the user's ticks, the lesson to continue with, and what is new since `marks_since`.

    `opens_at(lesson)` says when a lesson opens for the user's run (None: open); the page passes it from
    the access policy, since runs are not this app's. A lesson is "new" when it opened after `marks_since`
    (the end of the user's previous visit; None marks nothing), "updated" when the instructor marked it so
    after then and after it opened.
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
        ],
        marks_since=marks_since,
    )
    if marks_since is not None:
        for section in syllabus.sections:
            for item in section.lessons:
                _mark(item, since=marks_since, at=at)
    syllabus.continue_lesson = _continue_lesson(syllabus, progress)
    return syllabus


def _mark(item: SyllabusLesson, *, since: datetime, at: datetime) -> None:
    if not item.released:
        return
    item.is_new = item.opens_at is not None and since < item.opens_at <= at
    updated_at = item.lesson.content_updated_at
    item.is_updated = (
        not item.is_new
        and updated_at is not None
        and since < updated_at <= at
        and (item.opens_at is None or item.opens_at <= updated_at)
    )


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


@dataclass
class Player:
    """The course around one lesson: the outline with ticks and locks, and where to go from the lesson."""

    syllabus: Syllabus
    current: SyllabusLesson | None = None
    previous: SyllabusLesson | None = None  # the nearest lesson before this one that the viewer may open
    next: SyllabusLesson | None = None  # the nearest lesson after this one that the viewer may open
    next_locked: SyllabusLesson | None = None  # the first lesson after this one not released yet, before `next`


def player_for(
    course: Course, lesson: Lesson, *, user=None, at, opens_at: OpensAt, may_open: Callable[[Lesson], bool]
) -> Player:
    """Return the outline around `lesson` and its previous and next lessons that the viewer may open.

    `may_open(lesson)` is the access policy's answer for the viewer (runs and enrollments are not this app's);
    it must not query per lesson. The queries are syllabus_for's, whatever the course's size.
    """
    syllabus = syllabus_for(course, user=user, at=at, opens_at=opens_at)
    ordered = [item for section in syllabus.sections for item in section.lessons]
    player = Player(syllabus=syllabus)
    index = None
    for position, item in enumerate(ordered):
        item.may_open = may_open(item.lesson)
        if item.lesson.id == lesson.id:
            item.is_current = True
            player.current, index = item, position
    if index is None:
        return player
    player.previous = next((item for item in reversed(ordered[:index]) if item.may_open), None)
    for item in ordered[index + 1 :]:
        if item.may_open:
            player.next = item
            break
        if item.locked and player.next_locked is None:
            player.next_locked = item
    return player
