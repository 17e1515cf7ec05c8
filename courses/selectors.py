"""Reads that pages compose. Each runs a fixed number of queries, whatever the course's size."""

from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime

from django.db.models import Prefetch
from django.urls import reverse

from .models import Course, Lesson, LessonProgress, Quiz, Section
from .quizzes import passed_quiz_ids


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


def lesson_minutes(lesson: Lesson) -> int:
    """Return the time to work through a lesson: the instructor's estimate, never less than its video."""
    return max(lesson.estimated_minutes or 0, lesson.video_minutes or 0)


@dataclass
class SectionOutline:
    """A section of the public syllabus with its lessons and how long they take."""

    section: Section
    lessons: list[Lesson]

    @property
    def lesson_count(self):
        return len(self.lessons)

    @property
    def video_minutes(self):
        return sum(lesson.video_minutes for lesson in self.lessons)

    @property
    def minutes(self):
        return sum(lesson_minutes(lesson) for lesson in self.lessons)


def course_outline(course: Course) -> list[SectionOutline]:
    """Return the course's sections with their lessons and lengths (two queries)."""
    return [SectionOutline(section, list(section.lessons.all())) for section in sections_with_lessons(course)]


@dataclass
class SyllabusSection:
    """A section's lessons and, after them, its published quiz: a passed quiz counts as one more item done."""

    section: Section
    lessons: list[SyllabusLesson] = field(default_factory=list)
    quiz: Quiz | None = None
    quiz_passed: bool = False
    quiz_url: str = ""

    @property
    def quiz_released(self) -> bool:
        """The quiz opens with the section's last lesson."""
        return all(item.released for item in self.lessons)

    @property
    def quiz_opens_at(self) -> datetime | None:
        return max((item.opens_at for item in self.lessons if not item.released), default=None)

    @property
    def item_count(self):
        return len(self.lessons) + (1 if self.quiz else 0)

    @property
    def minutes(self):
        return sum(lesson_minutes(item.lesson) for item in self.lessons)

    @property
    def completed_count(self):
        return sum(1 for item in self.lessons if item.completed) + (1 if self.quiz and self.quiz_passed else 0)

    @property
    def percent(self):
        return round(100 * self.completed_count / self.item_count) if self.item_count else 0


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
    def quiz_count(self):
        return sum(1 for section in self.sections if section.quiz)

    @property
    def item_count(self):
        """Lessons and published quizzes: what completed_count counts out of."""
        return self.lesson_count + self.quiz_count

    @property
    def completed_count(self):
        """Lessons completed and quizzes passed."""
        return sum(section.completed_count for section in self.sections)

    @property
    def completed_lesson_count(self):
        return sum(1 for section in self.sections for item in section.lessons if item.completed)

    @property
    def quizzes_left(self):
        """The published quizzes not passed yet."""
        return sum(1 for section in self.sections if section.quiz and not section.quiz_passed)

    @property
    def percent(self):
        return round(100 * self.completed_count / self.item_count) if self.item_count else 0

    @property
    def first_opening(self) -> datetime | None:
        """When the first lesson opens, if none is open yet (None when one is, or when none has a date)."""
        items = [item for section in self.sections for item in section.lessons]
        if any(item.released for item in items):
            return None
        return min((item.opens_at for item in items if item.opens_at), default=None)


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

    Each section carries its published quiz, if any, and whether the user passed it (two queries for the course).

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
    quizzes = {quiz.section_id: quiz for quiz in Quiz.objects.published().filter(section__course=course)}
    passed = passed_quiz_ids(user=user, course=course) if quizzes else set()
    quiz_prefix = reverse("courses:quiz", args=[course.slug, 0]).removesuffix("0/quiz/")
    syllabus = Syllabus(
        sections=[
            SyllabusSection(
                section=section,
                quiz=(quiz := quizzes.get(section.pk)),
                quiz_passed=quiz is not None and quiz.pk in passed,
                quiz_url=f"{quiz_prefix}{section.pk}/quiz/" if quiz else "",
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
class CourseProgress:
    """A student's progress in one course, for their list of courses."""

    lesson_count: int = 0
    completed_count: int = 0
    continue_lesson: Lesson | None = None

    @property
    def percent(self):
        return round(100 * self.completed_count / self.lesson_count) if self.lesson_count else 0


def progress_in_courses(*, user, opens_at: dict[int, OpensAt], at) -> dict[int, CourseProgress]:
    """Return {course id: CourseProgress} of the user in each course of `opens_at`, in two queries whatever
    the number of courses and lessons.

    `opens_at[course id](lesson)` says when a lesson opens for the user's run of that course (the page
    passes it from the release schedules, since runs are not this app's); the lesson to continue with is
    the one the course home would offer.
    """
    if not opens_at:
        return {}
    lessons = Lesson.objects.filter(course_id__in=list(opens_at)).in_syllabus_order().only(
        "id", "course_id", "section_id", "title", "slug", "order", "release_after_days", "release_time",
    )  # fmt: skip
    rows = LessonProgress.objects.filter(user=user, lesson__course_id__in=list(opens_at)).only(
        "lesson_id", "completed_at", "updated_at"
    )
    progress_by_course = {pk: {} for pk in opens_at}
    lessons_by_course = {pk: [] for pk in opens_at}
    course_of = {}
    for lesson in lessons:
        lessons_by_course[lesson.course_id].append(lesson)
        course_of[lesson.id] = lesson.course_id
    for row in rows:
        if row.lesson_id in course_of:
            progress_by_course[course_of[row.lesson_id]][row.lesson_id] = row
    result = {}
    for pk, course_lessons in lessons_by_course.items():
        progress = progress_by_course[pk]
        items = [
            SyllabusLesson(
                lesson=lesson,
                released=(when := opens_at[pk](lesson)) is None or when <= at,
                completed=bool(progress.get(lesson.id) and progress[lesson.id].completed_at),
            )
            for lesson in course_lessons
        ]
        syllabus = Syllabus(sections=[SyllabusSection(section=None, lessons=items)])
        result[pk] = CourseProgress(
            lesson_count=len(items),
            completed_count=syllabus.completed_count,
            continue_lesson=_continue_lesson(syllabus, progress),
        )
    return result


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
