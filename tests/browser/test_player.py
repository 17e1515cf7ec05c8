"""The course player in a real browser: the outline, "Complete and continue", a video watched to the end,
the keyboard, and a phone's drawer; axe-core finds nothing serious and nothing scrolls sideways."""

import re

import pytest
from playwright.sync_api import expect

from courses.models import LessonProgress
from courses.views import MARKED_COMPLETE

from .helpers import COMING_SOON_SLUG, DEMO_SLUG, wait_for_video_metadata, wait_until
from .test_accessibility import PHONE_WIDTH, axe_findings, horizontal_overflow

pytestmark = pytest.mark.browser


def lesson_url(live_server, slug):
    return f"{live_server.url}/courses/{DEMO_SLUG}/lessons/{slug}/"


def outline_row(page, title):
    return page.locator("#course-outline .outline-lesson", has_text=title)


def is_completed(student, slug):
    return LessonProgress.objects.filter(user=student, lesson__slug=slug, completed_at__isnull=False).exists()


def test_student_goes_through_a_section_with_complete_and_continue(live_server, page, demo, log_in):
    log_in(demo.student)
    page.goto(lesson_url(live_server, "call-flows"))
    outline = page.get_by_role("navigation", name="Course outline")
    expect(outline.get_by_role("link", name="Call flows")).to_have_attribute("aria-current", "page")
    expect(outline_row(page, "A review of the WebRTC APIs")).to_contain_text("Completed:")
    expect(outline_row(page, "Call flows")).not_to_contain_text("Completed:")

    page.get_by_role("button", name="Complete and continue").click()
    expect(page.get_by_role("heading", level=1)).to_have_text("Where WebRTC is used")
    expect(page.get_by_role("status")).to_contain_text(MARKED_COMPLETE)
    expect(outline_row(page, "Call flows")).to_contain_text("Completed:")
    expect(outline.get_by_role("link", name="Where WebRTC is used")).to_have_attribute("aria-current", "page")

    # The section's last lesson continues into the section's quiz (the demo's first section has one), and the
    # quiz's outline entry leads on to the next section.
    page.get_by_role("button", name="Complete and continue").click()
    expect(page.get_by_role("heading", level=1)).to_have_text("The basics: check yourself")
    page.goto(lesson_url(live_server, "tcp-and-udp"))
    expect(page.locator("#outline-progress")).to_have_text("4 of 27 lessons and quizzes done")
    first_section = page.locator(".outline-section").first
    expect(first_section).to_contain_text("4 of 5 done")
    expect(first_section.get_by_role("link", name="Quiz: The basics: check yourself")).to_be_visible()
    assert is_completed(demo.student, "call-flows") and is_completed(demo.student, "webrtc-in-the-industry")


def test_the_outline_shows_locks_with_dates_and_continue_skips_them(live_server, page, demo, log_in):
    log_in(demo.student)
    page.goto(lesson_url(live_server, "simulcast-svc"))
    locked = outline_row(page, "Recording")
    expect(locked).to_contain_text("Locked:")
    expect(locked).to_contain_text(re.compile(r"Opens \d{1,2} \w{3} \d{4}, \d\d:\d\d"))
    expect(locked.get_by_role("link")).to_have_count(0)
    lessons_nav = page.get_by_role("navigation", name="Lessons")
    expect(lessons_nav.get_by_role("link", name=re.compile("Next"))).to_have_text(
        re.compile("Open source media servers")
    )
    expect(lessons_nav).to_contain_text("Coming later: “Recording” opens on")

    page.get_by_role("button", name="Complete and continue").click()
    expect(page.get_by_role("heading", level=1)).to_have_text("Open source media servers")
    expect(page).to_have_url(lesson_url(live_server, "open-source-media-servers"))
    assert not LessonProgress.objects.filter(user=demo.student, lesson__slug=COMING_SOON_SLUG).exists()


def test_watching_the_video_to_the_end_ticks_the_lesson_without_a_reload(live_server, page, demo, log_in):
    log_in(demo.student)
    page.goto(lesson_url(live_server, "call-flows"))
    wait_for_video_metadata(page)
    page.evaluate("window.samePage = true")
    row = outline_row(page, "Call flows")
    expect(row.locator(".tick")).to_have_count(0)

    # Jump near the end while playing (that saves nothing), then let it play to the end.
    page.evaluate("""async () => {
      const video = document.getElementById('lesson-video');
      video.muted = true;
      await video.play();
      await new Promise((resolve) => {
        video.addEventListener('seeked', resolve, { once: true });
        video.currentTime = video.duration - 3;
      });
    }""")
    page.wait_for_function("document.getElementById('lesson-video').ended", timeout=15_000)

    expect(row.locator(".tick")).to_have_count(1)
    expect(row).to_contain_text("Completed:")
    expect(page.locator("#player-status")).to_contain_text("marked complete")
    expect(page.locator("#outline-progress")).to_have_text("3 of 27 lessons and quizzes done")
    assert page.evaluate("window.samePage") is True  # no reload
    assert wait_until(lambda: is_completed(demo.student, "call-flows"))


