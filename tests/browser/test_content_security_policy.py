"""The Content Security Policy holds on the student's pages in a real browser: nothing is refused (so nothing
on the pages needs an inline script), and no page asks another host for anything but the lesson's own video
player (an embedded lesson) – no fonts, scripts, pixels or analytics from elsewhere."""

from urllib.parse import urlsplit

import pytest
from django.urls import reverse

from forum.services import create_default_boards, start_thread
from tests.factories import LessonFactory

from .helpers import DEMO_SLUG

pytestmark = pytest.mark.browser

PAGES = [
    "/",
    f"/courses/{DEMO_SLUG}/",
    f"/courses/{DEMO_SLUG}/faq/",
    f"/courses/{DEMO_SLUG}/learn/",
    f"/courses/{DEMO_SLUG}/lessons/webrtc-apis/",
    f"/courses/{DEMO_SLUG}/forum/",
    f"/courses/{DEMO_SLUG}/search/?q=webrtc",
    "/accounts/profile/",
]


def watch(page):
    """Collect the browser's CSP refusals and the hosts the page asked for."""
    seen = {"refused": [], "hosts": set()}
    page.on(
        "console", lambda message: "Content Security Policy" in message.text and seen["refused"].append(message.text)
    )
    page.on("request", lambda request: seen["hosts"].add(urlsplit(request.url).netloc))
    return seen


@pytest.fixture
def page(browser, live_server):
    """A page that keeps the site's policy (the other browser tests bypass it for Playwright's own scripts);
    conftest's log_in puts the session cookie into this page's context."""
    context = browser.new_context(viewport={"width": 1280, "height": 900})
    page = context.new_page()
    page.set_default_timeout(10_000)
    yield page
    context.close()


def test_student_pages_break_no_rule_and_ask_no_other_host(live_server, page, demo, log_in):
    board = create_default_boards(course=demo.course)[0]
    thread = start_thread(user=demo.student, board=board, title="Tracking?",
                          body="![pixel](https://tracker.example.com/p.gif)")  # fmt: skip
    log_in(demo.student)
    seen = watch(page)
    for path in PAGES:
        response = page.goto(live_server.url + path)
        assert response.ok, path
        policy = response.headers["content-security-policy"]
        assert (
            "script-src 'self';" in policy + ";" and "unsafe-inline" not in policy.split("script-src")[1].split(";")[0]
        )
    assert page.goto(live_server.url + reverse("forum:thread", args=[DEMO_SLUG, thread.pk])).ok
    page.wait_for_load_state("networkidle")

    assert seen["refused"] == []
    assert seen["hosts"] == {urlsplit(live_server.url).netloc}


def test_an_embedded_lesson_may_frame_its_own_player_only(live_server, page, demo, log_in):
    section = demo.course.sections.first()
    lesson = LessonFactory(section=section, slug="embedded", video_url="https://www.youtube.com/watch?v=dQw4w9WgXcQ",
                           is_free_preview=True)  # fmt: skip
    response = page.goto(live_server.url + lesson.get_absolute_url())

    policy = response.headers["content-security-policy"]
    assert "frame-src https://www.youtube-nocookie.com" in policy
    other = page.goto(f"{live_server.url}/courses/{DEMO_SLUG}/")
    assert "frame-src 'none'" in other.headers["content-security-policy"]


def test_the_admin_breaks_no_rule_either(live_server, page, demo, log_in):
    log_in(demo.instructor)
    seen = watch(page)
    lesson = demo.course.lessons.first()
    for path in [
        "/admin/",
        f"/admin/courses/lesson/{lesson.pk}/change/",
        f"/admin/courses/section/{lesson.section_id}/change/",
    ]:
        assert page.goto(live_server.url + path).ok, path

    assert seen["refused"] == []
