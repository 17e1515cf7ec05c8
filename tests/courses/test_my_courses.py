"""`/` for a logged-in student: their courses, current, upcoming and ended, each with progress and the next step."""

import zoneinfo
from datetime import UTC, datetime, timedelta

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import timezone

from enrollment.models import Enrollment
from tests.factories import (
    CourseFactory,
    EnrollmentFactory,
    LessonFactory,
    LessonProgressFactory,
    OfficeHoursTierFactory,
    RunFactory,
    SectionFactory,
    StaffFactory,
    TierFactory,
    UserFactory,
)

pytestmark = pytest.mark.django_db

# Enrollments, their runs' tiers, progress. Session and user come from the cache, and the courses' outlines too
# once built (once per content version: a cold cache builds them, a few queries per course).
MAX_QUERIES = 3


def course_with_lessons(title, count, *, slug=None):
    course = CourseFactory(title=title, **({"slug": slug} if slug else {}))
    section = SectionFactory(course=course, order=0)
    lessons = [LessonFactory(section=section, order=i, title=f"{title} lesson {i + 1}") for i in range(count)]
    return course, lessons


def page(client, user):
    client.force_login(user)
    response = client.get(reverse("home"))
    assert response.status_code == 200
    return response.content.decode()


def card(content, enrollment):
    """The HTML of one enrollment's card."""
    start = content.index(f'id="enrollment-{enrollment.pk}"')
    return content[start : content.index("</article>", start)]


def test_current_course_shows_progress_and_continues_with_the_next_lesson(client):
    course, lessons = course_with_lessons("Real-Time Video", 4)
    enrollment = EnrollmentFactory(run=RunFactory(course=course, title="Spring cohort"))
    now = timezone.now()
    LessonProgressFactory(user=enrollment.user, lesson=lessons[0], completed_at=now, updated_at=now)

    content = page(client, enrollment.user)

    assert "<h1>My courses</h1>" in content
    row = card(content, enrollment)
    assert "Real-Time Video" in row and "Spring cohort" in row
    assert "1 of 4 lessons" in row and "(25%)" in row
    lesson_url = reverse("courses:lesson", args=[course.slug, lessons[1].slug])
    assert f'href="{lesson_url}"' in row
    assert "Continue: Real-Time Video lesson 2" in row
    assert f'href="{reverse("courses:home", args=[course.slug])}"' in row


def test_a_student_who_has_not_started_is_offered_the_first_lesson(client):
    course, lessons = course_with_lessons("Video", 2)
    enrollment = EnrollmentFactory(run=RunFactory(course=course))

    row = card(page(client, enrollment.user), enrollment)

    assert "Start: Video lesson 1" in row and "0 of 2 lessons" in row


def test_upcoming_run_shows_its_start_in_the_viewers_zone(client):
    course, _ = course_with_lessons("Video", 2)
    year = timezone.now().year + 1
    starts_at = datetime(year, 1, 15, 17, 30, tzinfo=UTC)  # 09:30 in Los Angeles, 02:30 the 16th in Tokyo
    run = RunFactory(course=course, title="Next cohort", starts_at=starts_at)
    enrollment = EnrollmentFactory(run=run, user=UserFactory(timezone="Asia/Tokyo"))

    content = page(client, enrollment.user)

    assert "Starting soon" in content
    row = card(content, enrollment)
    local = starts_at.astimezone(zoneinfo.ZoneInfo("Asia/Tokyo"))
    assert f"Starts on <strong>{local:%A} 16 January {year}, 02:30 JST</strong>" in row
    assert "Continue" not in row and "Start:" not in row

    enrollment.user.timezone = "America/Los_Angeles"
    enrollment.user.save()
    row = card(page(client, enrollment.user), enrollment)
    local = starts_at.astimezone(zoneinfo.ZoneInfo("America/Los_Angeles"))
    assert f"Starts on <strong>{local:%A} 15 January {year}, 09:30 PST</strong>" in row


def test_ended_run_says_so_and_points_at_the_next_run(client):
    course, _ = course_with_lessons("Video", 2)
    run = RunFactory(course=course, starts_at=timezone.now() - timedelta(days=100))
    enrollment = EnrollmentFactory(run=run, tier=TierFactory(run=run, months=2))

    content = page(client, enrollment.user)

    assert '<h2 class="h4" id="ended-heading">Ended</h2>' in content
    row = card(content, enrollment)
    assert "Access ended on" in row and "see the next run" in row
    assert f'href="{course.get_absolute_url()}"' in row
    assert "Continue" not in row


@pytest.mark.parametrize(
    ("status", "says"),
    [
        (Enrollment.Status.REFUNDED, "This enrollment was refunded, so it no longer gives access."),
        (Enrollment.Status.CANCELLED, "This enrollment was cancelled, so it no longer gives access."),
    ],
)
def test_refunded_and_cancelled_enrollments_are_listed_as_ended_without_access(client, status, says):
    course, _ = course_with_lessons("Video", 2)
    enrollment = EnrollmentFactory(run=RunFactory(course=course), status=status)

    content = page(client, enrollment.user)

    row = card(content, enrollment)
    assert says in row
    assert "Continue" not in row and "Upgrade for" not in row
    assert reverse("courses:home", args=[course.slug]) not in row


