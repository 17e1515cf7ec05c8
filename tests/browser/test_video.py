"""The lesson video in a real browser: resume where the student stopped, playback speed, transcript seeking."""

import pytest
from playwright.sync_api import expect

from courses.models import LessonProgress

from .helpers import seek_video, video_time, wait_for_video_metadata, wait_until

pytestmark = pytest.mark.browser


def saved_position(video_lesson):
    """The stored position, or None before any (opening the page records the lesson as opened, at 0 s)."""
    progress = LessonProgress.objects.filter(user=video_lesson.student, lesson=video_lesson.lesson).first()
    return progress.video_position if progress and progress.video_position else None


def test_video_resumes_where_the_student_paused(live_server, page, log_in, video_lesson):
    log_in(video_lesson.student)
    page.goto(video_lesson.url)
    wait_for_video_metadata(page)
    assert video_time(page) == 0
    expect(page.locator("#resume-note")).to_have_count(0)

    # Seeking while paused saves the place at once (a fetch POST to the position URL).
    with page.expect_response(lambda response: response.url.endswith("/position/")) as saved:
        seek_video(page, 20.4)
    assert saved.value.status == 200
    assert saved_position(video_lesson) == 20

    page.goto(video_lesson.url)
    wait_for_video_metadata(page)
    page.wait_for_function("document.getElementById('lesson-video').currentTime > 0")
    assert abs(video_time(page) - 20) < 1
    expect(page.locator("#resume-note")).to_be_visible()


def test_video_position_is_saved_when_the_page_closes(live_server, page, log_in, video_lesson):
    log_in(video_lesson.student)
    # Switch off the page's periodic save, so that only leaving the page can save the position.
    page.add_init_script("window.setInterval = function () { return 0; };")
    page.goto(video_lesson.url)
    wait_for_video_metadata(page)
    # Play (muted, so the browser allows it) and jump ahead while playing: a seek while playing saves nothing.
    page.evaluate("""async () => {
      const video = document.getElementById('lesson-video');
      video.muted = true;
      await video.play();
      await new Promise((resolve) => {
        video.addEventListener('seeked', resolve, { once: true });
        video.currentTime = 40;
      });
    }""")
    page.wait_for_function("document.getElementById('lesson-video').currentTime >= 40.5")
    assert saved_position(video_lesson) is None
    context = page.context

    page.close(run_before_unload=True)  # pagehide / visibilitychange → navigator.sendBeacon
    assert wait_until(lambda: saved_position(video_lesson) is not None), "the beacon never reached the server"
    assert 40 <= saved_position(video_lesson) <= 45
    progress = LessonProgress.objects.get(user=video_lesson.student, lesson=video_lesson.lesson)
    assert progress.furthest_position == progress.video_position  # the dashboard's drop-off reads the furthest point

    again = context.new_page()
    again.goto(video_lesson.url)
    wait_for_video_metadata(again)
    again.wait_for_function("document.getElementById('lesson-video').currentTime > 0")
    assert abs(video_time(again) - saved_position(video_lesson)) < 1


def test_speed_selector_and_transcript_control_the_video(live_server, page, log_in, video_lesson):
    log_in(video_lesson.student)
    page.goto(video_lesson.url)
    wait_for_video_metadata(page)

    page.get_by_label("Speed").select_option("1.5")
    assert page.evaluate("document.getElementById('lesson-video').playbackRate") == 1.5
    # The chosen speed is remembered for the next lesson page.
    page.reload()
    wait_for_video_metadata(page)
    expect(page.get_by_label("Speed")).to_have_value("1.5")
    assert page.evaluate("document.getElementById('lesson-video').playbackRate") == 1.5

    transcript = page.locator(".transcript")
    transcript.get_by_role("button", name="0:30").click()
    page.wait_for_function("Math.abs(document.getElementById('lesson-video').currentTime - 30) < 0.5")
    expect(transcript.locator("li.active")).to_contain_text("The details.")
    transcript.get_by_role("button", name="0:45").click()
    page.wait_for_function("Math.abs(document.getElementById('lesson-video').currentTime - 45) < 0.5")
