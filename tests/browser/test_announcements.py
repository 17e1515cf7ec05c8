"""In a real browser: the instructor publishes an announcement in the admin, a student reads and dismisses it.

The student works at 375 px with the keyboard only; axe-core finds no serious or critical issue.
"""

import pytest
from axe_playwright_python.sync_playwright import Axe
from playwright.sync_api import expect

from enrollment import announcements, course_email
from enrollment.models import Announcement, AnnouncementDismissal, AnnouncementEmail

from .helpers import DEMO_SLUG

pytestmark = pytest.mark.browser

PHONE_WIDTH = 375
BLOCKING = {"serious", "critical"}
BODY = """We meet on **Thursday** this week instead of Tuesday.

A long link that must wrap: https://example.org/a/very/long/path/that/would/scroll/sideways/on/a/phone/if/it/did/not/wrap

```js
const pc = new RTCPeerConnection({ iceServers: [{ urls: "stun:stun.example.org:3478" }] }); // a long line of code
```

<script>document.title = "pwned"</script>"""


def axe_findings(page):
    violations = Axe().run(page).response["violations"]
    return [f"[{v['impact']}] {v['id']}: {v['help']}" for v in violations if v["impact"] in BLOCKING]


def test_the_instructor_publishes_and_a_student_dismisses_it_with_the_keyboard(live_server, page, demo, log_in):
    # The instructor: a draft first, then "Save and publish".
    log_in(demo.instructor)
    page.goto(f"{live_server.url}/admin/enrollment/announcement/add/")
    run = demo.student.enrollments.get().run
    page.get_by_label("Run").select_option(label=f"{demo.course.title} — {run.title} ({run.slug})")
    page.get_by_label("Title").fill("Office hours move to Thursday")
    page.get_by_label("Body").fill(BODY)
    page.get_by_role("button", name="Save", exact=True).click()
    expect(page.get_by_text("was added successfully")).to_be_visible()
    announcement = Announcement.objects.get(title="Office hours move to Thursday")
    assert announcement.published_at is None

    page.goto(f"{live_server.url}/admin/enrollment/announcement/{announcement.pk}/change/")
    page.get_by_role("button", name="Save and publish").click()
    expect(page.get_by_text("will get it by email")).to_be_visible()
    announcement.refresh_from_db()
    assert announcement.published_at is not None
    assert AnnouncementEmail.objects.filter(announcement=announcement, status="sent").count() >= 1

    # The student, on a phone, with the keyboard.
    page.context.clear_cookies()
    log_in(demo.student)
    page.set_viewport_size({"width": PHONE_WIDTH, "height": 740})
    page.goto(f"{live_server.url}/courses/{DEMO_SLUG}/learn/")
    region = page.get_by_role("region", name="Announcements")
    expect(region.get_by_role("heading", name="Office hours move to Thursday")).to_be_visible()
    expect(region.locator("strong", has_text="Thursday")).to_be_visible()
    assert page.title() != "pwned"
    assert page.evaluate("document.documentElement.scrollWidth") <= PHONE_WIDTH
    assert axe_findings(page) == []

    dismiss = region.get_by_role("button", name="Dismiss the announcement “Office hours move to Thursday”")
    for _ in range(60):
        if dismiss.evaluate("button => button === document.activeElement"):
            break
        page.keyboard.press("Tab")
    else:
        pytest.fail("Tab never reached the Dismiss button")
    page.keyboard.press("Enter")

    expect(page.get_by_role("status").filter(has_text=announcements.DISMISSED)).to_have_count(1)
    expect(region).to_be_hidden()
    expect(page.get_by_role("heading", name=demo.course.title, level=1)).to_be_focused()
    assert AnnouncementDismissal.objects.filter(announcement=announcement, user=demo.student).exists()
    assert axe_findings(page) == []

    page.reload()
    expect(page.get_by_text("Office hours move to Thursday")).to_have_count(0)


def test_the_email_settings_and_unsubscribe_pages_fit_a_phone_and_pass_axe(live_server, page, demo, log_in):
    log_in(demo.student)
    page.set_viewport_size({"width": PHONE_WIDTH, "height": 740})
    token = course_email.unsubscribe_token(demo.student, course_email.Kind.ANNOUNCEMENTS)
    for path in ("/forum/email/settings/", f"/email/unsubscribe/{token}/"):
        page.goto(live_server.url + path)
        assert page.evaluate("document.documentElement.scrollWidth") <= PHONE_WIDTH, path
        assert axe_findings(page) == [], path

    page.goto(f"{live_server.url}/forum/email/settings/")
    page.get_by_label("No announcement email").check()
    page.get_by_role("button", name="Save").click()
    expect(page.get_by_role("status").filter(has_text="Your email choices were saved.")).to_have_count(1)
    assert not course_email.wanted(demo.student)[course_email.Kind.ANNOUNCEMENTS]