def test_states_are_grouped_current_then_upcoming_then_ended(client):
    user = UserFactory()
    now = timezone.now()
    course, _ = course_with_lessons("Video", 1)
    ended = EnrollmentFactory(user=user, run=RunFactory(course=course, starts_at=now - timedelta(days=200)))
    upcoming = EnrollmentFactory(user=user, run=RunFactory(course=course, starts_at=now + timedelta(days=20)))
    other, _ = course_with_lessons("Audio", 1)
    current = EnrollmentFactory(user=user, run=RunFactory(course=other))

    content = page(client, user)

    positions = [content.index(f'id="enrollment-{e.pk}"') for e in (current, upcoming, ended)]
    assert positions == sorted(positions)


def test_a_logged_in_user_without_enrollments_is_invited_to_browse_the_course(client):
    course, _ = course_with_lessons("Real-Time Video", 1)

    content = page(client, UserFactory())

    assert "You are not enrolled in a course yet" in content
    assert "Browse the course" in content
    assert f'href="{course.get_absolute_url()}"' in content


def test_an_enrollment_in_an_unpublished_course_is_not_listed(client):
    course, _ = course_with_lessons("Hidden", 1)
    course.is_published = False
    course.save()
    enrollment = EnrollmentFactory(run=RunFactory(course=course))

    content = page(client, enrollment.user)

    assert "Hidden" not in content and "You are not enrolled in a course yet" in content


def test_staff_and_visitors_keep_todays_home(client):
    course, _ = course_with_lessons("Video", 1)
    assert client.get(reverse("home"))["Location"] == course.get_absolute_url()
    staff = StaffFactory()
    EnrollmentFactory(user=staff, run=RunFactory(course=course))
    client.force_login(staff)
    assert client.get(reverse("home"))["Location"] == reverse("courses:home", args=[course.slug])


# --- The upgrade button ---


def test_a_standard_student_is_offered_the_upgrade_for_the_difference(client):
    course, _ = course_with_lessons("Video", 1)
    run = RunFactory(course=course, enrollment_open=False)  # on sale or not: the seat is theirs
    standard = TierFactory(run=run, price="240.00", currency="EUR")
    OfficeHoursTierFactory(run=run, price="480.00", currency="EUR", name="With office hours")
    enrollment = EnrollmentFactory(run=run, tier=standard)

    row = card(page(client, enrollment.user), enrollment)

    assert "Upgrade for 240.00 EUR" in row
    assert f'action="{reverse("payments:upgrade", args=[enrollment.pk])}"' in row


def test_an_upcoming_standard_student_is_offered_the_upgrade_too(client):
    run = RunFactory(starts_at=timezone.now() + timedelta(days=10))
    standard = TierFactory(run=run, price="200.00")
    OfficeHoursTierFactory(run=run, price="400.00")
    enrollment = EnrollmentFactory(run=run, tier=standard)

    assert "Upgrade for 200.00 USD" in card(page(client, enrollment.user), enrollment)


@pytest.mark.parametrize("case", ["office-hours student", "access ended", "no office-hours tier", "other currency"])
def test_no_upgrade_is_offered_when_none_is_possible(client, case):
    started = timezone.now() - (timedelta(days=100) if case == "access ended" else timedelta(days=3))
    run = RunFactory(starts_at=started)
    standard = TierFactory(run=run, price="200.00")
    if case != "no office-hours tier":
        office_hours = OfficeHoursTierFactory(run=run, currency="EUR" if case == "other currency" else "USD")
    tier = office_hours if case == "office-hours student" else standard
    enrollment = EnrollmentFactory(run=run, tier=tier)

    assert "Upgrade for" not in card(page(client, enrollment.user), enrollment)


# --- Queries ---


def student_with(course_count, lessons_per_course, *, prefix):
    """A student in `course_count` courses (current, upcoming or ended; in every other course an ended
    run before it too), with half the lessons done."""
    user = UserFactory()
    now = timezone.now()
    for i in range(course_count):
        course, lessons = course_with_lessons(f"Course {i}", lessons_per_course, slug=f"{prefix}-{i}")
        starts = [now - timedelta(days=3), now + timedelta(days=30), now - timedelta(days=300)][i % 3]
        for when in [starts] if i % 2 else [starts, now - timedelta(days=400)]:
            run = RunFactory(course=course, starts_at=when)
            standard = TierFactory(run=run)
            OfficeHoursTierFactory(run=run)
            EnrollmentFactory(user=user, run=run, tier=standard)
        for lesson in lessons[::2]:
            LessonProgressFactory(user=user, lesson=lesson, completed_at=now, updated_at=now)
    return user


def queries_for(client, user):
    client.force_login(user)
    client.get(reverse("home"))  # what is built once per content version is built (a live site's cache is warm)
    with CaptureQueriesContext(connection) as captured:
        assert client.get(reverse("home")).status_code == 200
    return len(captured)


def test_my_courses_queries_do_not_grow_with_enrollments_or_lessons(client, django_assert_max_num_queries):
    small = queries_for(client, student_with(1, 2, prefix="small"))
    large_user = student_with(9, 30, prefix="large")
    large = queries_for(client, large_user)

    assert large == small, (small, large)
    client.force_login(large_user)
    client.get(reverse("home"))  # logging in saved the user (last login): the first request reads it again
    with django_assert_max_num_queries(MAX_QUERIES):
        client.get(reverse("home"))
