"""The access policy (enrollment.access), asked at fixed moments."""

from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
from django.contrib.auth.models import AnonymousUser
from django.utils import timezone

from enrollment.access import (
    ACCESS_ENDED,
    CANCELLED,
    LOGIN_REQUIRED,
    MESSAGES,
    NOT_ENROLLED,
    NOT_RELEASED,
    NOT_STARTED,
    QUIZ_NOT_RELEASED,
    REFUNDED,
    Decision,
    can_download_resource,
    can_open_lesson,
    can_view_course_home,
    course_access,
)
from enrollment.models import Enrollment
from tests.factories import (
    EnrollmentFactory,
    LessonFactory,
    ResourceFactory,
    RunFactory,
    SectionFactory,
    StaffFactory,
    TierFactory,
    UserFactory,
)

pytestmark = pytest.mark.django_db

START = datetime(2026, 3, 10, 9, 0, tzinfo=UTC)
END = datetime(2026, 5, 10, 9, 0, tzinfo=UTC)  # two calendar months later


@pytest.fixture(autouse=True)
def utc_site(settings):
    settings.TIME_ZONE = "UTC"


@pytest.fixture
def lesson():
    return LessonFactory(slug="first")


@pytest.fixture
def run(lesson):
    run = RunFactory(course=lesson.course, starts_at=START)
    TierFactory(run=run, months=2)
    return run


def enrol(run, **kwargs):
    return EnrollmentFactory(run=run, **kwargs)


def test_anonymous_visitor_must_log_in(lesson, run):
    decision = can_open_lesson(AnonymousUser(), lesson, at=START + timedelta(days=1))
    assert not decision
    assert decision.reason == LOGIN_REQUIRED
    assert can_view_course_home(AnonymousUser(), lesson.course).reason == LOGIN_REQUIRED
    assert can_view_course_home(None, lesson.course).reason == LOGIN_REQUIRED


def test_user_without_enrollment_is_not_enrolled(lesson, run):
    user = UserFactory()
    assert can_open_lesson(user, lesson, at=START + timedelta(days=1)).reason == NOT_ENROLLED
    assert can_view_course_home(user, lesson.course, at=START + timedelta(days=1)).reason == NOT_ENROLLED


def test_enrolled_student_sees_the_course_home_before_the_start_but_no_lessons(lesson, run):
    student = enrol(run).user
    before = START - timedelta(days=2)
    assert can_view_course_home(student, lesson.course, at=before)
    decision = can_open_lesson(student, lesson, at=before)
    assert decision.reason == NOT_STARTED
    assert decision.when == START


def test_enrolled_student_opens_lessons_from_the_start_moment(lesson, run):
    student = enrol(run).user
    assert not can_open_lesson(student, lesson, at=START - timedelta(seconds=1))
    assert can_open_lesson(student, lesson, at=START)
    assert can_open_lesson(student, lesson, at=END - timedelta(seconds=1))


def test_expired_student_cannot_open_lesson(lesson, run):
    student = enrol(run).user
    decision = can_open_lesson(student, lesson, at=END)
    assert not decision
    assert decision.reason == ACCESS_ENDED
    assert decision.when == END
    assert can_view_course_home(student, lesson.course, at=END).reason == ACCESS_ENDED


def test_office_hours_tier_lasts_four_months(lesson, run):
    tier = TierFactory(run=run, kind="office-hours", name="Office hours", months=4)
    student = enrol(run, tier=tier).user
    assert can_open_lesson(student, lesson, at=END + timedelta(days=30))
    assert not can_open_lesson(student, lesson, at=datetime(2026, 7, 10, 9, 0, tzinfo=UTC))


def test_extension_keeps_access_open(lesson, run):
    student = enrol(run, extended_until=END + timedelta(days=14)).user
    assert can_open_lesson(student, lesson, at=END + timedelta(days=13))
    assert can_open_lesson(student, lesson, at=END + timedelta(days=14)).reason == ACCESS_ENDED


@pytest.mark.parametrize(
    ("status", "reason"), [(Enrollment.Status.REFUNDED, REFUNDED), (Enrollment.Status.CANCELLED, CANCELLED)]
)
def test_refunded_or_cancelled_student_sees_nothing(lesson, run, status, reason):
    student = enrol(run, status=status).user
    during = START + timedelta(days=5)
    assert can_open_lesson(student, lesson, at=during).reason == reason
    assert can_view_course_home(student, lesson.course, at=during).reason == reason


def test_unreleased_lesson_is_refused_with_its_release_date(lesson, run):
    student = enrol(run).user
    lesson.release_after_days = 10
    lesson.save()
    decision = can_open_lesson(student, lesson, at=START + timedelta(days=9))
    assert decision.reason == NOT_RELEASED
    assert decision.when == START + timedelta(days=10)
    assert can_open_lesson(student, lesson, at=START + timedelta(days=10))


def test_staff_see_everything_released_or_not(lesson, run):
    staff = StaffFactory()
    lesson.release_after_days = 300
    lesson.save()
    assert can_open_lesson(staff, lesson, at=START - timedelta(days=100))
    assert can_view_course_home(staff, lesson.course, at=END + timedelta(days=100))
    assert course_access(staff, lesson.course).days_left is None


def test_released_free_preview_is_public(lesson, run):
    lesson.is_free_preview = True
    lesson.save()
    at = START + timedelta(days=1)
    assert can_open_lesson(AnonymousUser(), lesson, at=at)
    assert can_open_lesson(enrol(run, status=Enrollment.Status.REFUNDED).user, lesson, at=at)
    assert not can_view_course_home(AnonymousUser(), lesson.course, at=at)


