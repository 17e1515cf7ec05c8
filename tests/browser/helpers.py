"""Helpers shared by the browser tests."""

import time
from pathlib import Path

from django.conf import settings

DEMO_SLUG = "advanced-webrtc-architecture"
DEMO_STUDENT = ("student@example.com", "learn-webrtc-2026")
COMING_SOON_SLUG = "recording"  # the demo's one lesson with a future release time
DEMO_VIDEO = Path(settings.BASE_DIR) / "demo" / "demo_assets" / "demo-lesson.webm"


def wait_until(condition, *, timeout=5.0, interval=0.05):
    """Poll a condition checked outside the browser (e.g. a row the server writes) until it holds."""
    deadline = time.monotonic() + timeout
    while True:
        value = condition()
        if value or time.monotonic() > deadline:
            return value
        time.sleep(interval)


def wait_for_video_metadata(page):
    page.wait_for_function("document.getElementById('lesson-video')?.readyState >= 1")


def seek_video(page, seconds):
    """Move the lesson video to `seconds` and wait until the browser has seeked there."""
    page.evaluate(
        """async (seconds) => {
          const video = document.getElementById('lesson-video');
          await new Promise((resolve) => {
            video.addEventListener('seeked', resolve, { once: true });
            video.currentTime = seconds;
          });
        }""",
        seconds,
    )


def video_time(page):
    return page.evaluate("document.getElementById('lesson-video').currentTime")
