"""Course search in a real browser: from the course home's box to a video moment; the results page's accessibility."""

import pytest
from playwright.sync_api import expect

from .helpers import DEMO_SLUG, video_time, wait_for_video_metadata
from .test_accessibility import PHONE_WIDTH, axe_findings, horizontal_overflow

pytestmark = pytest.mark.browser


def test_a_transcript_hit_starts_the_video_at_its_second(live_server, page, log_in, video_lesson):
    log_in(video_lesson.student)
    page.goto(f"{live_server.url}/courses/{video_lesson.lesson.course.slug}/learn/")

    page.get_by_label("Search this course").fill("details")
    page.get_by_role("button", name="Search").click()

    expect(page.get_by_role("heading", name="Video transcripts")).to_be_visible()
    hit = page.get_by_role("link", name="Transcript at 0:30")
    expect(hit).to_have_attribute("href", f"{video_lesson.lesson.get_absolute_url()}?t=30")
    hit.click()

    page.wait_for_url(f"**{video_lesson.lesson.get_absolute_url()}?t=30")
    wait_for_video_metadata(page)
    page.wait_for_function("document.getElementById('lesson-video').currentTime > 0")
    assert abs(video_time(page) - 30) < 1
    expect(page.locator("#linked-note")).to_be_visible()


def test_no_results_says_what_to_do(live_server, page, log_in, video_lesson):
    log_in(video_lesson.student)
    page.goto(f"{live_server.url}/courses/{video_lesson.lesson.course.slug}/search/?q=zzzqqq")

    expect(page.get_by_role("status")).to_have_text("No results for “zzzqqq” – try fewer words.")


@pytest.mark.parametrize("width", [PHONE_WIDTH, 1280])
def test_results_page_is_accessible_and_fits(live_server, page, demo, log_in, width):
    page.set_viewport_size({"width": width, "height": 800})
    log_in(demo.student)
    page.goto(f"{live_server.url}/courses/{DEMO_SLUG}/search/?q=lesson")
    expect(page.locator(".search-result").first).to_be_visible()
    expect(page.get_by_role("heading", name="Video transcripts")).to_be_visible()

    assert axe_findings(page) == []
    if width == PHONE_WIDTH:
        assert horizontal_overflow(page) is None
