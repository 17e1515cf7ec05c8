"""Office hours in a real browser: a student in Los Angeles sees the local time, signs up, gets the .ics."""

from datetime import UTC, datetime, timedelta
from pathlib import Path
from types import SimpleNamespace

import icalendar
import pytest
from django.urls import reverse
from django.utils import timezone
from playwright.sync_api import expect

from officehours import services
from officehours.models import Registration, Session
from tests.factories import EnrollmentFactory, OfficeHoursTierFactory, StaffFactory, TierFactory, UserFactory

from .test_accessibility import PHONE_WIDTH, axe_findings, horizontal_overflow

pytestmark = pytest.mark.browser

LOS_ANGELES = "America/Los_Angeles"


@pytest.fixture
def browser_context_args(browser_context_args):
    """The browser says it is in Los Angeles, as a student's laptop there would."""
    return {**browser_context_args, "timezone_id": LOS_ANGELES, "accept_downloads": True}


@pytest.fixture
def office_hours(live_server):
    tier = OfficeHoursTierFactory()
    run = tier.run
    # 17:00 UTC on 15 January is 09:00 PST in Los Angeles (UTC-8).
    starts_at = datetime(timezone.now().year + 1, 1, 15, 17, tzinfo=UTC)
    session = Session.objects.create(run=run, title="Office hours", starts_at=starts_at, duration_minutes=60,
                                     meeting_url="https://meet.example.org/secret-room", capacity=20)  # fmt: skip
    past = Session.objects.create(run=run, starts_at=timezone.now() - timedelta(days=4),
                                  meeting_url="https://meet.example.org/old", recording_url="https://video.example.org/1",
                                  notes="We went through TURN.")  # fmt: skip
    student = EnrollmentFactory(run=run, tier=tier, user=UserFactory(timezone="UTC")).user
    services.ask_question(user=UserFactory(), session=session, text="How do I scale an SFU?")
    slug = run.course.slug
    return SimpleNamespace(
        course=run.course, run=run, session=session, past=past, student=student,
        url=live_server.url + reverse("officehours:index", args=[slug]),
        session_url=live_server.url + reverse("officehours:session", args=[slug, session.pk]),
        run_url=live_server.url + reverse("officehours:run_session", args=[slug, session.pk]),
    )  # fmt: skip


def test_student_in_los_angeles_sees_local_time_signs_up_and_downloads_the_ics(page, log_in, office_hours):
    oh = office_hours
    log_in(oh.student)
    page.goto(oh.url)
    # The profile says UTC; the page offers the browser's zone and one click saves it.
    offer = page.locator("#timezone-offer")
    expect(offer).to_be_visible()
    expect(offer).to_contain_text(f"Show times in {LOS_ANGELES}?")
    offer.get_by_role("button", name="Use this zone").click()
    expect(page.get_by_role("status")).to_contain_text(f"Times are now shown in {LOS_ANGELES}.")
    oh.student.refresh_from_db()
    assert oh.student.timezone == LOS_ANGELES
    expect(offer).to_be_hidden()
    expect(page.locator(".officehours-zone")).to_have_text(f"Times are shown in your time zone, {LOS_ANGELES}.")

    row = page.locator(f"#session-{oh.session.pk}")
    weekday = oh.session.starts_at.strftime("%A")
    expect(row.locator(".session-when time")).to_have_text(
        f"{weekday} 15 January {oh.session.starts_at.year}, 09:00–10:00 PST"
    )
    expect(page.locator(".countdown")).to_contain_text("Starts in")
    assert "secret-room" not in page.content()

    row.get_by_role("button", name="Sign up").click()
    expect(page.get_by_role("status")).to_contain_text("You are signed up.")
    assert Registration.objects.filter(session=oh.session, user=oh.student).exists()
    expect(page.locator(f"#session-{oh.session.pk}")).to_contain_text("You are signed up.")
    # Signed up, but days before the start: still no meeting link.
    assert "secret-room" not in page.content()

    with page.expect_download() as download_info:
        page.locator(f"#session-{oh.session.pk}").get_by_role("link", name="Add to calendar").click()
    download = download_info.value
    assert download.suggested_filename.endswith(".ics")
    calendar = icalendar.Calendar.from_ical(Path(download.path()).read_bytes())
    [event] = calendar.walk("VEVENT")
    assert event.decoded("dtstart").astimezone(UTC) == oh.session.starts_at
    assert event.decoded("dtend").astimezone(UTC) == oh.session.ends_at


def office_hours_pages(oh):
    """(name, user, url) of each office-hours page: the student's, the instructor's, and the refusal."""
    return [
        ("list", oh.student, oh.url),
        ("session", oh.student, oh.session_url),
        ("run the session", StaffFactory(), oh.run_url),
        ("refused (standard tier)", EnrollmentFactory(run=oh.run, tier=TierFactory(run=oh.run)).user, oh.url),
    ]


@pytest.mark.parametrize("width", [1280, PHONE_WIDTH])
def test_office_hours_pages_are_accessible_and_fit_a_phone(page, log_in, office_hours, width):
    services.sign_up(user=office_hours.student, session=office_hours.session)
    services.mark_answered(user=StaffFactory(), question=office_hours.session.questions.get())
    page.set_viewport_size({"width": width, "height": 800})
    problems = {}
    for name, user, url in office_hours_pages(office_hours):
        log_in(user)
        page.goto(url)
        found = axe_findings(page)
        if width == PHONE_WIDTH:
            found += horizontal_overflow(page) or []
        if found:
            problems[name] = found
    assert not problems, f"at {width} px: {problems}"
