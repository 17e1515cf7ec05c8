"""Reads that pages compose. Each runs a fixed number of queries, whatever the course's size."""

import copy
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime

from django.core.cache import cache
from django.db import connection

from .content import built, content_version
from .models import Course, CourseVisit, Lesson, LessonProgress, QuizAttempt, Section
from .outline import (
    OpensAt,
    Outline,
    Player,
    Syllabus,
    build_outline,
    continue_with,
    sections_with_lessons,
)


def _slug_key(slug) -> str:
    return f"course-slug:{slug}"


def course_by_slug(slug: str) -> Course | None:
    """Return the course with this slug: a copy of its instance cached under its content version (no query once
    built). Which course has the slug is kept in the cache too, set when a course is saved (courses/signals.py)."""
    course_id = cache.get(_slug_key(slug))
    if course_id is not None:
        course = built(
            f"course:{course_id}",
            lambda: Course.objects.filter(pk=course_id).first(),
            version=content_version(course_id),
        )
        if course is not None and course.slug == slug:
            return copy.copy(course)
    course = Course.objects.filter(slug=slug).first()
    if course is not None:
        remember_slug(course)
    return course


def remember_slug(course: Course) -> None:
    cache.set(_slug_key(course.slug), course.pk, timeout=None)


def forget_slug(course: Course) -> None:
    cache.delete(_slug_key(course.slug))


def lesson_of(course: Course, slug: str) -> Lesson | None:
    """Return the course's lesson with this slug, its section loaded and `course` set (a copy of its cached
    instance: no query once built for the course's content version)."""
    lesson = built(
        f"lesson:{course.pk}:{slug}",
        lambda: (
            Lesson.objects.select_related("section")
            .defer("body", "body_html", "transcript")  # the lesson page's content is cached apart (_lesson_content)
            .filter(course_id=course.pk, slug=slug)
            .first()
        ),
        version=content_version(course.pk),
        memo_size=512,
    )
    if lesson is None:
        return None
    lesson = copy.copy(lesson)
    lesson.course = course
    return lesson


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


def progress_of(*, user, course_id) -> tuple[frozenset[int], int | None]:
    """Return the ids of the course's lessons the user completed, and the one they worked on last (one query).

    Plain SQL: every page of a course asks it, and it returns a row per lesson the student has opened (2,000 in
    a large course), which the ORM took several times longer to compile and read.
    """
    if user is None or not user.is_authenticated:
        return frozenset(), None
    progress = connection.ops.quote_name(LessonProgress._meta.db_table)
    lessons = connection.ops.quote_name(Lesson._meta.db_table)
    with connection.cursor() as cursor:
        cursor.execute(
            f"SELECT p.lesson_id, p.completed_at IS NOT NULL FROM {progress} p JOIN {lessons} l ON l.id = p.lesson_id "
            f"WHERE p.user_id = %s AND l.course_id = %s ORDER BY p.updated_at DESC, p.id DESC",
            [user.pk, course_id],
        )
        rows = cursor.fetchall()
    if not rows:
        return frozenset(), None
    return frozenset(lesson_id for lesson_id, completed in rows if completed), rows[0][0]


def previous_course_visit(*, user, course) -> datetime | None:
    """The end of the user's previous visit of the course home, as record_course_visit last answered (one query)."""
    if user is None or not user.is_authenticated:
        return None
    return CourseVisit.objects.filter(user=user, course=course).values_list("previous_visit_at", flat=True).first()


def passed_quizzes(*, user, quiz_ids) -> set[int]:
    """The quizzes among `quiz_ids` the user passed at least once (one query; none without quizzes)."""
    if not quiz_ids or user is None or not user.is_authenticated:
        return set()
    # Plain SQL: every course home asks it, and the ORM took fifteen times as long to build the query as to run it.
    ids = list(quiz_ids)
    table = connection.ops.quote_name(QuizAttempt._meta.db_table)
    with connection.cursor() as cursor:
        cursor.execute(
            f"SELECT DISTINCT quiz_id FROM {table} WHERE user_id = %s AND passed AND quiz_id IN "
            f"({', '.join(['%s'] * len(ids))})",
            [user.pk, *ids],
        )
        return {quiz_id for (quiz_id,) in cursor.fetchall()}


