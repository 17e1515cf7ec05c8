"""A large course in a real browser: the course home and the lesson outline show the section a student needs
first; the other sections' headings are buttons that load their lessons from the keyboard, say whether they
are open (aria-expanded) and keep the focus; without script, the heading is a link to the page with that
section open. axe-core finds nothing serious with a section loaded."""

from datetime import timedelta

import pytest
from django.conf import settings
from django.test import Client
from django.utils import timezone
from playwright.sync_api import expect

from courses.models import Lesson, LessonProgress
from courses.outline import OUTLINE_IN_FULL
from tests.factories import EnrollmentFactory, RunFactory, SectionFactory

from .test_accessibility import axe_findings

pytestmark = pytest.mark.browser

PER_SECTION = 30


@pytest.fixture
def big(live_server):
    """Four sections of 30 lessons, and a student who has done the first lesson of the first section and is
    working in the third."""
    run = RunFactory()
    sections = [SectionFactory(course=run.course, title=f"Part {n}", order=n) for n in range(1, 5)]
    lessons = [
        Lesson(course=run.course, section=section, title=f"Part {n} lesson {i}", slug=f"p{n}-l{i}", order=i)
        for n, section in enumerate(sections, start=1)
        for i in range(PER_SECTION)
    ]
    Lesson.objects.bulk_create(lessons)
    assert len(lessons) > OUTLINE_IN_FULL
    student = EnrollmentFactory(run=run).user
    now = timezone.now()
    done = now - timedelta(hours=1)
    first, working = Lesson.objects.get(slug="p1-l0"), Lesson.objects.get(slug="p3-l2")
    LessonProgress.objects.create(user=student, lesson=first, completed_at=done, updated_at=done)
    LessonProgress.objects.create(user=student, lesson=working, updated_at=now)
    return run.course, student


def home(live_server, course):
    return f"{live_server.url}/courses/{course.slug}/learn/"


def test_a_collapsed_section_loads_and_closes_from_the_keyboard_on_the_course_home(live_server, page, log_in, big):
    course, student = big
    log_in(student)
    page.goto(home(live_server, course))
    expect(page.get_by_role("link", name="Part 3 lesson 2", exact=True)).to_be_visible()  # where to continue
    toggle = page.get_by_role("button", name="1. Part 1")
    expect(toggle).to_have_attribute("aria-expanded", "false")
    first = page.get_by_role("link", name="Part 1 lesson 0", exact=True)
    expect(first).to_have_count(0)

    page.get_by_role("link", name="Skip to content").focus()
    for _ in range(40):  # Tab reaches the section's button
        page.keyboard.press("Tab")
        if page.evaluate("document.activeElement.classList.contains('section-toggle')"):
            break
    expect(toggle).to_be_focused()
    page.keyboard.press("Enter")
    expect(toggle).to_have_attribute("aria-expanded", "true")
    expect(first).to_be_visible()
    expect(toggle).to_be_focused()
    lessons = page.locator(f"#{toggle.get_attribute('aria-controls')}")
    expect(lessons.locator(".lesson-row")).to_have_count(PER_SECTION)
    expect(lessons.locator(".lesson-row").first).to_contain_text("Completed:")
    assert axe_findings(page) == []

    page.keyboard.press("Tab")
    expect(first).to_be_focused()  # the next stop is the section's first lesson
    page.keyboard.press("Shift+Tab")
    page.keyboard.press("Space")
    expect(toggle).to_have_attribute("aria-expanded", "false")
    expect(first).to_be_hidden()
    expect(toggle).to_be_focused()
    page.keyboard.press("Enter")  # again: shown at once
    expect(first).to_be_visible()

    first.click()
    expect(page.get_by_role("heading", level=1)).to_have_text("Part 1 lesson 0")


def test_the_lesson_outline_loads_another_section_from_the_keyboard(live_server, page, log_in, big):
    course, student = big
    log_in(student)
    page.goto(f"{live_server.url}/courses/{course.slug}/lessons/p3-l2/")
    outline = page.get_by_role("navigation", name="Course outline")
    expect(outline.get_by_role("link", name="Part 3 lesson 2", exact=True)).to_have_attribute("aria-current", "page")
    expect(outline.locator(".outline-lesson")).to_have_count(PER_SECTION)
    toggle = outline.get_by_role("button", name="1. Part 1")
    expect(toggle).to_have_attribute("aria-expanded", "false")

    toggle.focus()
    page.keyboard.press("Enter")
    expect(toggle).to_have_attribute("aria-expanded", "true")
    expect(toggle).to_be_focused()
    row = outline.locator(".outline-lesson", has_text="Part 1 lesson 0")
    expect(row).to_contain_text("Completed:")
    expect(outline.locator(".outline-lesson")).to_have_count(2 * PER_SECTION)
    assert axe_findings(page) == []
    page.keyboard.press("Tab")
    expect(outline.get_by_role("link", name="Part 1 lesson 0", exact=True)).to_be_focused()
    page.keyboard.press("Enter")
    expect(page.get_by_role("heading", level=1)).to_have_text("Part 1 lesson 0")


def test_without_script_a_sections_heading_opens_the_page_with_its_lessons(live_server, browser, big):
    course, student = big
    client = Client()
    client.force_login(student)
    context = browser.new_context(java_script_enabled=False)
    cookie = client.cookies[settings.SESSION_COOKIE_NAME]
    context.add_cookies([{"name": cookie.key, "value": cookie.value, "url": live_server.url}])
    page = context.new_page()
    try:
        page.goto(home(live_server, course))
        page.get_by_role("link", name="4. Part 4").click()
        expect(page).to_have_url(f"{home(live_server, course)}?section={course.sections.get(title='Part 4').pk}"
                                 f"#section-{course.sections.get(title='Part 4').pk}")  # fmt: skip
        expect(page.get_by_role("link", name="Part 4 lesson 29", exact=True)).to_be_visible()
        expect(page.get_by_role("link", name="Part 3 lesson 2", exact=True)).to_be_visible()
    finally:
        context.close()
