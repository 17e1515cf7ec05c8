"""A hand-built class whose every dashboard number is known (see the numbers in the comments)."""

from dataclasses import dataclass
from datetime import timedelta

import pytest
from django.utils import timezone

from courses.models import LessonProgress
from enrollment.models import Enrollment
from tests.factories import (
    CourseFactory,
    EnrollmentFactory,
    LessonFactory,
    OfficeHoursTierFactory,
    PostFactory,
    RunFactory,
    SectionFactory,
    StaffFactory,
    ThreadFactory,
    TierFactory,
    UserFactory,
)


@dataclass
class Class:
    now: object
    course: object
    run: object
    lessons: list
    standard: object
    office_hours: object
    students: dict  # name -> Enrollment
    staff: object


def progress(user, lesson, *, at, completed=False, furthest=0.0):
    return LessonProgress.objects.create(
        user=user, lesson=lesson, updated_at=at, completed_at=at if completed else None,
        video_position=furthest, furthest_position=furthest,
    )  # fmt: skip


@pytest.fixture
def klass(db):
    """Four lessons of 10, 5, 0 (text) and 10 video minutes opening on days 0, 7, 20 and 40 of a run that started
    30 days ago: two were released two weeks ago (so fewer than 2 completed is "behind"), three are now.

    ada   standard      completed L1 (10 days ago, watched all) and L2 (yesterday, watched half): 2 of 4, video 50 %
    bob   office hours  completed L1 20 days ago (watched half), posted in the forum 2 days ago: 1 of 4, 20 %, behind
    cy    standard      opened L1 20 days ago, watched nothing: 0 of 4, behind, inactive
    dee   standard      nothing: not started, behind, inactive
    eve   refunded      (not on the dashboard) opened L1 yesterday
    """
    now = timezone.now()
    course = CourseFactory(title="Hand-built course", slug="hand-built")
    section = SectionFactory(course=course, title="Only section")
    lessons = [
        LessonFactory(section=section, order=n, slug=f"l{n + 1}", title=f"Lesson {n + 1}", video_minutes=minutes,
                      release_after_days=days)
        for n, (minutes, days) in enumerate([(10, None), (5, 7), (0, 20), (10, 40)])
    ]  # fmt: skip
    run = RunFactory(course=course, slug="hand-run", title="Hand run", starts_at=now - timedelta(days=30))
    standard, office_hours = TierFactory(run=run), OfficeHoursTierFactory(run=run)
    people = {
        name: EnrollmentFactory(
            user=UserFactory(email=f"{name}@example.com", first_name=name.title(), last_name="Tester"),
            run=run, tier=office_hours if name == "bob" else standard,
            status=Enrollment.Status.REFUNDED if name == "eve" else Enrollment.Status.ACTIVE,
            enrolled_at=now - timedelta(days=40),
        )
        for name in ["ada", "bob", "cy", "dee", "eve"]
    }  # fmt: skip
    user = {name: enrollment.user for name, enrollment in people.items()}
    l1, l2, _l3, _l4 = lessons
    progress(user["ada"], l1, at=now - timedelta(days=10), completed=True, furthest=600)
    progress(user["ada"], l2, at=now - timedelta(days=1), completed=True, furthest=150)
    progress(user["bob"], l1, at=now - timedelta(days=20), completed=True, furthest=300)
    progress(user["cy"], l1, at=now - timedelta(days=20))
    progress(user["eve"], l1, at=now - timedelta(days=1), completed=True, furthest=600)
    thread = ThreadFactory(course=course, author=user["ada"], created_at=now - timedelta(days=3))
    PostFactory(thread=thread, author=user["bob"], created_at=now - timedelta(days=2))
    people.pop("eve")
    return Class(now, course, run, lessons, standard, office_hours, people, StaffFactory())