def syllabus_for(
    course: Course,
    *,
    user=None,
    at,
    opens_at: OpensAt | None,
    marks_since: datetime | None = None,
    outline: Outline | None = None,
) -> Syllabus:
    """Return the syllabus with the user's ticks, the lesson to continue with, and what is new since `marks_since`.

    `outline` is the course's outline for the user's run (outline_for, cached); without it, it is built here
    with `opens_at(lesson)`, which says when a lesson opens for the user's run (None: open): the page passes
    it from the access policy, since runs are not this app's. One query for the user's progress, one more
    for their passed quizzes when the course has published ones.
    """
    outline = outline or build_outline(course, opens_at=opens_at)
    done, last_id = progress_of(user=user, course_id=course.pk)
    return Syllabus(
        outline,
        at=at,
        done=done,
        last_id=last_id,
        passed=passed_quizzes(user=user, quiz_ids=outline.quiz_ids),
        marks_since=marks_since,
    )


@dataclass
class CourseProgress:
    """A student's progress in one course, for their list of courses."""

    lesson_count: int = 0
    completed_count: int = 0
    continue_lesson: Lesson | None = None

    @property
    def percent(self):
        return round(100 * self.completed_count / self.lesson_count) if self.lesson_count else 0


def progress_in_courses(*, user, outlines: dict[int, Outline], at) -> dict[int, CourseProgress]:
    """Return {course id: CourseProgress} of the user in each course of `outlines` (each course's outline for
    the user's run, outline_for: cached), in one query whatever the number of courses and lessons; the lesson
    to continue with is the one the course home would offer.
    """
    if not outlines:
        return {}
    progress = connection.ops.quote_name(LessonProgress._meta.db_table)
    lessons = connection.ops.quote_name(Lesson._meta.db_table)
    course_ids = list(outlines)
    with connection.cursor() as cursor:
        cursor.execute(
            f"SELECT l.course_id, p.lesson_id, p.completed_at IS NOT NULL FROM {progress} p "
            f"JOIN {lessons} l ON l.id = p.lesson_id WHERE p.user_id = %s AND l.course_id IN "
            f"({', '.join(['%s'] * len(course_ids))}) ORDER BY p.updated_at DESC, p.id DESC",
            [user.pk, *course_ids],
        )
        rows = cursor.fetchall()
    done = {pk: set() for pk in outlines}
    last = {}
    for course_id, lesson_id, completed in rows:
        last.setdefault(course_id, lesson_id)  # the newest first
        if completed:
            done[course_id].add(lesson_id)

    def released(lesson):
        return lesson.opens_at is None or lesson.opens_at <= at

    return {
        pk: CourseProgress(
            lesson_count=outline.lesson_count,
            completed_count=len(done[pk] & outline.lesson_ids),
            continue_lesson=continue_with(outline.lessons, released=released, done=done[pk], last_id=last.get(pk)),
        )
        for pk, outline in outlines.items()
    }


def player_for(
    course: Course,
    lesson: Lesson,
    *,
    user=None,
    at,
    opens_at: OpensAt | None,
    may_open: Callable[[Lesson], bool],
    outline: Outline | None = None,
) -> Player:
    """Return the outline around `lesson` and its previous and next lessons that the viewer may open.

    `may_open(lesson)` is the access policy's answer for the viewer (runs and enrollments are not this app's);
    it must not query per lesson. The queries are syllabus_for's, whatever the course's size.
    """
    syllabus = syllabus_for(course, user=user, at=at, opens_at=opens_at, outline=outline)
    return Player(syllabus, syllabus.outline.by_id.get(lesson.pk), may_open=may_open)