def focused_label(page):
    return page.evaluate("document.activeElement.innerText || document.activeElement.getAttribute('aria-label') || ''")


def tab_to(page, name, *, limit=120):
    """Press Tab until the focused element's text holds `name`; fail after `limit` presses."""
    for _ in range(limit):
        page.keyboard.press("Tab")
        if name in focused_label(page):
            return
    pytest.fail(f"Tab never reached {name!r}")


def test_keyboard_only_through_a_lesson(live_server, page, demo, log_in):
    log_in(demo.student)
    page.goto(lesson_url(live_server, "call-flows"))
    wait_for_video_metadata(page)

    # The first Tab offers the skip link; the outline offers one to the lesson.
    page.keyboard.press("Tab")
    expect(page.get_by_role("link", name="Skip to content")).to_be_focused()
    tab_to(page, "Skip to the lesson")
    page.keyboard.press("Enter")
    expect(page.locator("#lesson-content")).to_be_focused()

    # The player: the transcript seeks the video from the keyboard.
    tab_to(page, "0:25")
    page.keyboard.press("Enter")
    page.wait_for_function("Math.abs(document.getElementById('lesson-video').currentTime - 25) < 0.5")

    tab_to(page, "Complete and continue")
    button = page.get_by_role("button", name="Complete and continue")
    expect(button).to_be_focused()
    ring = button.evaluate("(el) => getComputedStyle(el).boxShadow + ' ' + getComputedStyle(el).outlineStyle")
    assert ring != "none none", "the focused button shows no focus ring"
    page.keyboard.press("Enter")
    expect(page.get_by_role("heading", level=1)).to_have_text("Where WebRTC is used")
    assert is_completed(demo.student, "call-flows")


def test_phone_drawer_opens_and_closes_with_the_keyboard(live_server, page, demo, log_in):
    page.set_viewport_size({"width": PHONE_WIDTH, "height": 740})
    log_in(demo.student)
    page.goto(lesson_url(live_server, "call-flows"))
    outline = page.get_by_role("navigation", name="Course outline")
    expect(outline).to_be_hidden()

    tab_to(page, "Course outline")
    page.keyboard.press("Enter")
    drawer = page.get_by_role("dialog", name="Course outline")
    expect(drawer).to_be_visible()
    current = outline.get_by_role("link", name="Call flows")
    expect(current).to_be_focused()  # the drawer opens at the current lesson
    expect(current).to_be_in_viewport()
    page.keyboard.press("Tab")
    assert page.evaluate("document.getElementById('course-outline').contains(document.activeElement)")
    page.keyboard.press("Escape")
    expect(drawer).to_be_hidden()
    expect(page.get_by_role("button", name="Course outline")).to_be_focused()

    page.get_by_role("button", name="Course outline").click()
    outline.get_by_role("link", name="Where WebRTC is used").click()
    expect(page.get_by_role("heading", level=1)).to_have_text("Where WebRTC is used")


@pytest.mark.parametrize("width", [1280, PHONE_WIDTH])
def test_lesson_with_outline_passes_axe_and_fits_the_screen(live_server, page, demo, log_in, width):
    page.set_viewport_size({"width": width, "height": 800})
    log_in(demo.student)
    for slug in ("simulcast-svc", "webrtc-in-the-industry"):
        page.goto(lesson_url(live_server, slug))
        if page.locator("#lesson-video").count():
            wait_for_video_metadata(page)
        assert axe_findings(page) == [], slug
        if width == PHONE_WIDTH:
            assert horizontal_overflow(page) is None, slug
            page.get_by_role("button", name="Course outline").click()
            expect(page.get_by_role("dialog", name="Course outline")).to_be_visible()
            page.wait_for_timeout(400)  # the drawer's slide-in
            assert axe_findings(page) == [], f"{slug}, drawer open"
            assert horizontal_overflow(page) is None, f"{slug}, drawer open"
