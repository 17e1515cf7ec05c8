"""Every main page passes axe-core without serious or critical findings, and fits a phone without sideways scrolling."""

import pytest
from axe_playwright_python.sync_playwright import Axe

from tests.factories import UserFactory

from .helpers import COMING_SOON_SLUG, DEMO_SLUG, wait_for_video_metadata

pytestmark = pytest.mark.browser

PHONE_WIDTH = 375
BLOCKING = {"serious", "critical"}

PUBLIC_PAGES = {
    "landing": f"/courses/{DEMO_SLUG}/",
    "faq": f"/courses/{DEMO_SLUG}/faq/",
    "login": "/accounts/login/",
    "login by code": "/accounts/login/code/",
}
STUDENT_PAGES = {
    "my courses": "/",
    "course home": f"/courses/{DEMO_SLUG}/learn/",
    "lesson with video": f"/courses/{DEMO_SLUG}/lessons/webrtc-apis/",
    "lesson without video": f"/courses/{DEMO_SLUG}/lessons/webrtc-in-the-industry/",
    "profile": "/accounts/profile/",
    "access denied (coming soon)": f"/courses/{DEMO_SLUG}/lessons/{COMING_SOON_SLUG}/",
    "landing, logged in": f"/courses/{DEMO_SLUG}/",
}


def visit_all(page, live_server, log_in, student, check):
    """Open each page, anonymous pages first, then as the demo student, and collect what check() finds."""
    problems = {}
    for pages, user in ((PUBLIC_PAGES, None), (STUDENT_PAGES, student)):
        if user:
            log_in(user)
        for name, path in pages.items():
            page.goto(live_server.url + path)
            if page.locator("#lesson-video").count():
                wait_for_video_metadata(page)
            found = check(page)
            if found:
                problems[f"{name} ({path})"] = found
    return problems


def axe_findings(page):
    results = Axe().run(page)
    return [
        f"[{violation['impact']}] {violation['id']}: {violation['help']} — "
        + "; ".join(str(node["target"]) for node in violation["nodes"][:5])
        for violation in results.response["violations"]
        if violation["impact"] in BLOCKING
    ]


def test_pages_have_no_serious_accessibility_violations(live_server, page, demo, log_in):
    problems = visit_all(page, live_server, log_in, demo.student, axe_findings)
    report = "\n".join(f"{name}:\n  " + "\n  ".join(found) for name, found in problems.items())
    assert not problems, f"axe-core found serious or critical violations:\n{report}"


def test_access_denied_for_a_visitor_without_enrolment_is_accessible(live_server, page, demo, log_in):
    log_in(UserFactory())
    response = page.goto(f"{live_server.url}/courses/{DEMO_SLUG}/learn/")
    assert response.status == 403
    assert axe_findings(page) == []


def horizontal_overflow(page):
    width = page.evaluate("document.documentElement.scrollWidth")
    if width <= PHONE_WIDTH:
        return None
    culprits = page.evaluate(
        """(limit) => Array.from(document.querySelectorAll('body *'))
            .filter((el) => el.getBoundingClientRect().right > limit + 0.5)
            .slice(0, 5)
            .map((el) => [el.tagName.toLowerCase(), ...String(el.className).split(/ +/)].filter(Boolean).join('.'))""",
        PHONE_WIDTH,
    )
    return [f"scrollWidth {width} > {PHONE_WIDTH}; wider elements: {', '.join(culprits)}"]


def test_pages_fit_a_phone_without_sideways_scrolling(live_server, page, demo, log_in):
    """At 375 px nothing scrolls sideways, and what scrolls inside the page (code blocks) passes axe too."""
    page.set_viewport_size({"width": PHONE_WIDTH, "height": 740})

    def check(page):
        return (horizontal_overflow(page) or []) + axe_findings(page)

    problems = visit_all(page, live_server, log_in, demo.student, check)
    report = "\n".join(f"{name}:\n  " + "\n  ".join(found) for name, found in problems.items())
    assert not problems, f"at {PHONE_WIDTH} px:\n{report}"
