"""A lesson video kept in the bucket plays and seeks in a real browser: the page's <video> follows the
redirect to the signed link, and the bucket answers the browser's range requests."""

import pytest

from .helpers import seek_video, video_time, wait_for_video_metadata

pytestmark = pytest.mark.browser


def test_a_video_in_the_bucket_plays_and_seeks(bucket, moto, live_server, page, log_in, video_lesson):
    assert video_lesson.lesson.video_file.storage.bucket_name == bucket
    log_in(video_lesson.student)
    page.goto(video_lesson.url)
    wait_for_video_metadata(page)

    assert page.evaluate("document.getElementById('lesson-video').currentSrc").endswith("/video/")
    assert page.evaluate("document.getElementById('lesson-video').duration") > 50  # the 60 s demo video
    seek_video(page, 42)
    assert abs(video_time(page) - 42) < 1
    page.evaluate("document.getElementById('lesson-video').muted = true")
    page.evaluate("document.getElementById('lesson-video').play()")
    page.wait_for_function("document.getElementById('lesson-video').currentTime > 42.3")
