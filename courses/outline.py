"""The outline of a course as the students of one run see it, and one viewer's syllabus laid over it.

The outline (sections, lessons with their titles, addresses, lengths and the moment each opens for the run,
published quizzes) is the same for every student of a run: it is built from the database once per content
version (courses/content.py) and run, and kept in the cache. What is the viewer's own (ticks, passed quizzes,
the lesson to continue with, "new" and "updated" marks) and what depends on the time (locks) is laid over it
on each request by `Syllabus`, never stored with it.
"""

from collections.abc import Callable
from datetime import datetime, time
from functools import cached_property
from itertools import chain
from typing import NamedTuple

from django.db.models import Prefetch
from django.urls import reverse

from .content import built
from .models import Course, Lesson, Quiz

NEW = "new"
UPDATED = "updated"
# A course of more lessons shows the sections a student needs first and loads the others' on demand.
OUTLINE_IN_FULL = 100


class OutlineLesson(NamedTuple):
    """A lesson as the outline shows it. It answers the access policy's questions as a Lesson does."""

    id: int
    slug: str
    title: str
    url: str
    section_id: int
    position: int  # in syllabus order, from 0
    opens_at: datetime | None  # for the outline's run; None: open from the run's start
    is_free_preview: bool
    release_after_days: int | None
    release_time: time | None
    video_minutes: int
    estimated_minutes: int
    content_updated_at: datetime | None
    change_note: str

    @property
    def pk(self):
        return self.id

    @property
    def minutes(self) -> int:
        """The time to work through it: the instructor's estimate, never less than its video."""
        return max(self.estimated_minutes or 0, self.video_minutes or 0)


class OutlineQuiz(NamedTuple):
    id: int
    title: str
    pass_percent: int
    url: str


class OutlineSection(NamedTuple):
    id: int
    number: int  # from 1
    title: str
    summary: str
    lessons: tuple[OutlineLesson, ...]
    lesson_ids: frozenset[int]
    quiz: OutlineQuiz | None
    last_opening: datetime | None  # when its last dated lesson opens (its quiz opens then)


class Outline(NamedTuple):
    course_id: int
    sections: tuple[OutlineSection, ...]
    lessons: tuple[OutlineLesson, ...]  # in syllabus order
    lesson_ids: frozenset[int]
    by_id: dict[int, OutlineLesson]
    quiz_ids: frozenset[int]
    dated: tuple[OutlineLesson, ...]  # the lessons with an opening date or an "updated" mark: the only ones marked

    @property
    def lesson_count(self) -> int:
        return len(self.lessons)

    @property
    def quiz_count(self) -> int:
        return len(self.quiz_ids)

    def section(self, section_id) -> OutlineSection | None:
        return next((section for section in self.sections if section.id == section_id), None)


OpensAt = Callable[[Lesson], datetime | None]

LESSON_FIELDS = (
    "id", "course_id", "section_id", "title", "slug", "order", "release_after_days", "release_time",
    "is_free_preview", "video_minutes", "estimated_minutes", "content_updated_at", "change_note",
)  # fmt: skip


def sections_with_lessons(course: Course):
    """Return the course's sections, each with its lessons prefetched (two queries)."""
    lessons = Lesson.objects.only(*LESSON_FIELDS)
    return list(course.sections.prefetch_related(Prefetch("lessons", queryset=lessons)))


