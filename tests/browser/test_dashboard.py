"""The instructor follows a run on the dashboard in Chromium: from the admin to the students table, filters
"behind", sorts by progress, exports the CSV (the same rows as the table), opens a student and extends their access.
Every dashboard page passes axe and fits 375 px (tables scroll inside their own box)."""

import csv
import io
from datetime import timedelta

import pytest
from django.utils import timezone
from playwright.sync_api import expect

from courses.models import LessonProgress
from enrollment.models import Extension
from tests.factories import (
    CourseFactory,
    EnrollmentFactory,
    LessonFactory,
    OfficeHoursTierFactory,
    RunFactory,
    SectionFactory,
    StaffFactory,
    ThreadFactory,
    TierFactory,
    UserFactory,
)

from .test_accessibility import PHONE_WIDTH, axe_findings, horizontal_overflow

pytestmark = pytest.mark.browser

# name -> lessons completed; six lessons open on days 0, 6, …, 30 of a run that started 40 days ago, so five
# were released two weeks ago: fewer than five completed is behind.
CLASS = {"Ada": 6, "Bob": 4, "Cy": 1, "Dee": 0, "Eve": 5, "Finn": 2}


@pytest.fixture
def cohort(live_server):
    now = timezone.now()
    course = CourseFactory(title="Dashboard course", slug="dash-course")
    section = SectionFactory(course=course)
    lessons = [LessonFactory(section=section, order=n, title=f"Lesson {n + 1}", video_minutes=4,
                             release_after_days=n * 6) for n in range(6)]  # fmt: skip
    run = RunFactory(course=course, title="Spring cohort", slug="spring", starts_at=now - timedelta(days=40))
    standard, office_hours = TierFactory(run=run), OfficeHoursTierFactory(run=run)
    enrollments = {}
    for n, (name, done) in enumerate(CLASS.items()):
        user = UserFactory(email=f"{name.lower()}@example.com", first_name=name, last_name="Student")
        enrollments[name] = EnrollmentFactory(user=user, run=run, tier=office_hours if n % 2 else standard)
        for k, lesson in enumerate(lessons[: done + 1]):
            LessonProgress.objects.create(
                user=user, lesson=lesson, updated_at=now - timedelta(days=20 - k), furthest_position=60.0 * (k + 1),
                completed_at=now - timedelta(days=20 - k) if k < done else None,
            )  # fmt: skip
    ThreadFactory(course=course, author=enrollments["Cy"].user, title="Stuck on lesson 2")
    return run, enrollments


def table(page):
    """The students table as the browser shows it: one list of cell texts per row, without the checkbox."""
    return page.evaluate(
        """() => Array.from(document.querySelectorAll('#students tbody tr')).map(
             (row) => Array.from(row.querySelectorAll('th, td')).slice(1).map((cell) => cell.innerText.trim()))"""
    )


def test_instructor_filters_sorts_exports_and_extends(live_server, page, log_in, cohort):
    run, enrollments = cohort
    log_in(StaffFactory())
    page.goto(f"{live_server.url}/admin/")
    page.get_by_role("link", name="Progress dashboard").click()
    page.get_by_role("link", name="Spring cohort").click()
    expect(page.get_by_role("heading", name="Students")).to_be_visible()

    page.get_by_label("Show").select_option("behind")
    page.get_by_role("button", name="Apply").click()
    expect(page.locator("#student-count")).to_contain_text("4 students match")
    page.get_by_role("link", name="Percent").click()
    page.get_by_role("link", name="Percent").click()  # the second click sorts from the most done
    expect(page.locator("th[data-column=percent]")).to_have_attribute("aria-sort", "descending")
    rows = table(page)
    assert [row[0] for row in rows] == ["Bob Student", "Finn Student", "Cy Student", "Dee Student"]
    assert [row[6] for row in rows] == ["4 of 6", "2 of 6", "1 of 6", "0 of 6"]

    with page.expect_download() as download:
        page.get_by_role("link", name="Export these as CSV").click()
    header, *lines = list(csv.reader(io.StringIO(open(download.value.path(), encoding="utf-8").read())))
    assert header[0] == "Name" and lines == rows
    assert download.value.suggested_filename == "spring-students-behind.csv"

    page.get_by_role("link", name="Cy Student").click()
    expect(page.get_by_role("heading", name="Cy Student")).to_be_visible()
    until = timezone.localdate() + timedelta(days=365)
    page.get_by_label("Access until").fill(until.isoformat())
    page.get_by_role("button", name="Extend access").click()
    expect(page.get_by_role("status").first).to_contain_text(f"Access extended to {until:%d %B %Y} for 1 student")
    expect(page.locator("#access-ends")).to_contain_text(f"{until.day} {until:%b %Y}")
    assert Extension.objects.get().enrollment == enrollments["Cy"]


def test_extend_several_from_the_table(live_server, page, log_in, cohort):
    run, enrollments = cohort
    log_in(StaffFactory())
    page.goto(f"{live_server.url}/staff/runs/{run.slug}/?show=behind")
    page.get_by_label("Choose Dee Student").check()
    page.get_by_label("Choose Finn Student").check()
    until = timezone.localdate() + timedelta(days=300)
    page.get_by_label("Access until").fill(until.isoformat())
    page.get_by_role("button", name="Extend access").click()
    expect(page.get_by_role("status").first).to_contain_text("for 2 student(s)")
    assert page.url.endswith("?show=behind")
    assert sorted(e.enrollment.user.first_name for e in Extension.objects.all()) == ["Dee", "Finn"]

    page.get_by_label("Choose every student on this page").check()
    expect(page.locator("#students tbody input[name=enrollment]:checked")).to_have_count(4)
    page.get_by_label("Choose every student on this page").uncheck()
    expect(page.locator("#students tbody input[name=enrollment]:checked")).to_have_count(0)


@pytest.mark.parametrize("width", [1280, PHONE_WIDTH])
def test_dashboard_pages_pass_axe_and_fit_a_phone(live_server, page, log_in, cohort, width):
    run, enrollments = cohort
    log_in(StaffFactory())
    page.set_viewport_size({"width": width, "height": 800})
    paths = {
        "index": "/staff/",
        "students": f"/staff/runs/{run.slug}/",
        "students, behind": f"/staff/runs/{run.slug}/?show=behind&sort=-percent",
        "student": f"/staff/runs/{run.slug}/students/{enrollments['Bob'].pk}/",
        "lessons": f"/staff/runs/{run.slug}/lessons/",
        "activity": f"/staff/runs/{run.slug}/activity/",
        "unanswered": f"/staff/runs/{run.slug}/unanswered/",
    }
    problems = {}
    for name, path in paths.items():
        assert page.goto(live_server.url + path).status == 200
        found = axe_findings(page) + ((horizontal_overflow(page) or []) if width == PHONE_WIDTH else [])
        if found:
            problems[name] = found
    assert not problems, problems
