"""A student and a visitor in a real browser: log in, learn, mark progress; the public pages; time zones."""

import re
import zoneinfo
from datetime import UTC, datetime, time, timedelta
from urllib.parse import quote

import pytest
from playwright.sync_api import expect

from courses.models import LessonProgress
from tests.factories import EnrollmentFactory, LessonFactory, RunFactory, SectionFactory, UserFactory

from .helpers import COMING_SOON_SLUG, DEMO_SLUG, DEMO_STUDENT

pytestmark = pytest.mark.browser


def test_student_logs_in_completes_a_lesson_and_sees_progress(live_server, page, demo):
    email, password = DEMO_STUDENT
    page.goto(f"{live_server.url}/accounts/login/")
    page.get_by_label("Email").fill(email)
    page.get_by_label("Password").fill(password)
    page.get_by_role("button", name="Log in").click()
    # The home page lists the student's courses; the course home is one click away.
    expect(page).to_have_url(f"{live_server.url}/")
    expect(page.get_by_role("heading", level=1)).to_have_text("My courses")
    page.get_by_role("article", name="Advanced WebRTC Architecture").get_by_role("link", name="Course home").click()
    expect(page).to_have_url(f"{live_server.url}/courses/{DEMO_SLUG}/learn/")
    expect(page.get_by_role("heading", level=1)).to_have_text("Advanced WebRTC Architecture")
    expect(page.locator("#overall-progress-label")).to_contain_text("2 of 27 lessons and quizzes")
    call_flows_row = page.locator(".lesson-row", has=page.get_by_role("link", name="Call flows", exact=True))
    expect(call_flows_row.locator(".tick")).to_have_count(0)

    page.get_by_role("link", name="Call flows", exact=True).click()
    expect(page.get_by_role("heading", level=1)).to_have_text("Call flows")
    page.get_by_role("button", name="Mark complete").click()
    expect(page.get_by_role("status")).to_contain_text("Lesson marked complete.")
    expect(page.get_by_role("button", name="Mark as not complete")).to_be_visible()
    assert LessonProgress.objects.get(user=demo.student, lesson__slug="call-flows").completed_at is not None

    page.get_by_role("navigation", name="Breadcrumb").get_by_role("link", name="Advanced WebRTC Architecture").click()
    expect(page).to_have_url(f"{live_server.url}/courses/{DEMO_SLUG}/learn/")
    expect(page.locator("#overall-progress-label")).to_contain_text("3 of 27 lessons and quizzes")
    expect(call_flows_row.locator(".tick")).to_have_count(1)
    expect(call_flows_row).to_contain_text("Completed")
    first_section = page.locator(".syllabus > li").first
    expect(first_section).to_contain_text("3 of 5 done")  # 4 lessons and the section quiz


def test_visitor_sees_the_landing_page_and_is_sent_to_log_in_for_a_lesson(live_server, page, demo):
    page.goto(f"{live_server.url}/courses/{DEMO_SLUG}/")
    expect(page.get_by_role("heading", level=1)).to_have_text("Advanced WebRTC Architecture")
    syllabus = page.get_by_role("region", name="Syllabus")
    expect(syllabus.get_by_role("heading", name="1. The basics of WebRTC")).to_be_visible()
    expect(syllabus).to_contain_text("A review of the WebRTC APIs")
    tiers = page.get_by_role("region", name="Enrol")
    expect(tiers.get_by_role("heading", name="Standard")).to_be_visible()
    expect(tiers.get_by_role("heading", name="With office hours")).to_be_visible()
    expect(tiers).to_contain_text("240.00")
    expect(tiers).to_contain_text("480.00")

    lesson_path = f"/courses/{DEMO_SLUG}/lessons/call-flows/"
    page.goto(live_server.url + lesson_path)
    expect(page).to_have_url(re.compile(re.escape(f"/accounts/login/?next={quote(lesson_path, safe='/')}") + "$"))
    expect(page.get_by_label("Password")).to_be_visible()
    expect(page.get_by_text("Call flows")).to_have_count(0)

    # The free preview stays open to visitors.
    page.goto(f"{live_server.url}/courses/{DEMO_SLUG}/")
    page.get_by_role("link", name="What WebRTC is (and is not)").click()
    expect(page.get_by_role("heading", level=1)).to_have_text("What WebRTC is (and is not)")


def test_visitor_logs_in_from_a_lesson_and_lands_on_it(live_server, page, demo):
    lesson_path = f"/courses/{DEMO_SLUG}/lessons/call-flows/"
    page.goto(live_server.url + lesson_path)
    email, password = DEMO_STUDENT
    page.get_by_label("Email").fill(email)
    page.get_by_label("Password").fill(password)
    page.get_by_role("button", name="Log in").click()
    expect(page).to_have_url(live_server.url + lesson_path)
    expect(page.get_by_role("heading", level=1)).to_have_text("Call flows")


def test_coming_soon_date_is_shown_in_the_students_time_zone(live_server, page, log_in, settings):
    settings.TIME_ZONE = "UTC"
    run = RunFactory()  # started 3 days ago
    # 03:30 UTC is the evening before in Los Angeles, so both the day and the hour differ.
    release_utc = datetime.combine(run.starts_at.date() + timedelta(days=13), time(3, 30), tzinfo=UTC)
    section = SectionFactory(course=run.course)
    LessonFactory(section=section, title="Opens later", release_after_days=13, release_time=time(3, 30))
    student = EnrollmentFactory(run=run, user=UserFactory(timezone="America/Los_Angeles")).user
    log_in(student)

    page.goto(f"{live_server.url}/courses/{run.course.slug}/learn/")
    local = release_utc.astimezone(zoneinfo.ZoneInfo("America/Los_Angeles"))
    expected = f"{local.day} {local:%b %Y, %H:%M}"
    in_utc = f"{release_utc.day} {release_utc:%b %Y, %H:%M}"
    row = page.locator(".lesson-row", has_text="Opens later")
    expect(row).to_contain_text(f"Coming soon: {expected}")
    expect(row).not_to_contain_text(in_utc)
    expect(page.get_by_role("contentinfo")).to_contain_text("America/Los_Angeles")


def test_coming_soon_lesson_is_refused_with_its_date(live_server, page, demo, log_in):
    log_in(demo.student)
    response = page.goto(f"{live_server.url}/courses/{DEMO_SLUG}/lessons/{COMING_SOON_SLUG}/")
    assert response.status == 403
    expect(page.get_by_role("heading", level=1)).to_have_text("Recording")
    expect(page.get_by_role("alert")).to_contain_text("This lesson opens on")
    page.get_by_role("link", name="Back to the course").click()
    expect(page).to_have_url(f"{live_server.url}/courses/{DEMO_SLUG}/learn/")