def build_outline(course: Course, *, opens_at: OpensAt) -> Outline:
    """Build the course's outline with the opening moments `opens_at(lesson)` of one run (three queries)."""
    # One reverse() for the whole outline rather than one per lesson (2,000 in a large course).
    url_prefix = reverse("courses:lesson", args=[course.slug, "x"]).removesuffix("x/")
    quiz_prefix = reverse("courses:quiz", args=[course.slug, 0]).removesuffix("0/quiz/")
    quizzes = {
        quiz.section_id: OutlineQuiz(quiz.pk, quiz.title, quiz.pass_percent, f"{quiz_prefix}{quiz.section_id}/quiz/")
        for quiz in Quiz.objects.published().filter(section__course=course).only("id", "section_id", "title",
                                                                                 "pass_percent")
    }  # fmt: skip
    sections, ordered = [], []
    for number, section in enumerate(sections_with_lessons(course), start=1):
        lessons = tuple(
            OutlineLesson(
                id=lesson.id,
                slug=lesson.slug,
                title=lesson.title,
                url=f"{url_prefix}{lesson.slug}/",
                section_id=section.id,
                position=len(ordered) + index,
                opens_at=opens_at(lesson),
                is_free_preview=lesson.is_free_preview,
                release_after_days=lesson.release_after_days,
                release_time=lesson.release_time,
                video_minutes=lesson.video_minutes,
                estimated_minutes=lesson.estimated_minutes,
                content_updated_at=lesson.content_updated_at,
                change_note=lesson.change_note,
            )
            for index, lesson in enumerate(section.lessons.all())
        )
        ordered.extend(lessons)
        sections.append(
            OutlineSection(
                id=section.id,
                number=number,
                title=section.title,
                summary=section.summary,
                lessons=lessons,
                lesson_ids=frozenset(lesson.id for lesson in lessons),
                quiz=quizzes.get(section.id),
                last_opening=max((lesson.opens_at for lesson in lessons if lesson.opens_at), default=None),
            )
        )
    return Outline(
        course_id=course.pk,
        sections=tuple(sections),
        lessons=tuple(ordered),
        lesson_ids=frozenset(lesson.id for lesson in ordered),
        by_id={lesson.id: lesson for lesson in ordered},
        quiz_ids=frozenset(quiz.id for quiz in quizzes.values()),
        dated=tuple(lesson for lesson in ordered if lesson.opens_at or lesson.content_updated_at),
    )


def outline_for(course: Course, *, run_id: int | None, opens_at: OpensAt, version: str | None) -> Outline:
    """Return the course's outline for the students of run `run_id` (whose opening moments `opens_at` gives),
    built once per content `version` (courses/content.py) and run: no query once built."""
    return built(
        f"outline:{course.pk}:{run_id or 0}", lambda: build_outline(course, opens_at=opens_at), version=version
    )


def continue_with(lessons, *, released: Callable, done, last_id: int | None):
    """Return the lesson to continue with: the one last worked on (`last_id`) if unfinished, else the next
    unfinished released one after it (round to the start); the first released one without any progress."""
    first_open = next((lesson for lesson in lessons if released(lesson)), None)
    if first_open is None or last_id is None:
        return first_open
    position = next((index for index, lesson in enumerate(lessons) if lesson.id == last_id), 0)
    here = lessons[position]
    for lesson in chain((here,), lessons[position + 1 :], lessons[:position]):
        if lesson.id not in done and released(lesson):
            return lesson
    return here if released(here) else first_open


class SyllabusSection:
    """One section of a viewer's syllabus: its lessons and, after them, its published quiz (a passed quiz
    counts as one more item done)."""

    def __init__(self, section: OutlineSection, syllabus: "Syllabus"):
        self.section = section
        self.syllabus = syllabus

    @property
    def lessons(self):
        return self.section.lessons

    @property
    def quiz(self):
        return self.section.quiz

    @property
    def quiz_passed(self) -> bool:
        return self.section.quiz is not None and self.section.quiz.id in self.syllabus.passed

    @property
    def quiz_released(self) -> bool:
        """The quiz opens with the section's last lesson."""
        last = self.section.last_opening
        return last is None or last <= self.syllabus.at

    @property
    def quiz_opens_at(self) -> datetime | None:
        return None if self.quiz_released else self.section.last_opening

    @cached_property
    def completed_lesson_count(self) -> int:
        return len(self.section.lesson_ids & self.syllabus.done)

    @property
    def completed_count(self) -> int:
        return self.completed_lesson_count + (1 if self.quiz_passed else 0)

    @property
    def item_count(self) -> int:
        return len(self.section.lessons) + (1 if self.section.quiz else 0)

    @property
    def percent(self) -> int:
        return round(100 * self.completed_count / self.item_count) if self.item_count else 0


