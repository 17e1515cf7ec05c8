"""Releases belong to the run: a lesson opens N days after its run starts, or on the run's own date."""

from datetime import UTC, datetime, time, timedelta

import pytest
from django.contrib.auth.models import AnonymousUser
from django.core.exceptions import ValidationError

from courses.models import RELEASE_TIME_WITHOUT_DAYS
from enrollment.access import NOT_RELEASED, NOT_STARTED, can_open_lesson, course_access
from enrollment.models import LESSON_OF_ANOTHER_COURSE, ReleaseOverride
from enrollment.releases import opens_at, schedule_for
from enrollment.selectors import current_run
from tests.factories import (
    EnrollmentFactory,
    LessonFactory,
    ReleaseOverrideFactory,
    RunFactory,
    StaffFactory,
    TierFactory,
)

pytestmark = pytest.mark.django_db

FIRST_START = datetime(2026, 3, 2, 9, 0, tzinfo=UTC)
SECOND_START = datetime(2026, 5, 4, 9, 0, tzinfo=UTC)
SECOND = timedelta(seconds=1)


@pytest.fixture(autouse=True)
def utc_site(settings):
    settings.TIME_ZONE = "UTC"


@pytest.fixture
def lesson():
    """Opens on day 10 of each run, at 18:00 on the site's calendar."""
    return LessonFactory(slug="later", release_after_days=10, release_time=time(18, 0))


def run_with_student(lesson, starts_at):
    run = RunFactory(course=lesson.course, starts_at=starts_at)
    TierFactory(run=run, months=4)
    return run, EnrollmentFactory(run=run).user


def test_lesson_opens_n_days_after_each_runs_own_start(lesson):
    first_run, first_student = run_with_student(lesson, FIRST_START)
    second_run, second_student = run_with_student(lesson, SECOND_START)
    first_opens = datetime(2026, 3, 12, 18, 0, tzinfo=UTC)
    second_opens = datetime(2026, 5, 14, 18, 0, tzinfo=UTC)

    assert schedule_for(first_run).opens_at(lesson) == first_opens
    assert schedule_for(second_run).opens_at(lesson) == second_opens
    # Open for the first cohort, still coming soon for the second, at the same moment.
    assert can_open_lesson(first_student, lesson, at=second_opens - SECOND)
    refusal = can_open_lesson(second_student, lesson, at=second_opens - SECOND)
    assert (refusal.reason, refusal.when) == (NOT_RELEASED, second_opens)


@pytest.mark.parametrize("start", [FIRST_START, SECOND_START])
def test_policy_refuses_a_second_before_the_release_and_allows_at_the_instant(lesson, start):
    run, student = run_with_student(lesson, start)
    instant = schedule_for(run).opens_at(lesson)

    before = can_open_lesson(student, lesson, at=instant - SECOND)
    assert (before.allowed, before.reason, before.when) == (False, NOT_RELEASED, instant)
    assert can_open_lesson(student, lesson, at=instant)
    assert can_open_lesson(student, lesson, at=instant + SECOND)


def test_per_run_override_wins_over_the_days_after_the_start(lesson):
    first_run, first_student = run_with_student(lesson, FIRST_START)
    second_run, second_student = run_with_student(lesson, SECOND_START)
    earlier = SECOND_START + timedelta(days=2, hours=3)
    ReleaseOverrideFactory(run=second_run, lesson=lesson, opens_at=earlier)

    assert schedule_for(second_run).opens_at(lesson) == earlier
    assert not can_open_lesson(second_student, lesson, at=earlier - SECOND)
    assert can_open_lesson(second_student, lesson, at=earlier)
    # The other run keeps its own date.
    assert schedule_for(first_run).opens_at(lesson) == datetime(2026, 3, 12, 18, 0, tzinfo=UTC)


def test_override_can_also_hold_a_lesson_back_for_one_run(lesson):
    run, student = run_with_student(lesson, FIRST_START)
    later = FIRST_START + timedelta(days=30)
    ReleaseOverrideFactory(run=run, lesson=lesson, opens_at=later)
    assert not can_open_lesson(student, lesson, at=later - SECOND)
    assert can_open_lesson(student, lesson, at=later)


def test_lesson_without_days_is_open_from_the_runs_start():
    lesson = LessonFactory(release_after_days=None)
    run, student = run_with_student(lesson, FIRST_START)
    assert schedule_for(run).opens_at(lesson) is None
    assert can_open_lesson(student, lesson, at=FIRST_START - SECOND).reason == NOT_STARTED
    assert can_open_lesson(student, lesson, at=FIRST_START)


def test_without_a_time_of_day_the_lesson_opens_at_the_runs_own_time(lesson):
    lesson.release_time = None
    run, _student = run_with_student(lesson, FIRST_START)
    assert opens_at(lesson, run=run) == FIRST_START + timedelta(days=10)


def test_days_are_counted_on_the_sites_calendar_across_daylight_saving(settings, lesson):
    settings.TIME_ZONE = "Europe/London"  # GMT in March, BST (UTC+1) from the 29th
    run, _student = run_with_student(lesson, FIRST_START)  # 09:00 GMT
    lesson.release_after_days, lesson.release_time = 30, time(9, 0)
    assert opens_at(lesson, run=run) == datetime(2026, 4, 1, 8, 0, tzinfo=UTC)  # 09:00 BST
    lesson.release_time = None
    assert opens_at(lesson, run=run) == datetime(2026, 4, 1, 8, 0, tzinfo=UTC)  # the run's 09:00, local


def test_visitors_and_staff_get_the_current_runs_dates(lesson):
    lesson.is_free_preview = True
    lesson.save()
    first_run, _ = run_with_student(lesson, FIRST_START)
    run_with_student(lesson, SECOND_START)
    during_first = FIRST_START + timedelta(days=5)

    visitor = course_access(AnonymousUser(), lesson.course, at=during_first)
    staff = course_access(StaffFactory(), lesson.course, at=during_first)
    assert visitor.run == staff.run == first_run
    assert visitor.lesson(lesson).when == datetime(2026, 3, 12, 18, 0, tzinfo=UTC)
    assert staff.lesson(lesson)  # staff open everything, released or not


def test_current_run_is_the_running_one_else_the_latest_started_else_the_first(lesson):
    course = lesson.course
    assert current_run(course=course) is None
    first, _ = run_with_student(lesson, FIRST_START)  # four-month tier: its window ends 2 July
    second, _ = run_with_student(lesson, SECOND_START)
    assert current_run(course=course, now=FIRST_START - SECOND) == first  # nothing started: the first
    assert current_run(course=course, now=FIRST_START + timedelta(days=1)) == first
    assert current_run(course=course, now=SECOND_START + timedelta(days=1)) == second  # both run: the latest
    assert current_run(course=course, now=SECOND_START + timedelta(days=400)) == second  # all ended: latest started


def test_override_must_name_a_lesson_of_the_runs_course(lesson):
    run, _ = run_with_student(lesson, FIRST_START)
    stranger = LessonFactory()
    with pytest.raises(ValidationError) as error:
        ReleaseOverride(run=run, lesson=stranger, opens_at=FIRST_START).full_clean()
    assert error.value.message_dict == {"lesson": [LESSON_OF_ANOTHER_COURSE]}


def test_a_time_of_day_needs_its_days(lesson):
    lesson.release_after_days = None
    with pytest.raises(ValidationError) as error:
        lesson.full_clean()
    assert error.value.message_dict == {"release_after_days": [RELEASE_TIME_WITHOUT_DAYS]}
