"""The landing page is built from cached parts: a change in the admin still shows on the next visit."""

from datetime import UTC, datetime, time, timedelta
from zoneinfo import ZoneInfo

import pytest
from django.urls import reverse

from enrollment.models import ReleaseOverride
from enrollment.releases import opens_at
from tests.factories import (
    CourseFactory,
    FAQEntryFactory,
    LessonFactory,
    OfficeHoursTierFactory,
    RunFactory,
    StaffFactory,
    TierFactory,
    UserFactory,
    WeeklySlotFactory,
)

pytestmark = pytest.mark.django_db


@pytest.fixture
def course():
    course = CourseFactory(title="Real-Time Video", slug="real-time-video")
    LessonFactory(section__course=course, title="Capture and encode", order=0)
    LessonFactory(section__course=course, title="Congestion control", order=1, release_after_days=7)
    return course


@pytest.fixture
def run(course):
    run = RunFactory(
        course=course,
        title="Spring cohort",
        enrollment_open=True,
        starts_at=datetime(2031, 3, 2, 16, 0, tzinfo=UTC),
    )
    TierFactory(run=run, name="Standard access", price="240.00")
    return run


def landing(client, course, status=200):
    response = client.get(reverse("courses:landing", args=[course.slug]))
    assert response.status_code == status
    return response.content.decode()


def test_a_renamed_lesson_a_new_faq_and_a_new_description_show_at_once(client, course, run):
    assert "Capture and encode" in landing(client, course)

    lesson = course.lessons.get(title="Capture and encode")
    lesson.title = "Capture, encode and send"
    lesson.save()
    FAQEntryFactory(course=course, question="Is there a certificate?")
    course.description = "Now with **exercises**."
    course.save()

    content = landing(client, course)
    assert "Capture, encode and send" in content and "Capture and encode<" not in content
    assert "Is there a certificate?" in content
    assert "Now with <strong>exercises</strong>." in content


def test_new_prices_tiers_and_release_dates_show_at_once(client, course, run):
    content = landing(client, course)
    assert "240.00" in content and "opens 9 Mar 2031" in content

    tier = run.tiers.get()
    tier.price = "199.00"
    tier.save()
    OfficeHoursTierFactory(run=run, name="Office hours access", price="480.00")
    ReleaseOverride.objects.create(
        run=run, lesson=course.lessons.get(title="Congestion control"), opens_at=datetime(2031, 4, 1, 9, 0, tzinfo=UTC)
    )

    content = landing(client, course)
    assert "199.00" in content and "240.00" not in content
    assert "Office hours access" in content and "480.00" in content
    assert "opens 1 Apr 2031, 09:00" in content and "opens 9 Mar 2031" not in content


def test_a_run_taken_off_sale_and_a_new_one_show_at_once(client, course, run):
    assert "Spring cohort" in landing(client, course)

    run.enrollment_open = False
    run.save()
    assert "Enrolment is closed for now." in landing(client, course)

    autumn = RunFactory(
        course=course, title="Autumn cohort", enrollment_open=True, starts_at=run.starts_at + timedelta(days=180)
    )
    TierFactory(run=autumn, name="Autumn access")
    content = landing(client, course)
    assert "Autumn cohort" in content and "Autumn access" in content


def test_office_hours_follow_the_weekly_slots(client, course, run):
    OfficeHoursTierFactory(run=run, name="Office hours access")
    slot = WeeklySlotFactory(run=run, weekday=0, local_time=time(8, 0), timezone="Asia/Jerusalem")
    assert "Office hours: Mondays 08:00 Asia/Jerusalem" in landing(client, course)

    slot.local_time = time(9, 30)
    slot.save()
    assert "Office hours: Mondays 09:30 Asia/Jerusalem" in landing(client, course)

    slot.delete()
    assert "Office hours: Mondays" not in landing(client, course)


def test_each_visitor_sees_the_dates_in_their_own_zone(client, course, run):
    tokyo, chicago = UserFactory(timezone="Asia/Tokyo"), UserFactory(timezone="America/Chicago")
    opens = opens_at(course.lessons.get(title="Congestion control"), run=run)

    client.force_login(tokyo)
    in_tokyo = landing(client, course)
    client.force_login(chicago)
    in_chicago = landing(client, course)

    in_zone = {
        zone: f"opens {opens.astimezone(ZoneInfo(zone)):%-d %b %Y, %H:%M}" for zone in ("Asia/Tokyo", "America/Chicago")
    }
    assert in_zone["Asia/Tokyo"] != in_zone["America/Chicago"]
    assert in_zone["Asia/Tokyo"] in in_tokyo and in_zone["America/Chicago"] not in in_tokyo
    assert in_zone["America/Chicago"] in in_chicago and in_zone["Asia/Tokyo"] not in in_chicago


def test_a_course_moved_to_a_new_address_or_unpublished_leaves_the_old_one_at_once(client, course, run):
    landing(client, course)

    course.slug = "real-time-video-2031"
    course.save()
    assert client.get("/courses/real-time-video/").status_code == 404
    assert "Real-Time Video" in landing(client, course)

    course.is_published = False
    course.save()
    landing(client, course, status=404)
    client.force_login(StaffFactory())
    assert "Real-Time Video" in landing(client, course)  # staff preview an unpublished course


def test_a_deleted_course_is_gone_at_once(client):
    course = CourseFactory(slug="short-lived")
    landing(client, course)
    course.delete()
    assert client.get("/courses/short-lived/").status_code == 404


def test_the_landing_page_of_a_visitor_asks_the_database_nothing_once_cached(
    client, course, run, django_assert_num_queries
):
    landing(client, course)
    with django_assert_num_queries(0):
        assert "Spring cohort" in landing(client, course)