class Syllabus:
    """A viewer's syllabus at `at`: the run's outline with their completed lessons (`done`, ids), passed
    quizzes (`passed`, ids), the lesson they worked on last (`last_id`), and what is new or updated since
    `marks_since` (the end of their previous visit; None marks nothing).

    A lesson is "new" when it opened after `marks_since`, "updated" when the instructor marked it so after
    then and after it opened.
    """

    def __init__(self, outline: Outline, *, at, done=frozenset(), last_id=None, passed=frozenset(), marks_since=None):
        self.outline = outline
        self.at = at
        self.done = frozenset(done)
        self.last_id = last_id
        self.passed = frozenset(passed) & outline.quiz_ids
        self.marks_since = marks_since

    @cached_property
    def sections(self) -> list[SyllabusSection]:
        return [SyllabusSection(section, self) for section in self.outline.sections]

    def is_released(self, lesson: OutlineLesson) -> bool:
        return lesson.opens_at is None or lesson.opens_at <= self.at

    @property
    def lesson_count(self) -> int:
        return self.outline.lesson_count

    @property
    def quiz_count(self) -> int:
        return self.outline.quiz_count

    @property
    def item_count(self) -> int:
        """Lessons and published quizzes: what completed_count counts out of."""
        return self.lesson_count + self.quiz_count

    @cached_property
    def completed_lesson_count(self) -> int:
        return len(self.outline.lesson_ids & self.done)

    @property
    def completed_count(self) -> int:
        """Lessons completed and quizzes passed."""
        return self.completed_lesson_count + len(self.passed)

    @property
    def quizzes_left(self) -> int:
        """The published quizzes not passed yet."""
        return self.quiz_count - len(self.passed)

    @property
    def percent(self) -> int:
        return round(100 * self.completed_count / self.item_count) if self.item_count else 0

    @cached_property
    def continue_lesson(self) -> OutlineLesson | None:
        return continue_with(self.outline.lessons, released=self.is_released, done=self.done, last_id=self.last_id)

    @property
    def first_opening(self) -> datetime | None:
        """When the first lesson opens, if none is open yet (None when one is, or when none has a date)."""
        if self.continue_lesson is not None:  # one is open
            return None
        return min((lesson.opens_at for lesson in self.outline.dated if lesson.opens_at), default=None)

    @cached_property
    def marks(self) -> dict[int, str]:
        """{lesson id: NEW or UPDATED} for the lessons marked since the viewer's previous visit."""
        since, at = self.marks_since, self.at
        if since is None:
            return {}
        marks = {}
        for lesson in self.outline.dated:
            opens_at, updated_at = lesson.opens_at, lesson.content_updated_at
            if opens_at is not None and opens_at > at:
                continue  # not released
            if opens_at is not None and since < opens_at:
                marks[lesson.id] = NEW
            elif updated_at is not None and since < updated_at <= at and (opens_at is None or opens_at <= updated_at):
                marks[lesson.id] = UPDATED
        return marks

    @property
    def new_lessons(self) -> list[OutlineLesson]:
        return [self.outline.by_id[pk] for pk, mark in self.marks.items() if mark == NEW]

    @property
    def updated_lessons(self) -> list[OutlineLesson]:
        return [self.outline.by_id[pk] for pk, mark in self.marks.items() if mark == UPDATED]

    def section_of(self, lesson: OutlineLesson | None) -> SyllabusSection | None:
        if lesson is None:
            return None
        return next((item for item in self.sections if item.section.id == lesson.section_id), None)


class Player:
    """The course around one lesson: the viewer's syllabus, and where to go from the lesson.

    `may_open(lesson)` is the access policy's answer for the viewer; it is asked only for the lessons the page
    shows as links (the expanded sections) and for the way to the previous and next lessons.
    """

    def __init__(self, syllabus: Syllabus, current: OutlineLesson | None, *, may_open: Callable):
        self.syllabus = syllabus
        self.current = current
        self._may_open = may_open
        self._answers: dict[int, bool] = {}

    def may_open(self, lesson: OutlineLesson) -> bool:
        answer = self._answers.get(lesson.id)
        if answer is None:
            answer = self._answers[lesson.id] = bool(self._may_open(lesson))
        return answer

    @cached_property
    def previous(self) -> OutlineLesson | None:
        """The nearest lesson before this one that the viewer may open."""
        if self.current is None:
            return None
        earlier = self.syllabus.outline.lessons[: self.current.position]
        return next((lesson for lesson in reversed(earlier) if self.may_open(lesson)), None)

    @cached_property
    def _ahead(self) -> tuple[OutlineLesson | None, OutlineLesson | None]:
        if self.current is None:
            return None, None
        locked = None
        for lesson in self.syllabus.outline.lessons[self.current.position + 1 :]:
            if self.may_open(lesson):
                return lesson, locked
            if locked is None and not self.syllabus.is_released(lesson):
                locked = lesson
        return None, locked

    @property
    def next(self) -> OutlineLesson | None:
        """The nearest lesson after this one that the viewer may open."""
        return self._ahead[0]

    @property
    def next_locked(self) -> OutlineLesson | None:
        """The first lesson after this one not released yet, before `next`."""
        return self._ahead[1]

    @property
    def section_quiz(self) -> OutlineQuiz | None:
        """The section's published quiz when the current lesson is the section's last, else None."""
        section = self.syllabus.section_of(self.current)
        if section is None or section.lessons[-1].id != self.current.id:
            return None
        return section.quiz
