"""A second run: every page shows the dates of the viewer's own run, in the viewer's own zone."""

from dataclasses import dataclass
from datetime import UTC, datetime, time, timedelta
from io import BytesIO
from zoneinfo import ZoneInfo

import pytest
from django.test import Client
from django.urls import reverse
from django.utils import timezone
from django.utils.html import escape
from pypdf import PdfReader

from tests.factories import EnrollmentFactory, LessonFactory, RunFactory, SectionFactory, StaffFactory, TierFactory

pytestmark = pytest.mark.django_db

LOS_ANGELES = ZoneInfo("America/Los_Angeles")
TOKYO = ZoneInfo("Asia/Tokyo")


@dataclass
class Scene:
    course: object
    lesson: object
    first: object  # started 20 days ago
    second: object  # started 2 days ago
    on_sale: object  # starts in 30 days
    opens: dict  # run -> when the lesson opens for it


def opening(run, days=25):
    """When the lesson opens for the run: `days` after its start date, at 03:30 UTC (the site's zone here)."""
    return datetime.combine(run.starts_at.date() + timedelta(days=days), time(3, 30), tzinfo=UTC)


@pytest.fixture
def scene(settings):
    settings.TIME_ZONE = "UTC"
    now = timezone.now().replace(microsecond=0)
    section = SectionFactory(title="Only section")
    LessonFactory(section=section, slug="open", title="Open lesson", order=0)
    lesson = LessonFactory(
        section=section, slug="later", title="Later lesson", order=1, release_after_days=25, release_time=time(3, 30)
    )
    runs = []
    for days, is_open in ((-20, False), (-2, False), (30, True)):
        run = RunFactory(course=section.course, starts_at=now + timedelta(days=days), enrollment_open=is_open)
        TierFactory(run=run, months=2)
        runs.append(run)
    return Scene(section.course, lesson, *runs, opens={run: opening(run) for run in runs})


def student_client(run, zone):
    user = EnrollmentFactory(run=run, user__timezone=zone.key).user
    client = Client()
    client.force_login(user)
    return client


def home(client, course):
    response = client.get(reverse("courses:home", args=[course.slug]))
    assert response.status_code == 200
    return response.content.decode()


def coming_soon(when, zone):
    local = when.astimezone(zone)
    return f"Coming soon: {local.day} {local:%b %Y, %H:%M}"


def opens_on(when, zone):
    local = when.astimezone(zone)
    return f"This lesson opens on {local.day} {local:%B %Y, %H:%M}."


def test_students_of_two_runs_see_their_own_coming_soon_dates_on_the_course_home(scene):
    first, second = scene.opens[scene.first], scene.opens[scene.second]
    assert second - first == timedelta(days=18)

    first_page = home(student_client(scene.first, LOS_ANGELES), scene.course)
    second_page = home(student_client(scene.second, TOKYO), scene.course)

    assert coming_soon(first, LOS_ANGELES) in first_page
    assert coming_soon(second, TOKYO) in second_page
    assert coming_soon(second, LOS_ANGELES) not in first_page and coming_soon(first, TOKYO) not in second_page
    # The local dates differ from UTC's: 03:30 UTC is the evening before in Los Angeles.
    assert first.astimezone(LOS_ANGELES).day != first.day


def test_students_of_two_runs_are_told_their_own_date_on_the_lesson_page(scene):
    url = scene.lesson.get_absolute_url()
    for run, zone in ((scene.first, LOS_ANGELES), (scene.second, TOKYO)):
        response = student_client(run, zone).get(url)
        assert response.status_code == 403
        assert escape(opens_on(scene.opens[run], zone)) in response.content.decode()


def test_the_lesson_opens_for_the_first_run_while_the_second_still_waits(scene):
    first_opens = scene.opens[scene.first]
    # Make the first run's date pass: the run started 26 days ago instead of 20.
    scene.first.starts_at -= timedelta(days=6)
    scene.first.save()
    first_student, second_student = student_client(scene.first, LOS_ANGELES), student_client(scene.second, TOKYO)

    assert first_student.get(scene.lesson.get_absolute_url()).status_code == 200
    assert second_student.get(scene.lesson.get_absolute_url()).status_code == 403
    assert f'href="{scene.lesson.get_absolute_url()}"' in home(first_student, scene.course)
    assert "Coming soon" not in home(first_student, scene.course)
    assert first_opens - timedelta(days=6) < timezone.now()


def test_continue_offers_only_what_the_students_own_run_has_opened(scene):
    scene.first.starts_at -= timedelta(days=6)  # the lesson is open for the first run only
    scene.first.save()
    for run, offered in ((scene.first, "Later lesson"), (scene.second, "Open lesson")):
        client = student_client(run, LOS_ANGELES)
        client.post(reverse("courses:lesson_complete", args=[scene.course.slug, "open"]), {"completed": "1"})
        assert f'<p class="small mt-1 mb-0 text-body-secondary">{offered}</p>' in home(client, scene.course)


def test_staff_see_the_current_runs_dates_and_which_run_they_are(scene):
    client = Client()
    client.force_login(StaffFactory())
    page = home(client, scene.course)
    assert coming_soon(scene.opens[scene.second], UTC) in page  # the latest started run
    assert f"are those of {scene.second.title}" in page
    assert client.get(scene.lesson.get_absolute_url()).status_code == 200  # staff open it anyway


def test_landing_page_and_syllabus_pdf_show_the_dates_of_the_run_on_sale(scene):
    on_sale = scene.opens[scene.on_sale]
    landing = Client().get(scene.course.get_absolute_url()).content.decode()
    assert f"opens {on_sale.day} {on_sale:%b %Y, %H:%M}" in landing
    for run in (scene.first, scene.second):
        assert f"opens {scene.opens[run].day} {scene.opens[run]:%b %Y, %H:%M}" not in landing

    pdf = Client().get(reverse("courses:syllabus_pdf", args=[scene.course.slug]))
    text = "".join(page.extract_text() for page in PdfReader(BytesIO(pdf.content)).pages)
    assert f"opens {on_sale.day} {on_sale:%B %Y, %H:%M}" in " ".join(text.split())