def test_unreleased_free_preview_is_refused(lesson, run):
    lesson.is_free_preview = True
    lesson.release_after_days = 0  # opens when the (current) run starts
    lesson.save()
    decision = can_open_lesson(AnonymousUser(), lesson, at=START - timedelta(minutes=1))
    assert decision.reason == NOT_RELEASED


def test_resource_follows_its_lesson(lesson, run):
    resource = ResourceFactory(lesson=lesson)
    student = enrol(run).user
    assert can_download_resource(student, resource, at=START + timedelta(days=1))
    assert can_download_resource(student, resource, at=END).reason == ACCESS_ENDED
    assert can_download_resource(UserFactory(), resource, at=START).reason == NOT_ENROLLED


def test_enrollment_in_another_course_gives_no_access(lesson, run):
    other_lesson = LessonFactory(section=SectionFactory())
    other_run = RunFactory(course=other_lesson.course, starts_at=START)
    student = enrol(other_run).user
    assert can_open_lesson(student, lesson, at=START + timedelta(days=1)).reason == NOT_ENROLLED


def test_current_enrollment_wins_over_an_ended_or_refunded_one(lesson, run):
    student = UserFactory()
    old_run = RunFactory(course=lesson.course, starts_at=START - timedelta(days=365))
    EnrollmentFactory(user=student, run=old_run)  # ended long ago
    refunded_run = RunFactory(course=lesson.course, starts_at=START - timedelta(days=30))
    EnrollmentFactory(user=student, run=refunded_run, status=Enrollment.Status.REFUNDED)
    EnrollmentFactory(user=student, run=run)
    assert can_open_lesson(student, lesson, at=START + timedelta(days=1))


def test_upcoming_enrollment_wins_over_an_ended_one(lesson, run):
    student = UserFactory()
    EnrollmentFactory(user=student, run=RunFactory(course=lesson.course, starts_at=START - timedelta(days=365)))
    EnrollmentFactory(user=student, run=run)
    decision = can_open_lesson(student, lesson, at=START - timedelta(days=1))
    assert decision.reason == NOT_STARTED  # not "access ended": the new run is about to start


def test_days_left_rounds_up(lesson, run):
    student = enrol(run).user
    assert course_access(student, lesson.course, at=END - timedelta(days=3, hours=1)).days_left == 4
    assert course_access(student, lesson.course, at=END - timedelta(days=3)).days_left == 3
    assert course_access(student, lesson.course, at=END + timedelta(days=3)).days_left == 0
    assert course_access(UserFactory(), lesson.course, at=START).days_left is None


def test_refusal_message_explains_with_the_date_in_the_viewers_zone():
    when = datetime(2026, 3, 10, 3, 30, tzinfo=UTC)
    decision = Decision(False, NOT_RELEASED, when)
    with timezone.override(ZoneInfo("UTC")):
        assert decision.message == "This lesson opens on 10 March 2026, 03:30."
    with timezone.override(ZoneInfo("America/Los_Angeles")):
        assert decision.message == "This lesson opens on 9 March 2026, 20:30."


@pytest.mark.parametrize("reason", sorted(MESSAGES))
def test_every_refusal_has_a_message_and_allowing_has_none(reason):
    decision = Decision(False, reason, START)
    assert decision.message
    assert "{when}" not in decision.message
    assert not decision
    assert Decision(True).message == ""
    assert Decision(True)


# --- a section's quiz ---


def test_a_quiz_opens_from_the_start_when_every_lesson_of_its_section_is_released(lesson, run):
    later = LessonFactory(section=lesson.section, slug="later", release_after_days=7)
    student = enrol(run).user
    lessons = [lesson, later]

    assert course_access(student, lesson.course, at=START - timedelta(days=1)).quiz(lessons).reason == NOT_STARTED
    waiting = course_access(student, lesson.course, at=START + timedelta(days=1)).quiz(lessons)
    assert (waiting.reason, waiting.when) == (QUIZ_NOT_RELEASED, START + timedelta(days=7))
    assert waiting.message == "This quiz opens on 17 March 2026, 09:00, with the last lesson of its section."
    assert course_access(student, lesson.course, at=START + timedelta(days=7)).quiz(lessons)
    assert course_access(student, lesson.course, at=END).quiz(lessons).reason == ACCESS_ENDED


def test_a_free_preview_lesson_does_not_open_the_quiz_to_visitors(lesson, run):
    lesson.is_free_preview = True
    lesson.save()
    at = START + timedelta(days=1)
    assert course_access(UserFactory(), lesson.course, at=at).quiz([lesson]).reason == NOT_ENROLLED
    assert course_access(AnonymousUser(), lesson.course, at=at).quiz([lesson]).reason == LOGIN_REQUIRED
    assert course_access(StaffFactory(), lesson.course, at=START - timedelta(days=9)).quiz([lesson])


def test_the_policy_sees_a_moved_start_a_longer_tier_and_a_refund_at_once(lesson, run):
    """The course's runs and tiers come from the cache (built once per content version); the enrollments never."""
    student = enrol(run, tier=run.tiers.get()).user
    during = START + timedelta(days=1)
    assert can_open_lesson(student, lesson, at=during)

    run.starts_at = START + timedelta(days=7)
    run.save()
    assert can_open_lesson(student, lesson, at=during).reason == NOT_STARTED

    tier = run.tiers.get()
    tier.months = 4
    tier.save()
    assert can_open_lesson(student, lesson, at=START + timedelta(days=7 + 90))

    Enrollment.objects.filter(user=student).update(status=Enrollment.Status.REFUNDED)
    assert can_open_lesson(student, lesson, at=START + timedelta(days=8)).reason == REFUNDED
