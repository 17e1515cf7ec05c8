"""In a real browser at 375 px: the demo student's course home marks a lesson new and another updated, in words.

What a screen reader gets (the accessibility tree) says "New since your last visit" and "Updated since your
last visit" with the instructor's note: text, not colour alone. axe-core finds no serious or critical issue.
The marks are gone at the next visit.
"""

from datetime import timedelta

import pytest
from axe_playwright_python.sync_playwright import Axe
from django.utils import timezone
from playwright.sync_api import expect

from courses.models import CourseVisit, Lesson
from courses.services import VISIT_GAP
from tests.factories import ReleaseOverrideFactory

from .helpers import DEMO_SLUG

pytestmark = pytest.mark.browser

PHONE_WIDTH = 375
BLOCKING = {"serious", "critical"}


def axe_findings(page):
    violations = Axe().run(page).response["violations"]
    return [f"[{v['impact']}] {v['id']}: {v['help']}" for v in violations if v["impact"] in BLOCKING]


def test_the_new_and_updated_marks_are_words_a_screen_reader_reads_at_375px(live_server, page, demo, log_in):
    now = timezone.now()
    run = demo.student.enrollments.get().run
    opened = Lesson.objects.get(course=demo.course, slug="sdp")
    ReleaseOverrideFactory(run=run, lesson=opened, opens_at=now - timedelta(hours=1))
    updated = Lesson.objects.get(course=demo.course, slug="webrtc-apis")
    Lesson.objects.filter(pk=updated.pk).update(
        content_updated_at=now - timedelta(hours=1), change_note="The RTCPeerConnection example now uses async/await."
    )
    CourseVisit.objects.create(user=demo.student, course=demo.course, last_seen_at=now - timedelta(hours=3))

    log_in(demo.student)
    page.set_viewport_size({"width": PHONE_WIDTH, "height": 740})
    page.goto(f"{live_server.url}/courses/{DEMO_SLUG}/learn/")
    summary = page.get_by_test_id("since-last-visit")
    expect(summary).to_contain_text(f"1 new: {opened.title}. 1 updated: {updated.title}.")
    new_row = page.locator("li.lesson-row", has=page.get_by_role("link", name=opened.title, exact=True))
    updated_row = page.locator("li.lesson-row", has=page.get_by_role("link", name=updated.title, exact=True))
    assert "New since your last visit" in new_row.aria_snapshot()
    snapshot = updated_row.aria_snapshot()
    assert "Updated since your last visit" in snapshot
    assert "The RTCPeerConnection example now uses async/await." in snapshot
    expect(updated_row.locator(".change-note")).to_be_visible()
    assert page.evaluate("document.documentElement.scrollWidth") <= PHONE_WIDTH
    assert axe_findings(page) == []

    # The next visit: the marks are gone.
    CourseVisit.objects.filter(user=demo.student).update(last_seen_at=timezone.now() - VISIT_GAP - timedelta(minutes=1))
    page.goto(f"{live_server.url}/courses/{DEMO_SLUG}/learn/")
    expect(page.locator(".mark-new")).to_have_count(0)
    expect(page.locator(".mark-updated")).to_have_count(0)
    expect(page.get_by_test_id("since-last-visit")).to_have_count(0)
