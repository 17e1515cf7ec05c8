"""In a real browser set to Berlin: the site offers the browser's zone after login, one click saves it and the
times on the page change; "Not now" keeps it away; the profile's zone search works with the keyboard alone;
my courses passes axe with the offer showing, at 375 and 1280 px."""

import zoneinfo
from datetime import UTC, datetime, timedelta

import pytest
from django.utils import timezone
from playwright.sync_api import expect

from accounts.models import User
from tests.factories import EnrollmentFactory, OfficeHoursTierFactory, RunFactory, TierFactory, UserFactory

from .test_accessibility import PHONE_WIDTH, axe_findings, horizontal_overflow

pytestmark = pytest.mark.browser

BERLIN = "Europe/Berlin"


@pytest.fixture
def browser_context_args(browser_context_args):
    """The browser says it is in Berlin, as a student's laptop there would."""
    return {**browser_context_args, "timezone_id": BERLIN}


@pytest.fixture
def student(live_server):
    """A student whose profile says UTC, in a run that starts on 15 January next year at 17:30 UTC (18:30 in Berlin),
    and in a current run with the upgrade on offer."""
    year = timezone.now().year + 1
    upcoming = RunFactory(title="Winter cohort", starts_at=datetime(year, 1, 15, 17, 30, tzinfo=UTC))
    user = UserFactory(timezone="UTC", email="berlin@example.com")
    EnrollmentFactory(user=user, run=upcoming)
    current = RunFactory(title="Autumn cohort", starts_at=timezone.now() - timedelta(days=5))
    standard = TierFactory(run=current, price="240.00")
    OfficeHoursTierFactory(run=current, price="480.00")
    EnrollmentFactory(user=user, run=current, tier=standard)
    user.year = year
    return user


def test_after_login_one_click_uses_the_browsers_zone_and_the_times_change(live_server, page, log_in, student):
    log_in(student)
    page.goto(live_server.url + "/")
    starts = page.locator(".starts-on")
    expect(starts).to_contain_text(f"15 January {student.year}, 17:30 UTC")
    offer = page.get_by_role("complementary", name="Time zone")
    expect(offer).to_be_visible()
    expect(offer).to_contain_text(f"Show times in {BERLIN}?")

    offer.get_by_role("button", name="Use this zone").click()

    expect(page.get_by_role("status")).to_contain_text(f"Times are now shown in {BERLIN}.")
    expect(page).to_have_url(live_server.url + "/")
    expect(starts).to_contain_text(f"15 January {student.year}, 18:30 CET")
    expect(page.get_by_role("contentinfo")).to_contain_text(BERLIN)
    expect(offer).to_be_hidden()
    assert User.objects.get(pk=student.pk).timezone == BERLIN


def test_not_now_by_keyboard_keeps_the_offer_away(live_server, page, log_in, student):
    log_in(student)
    page.goto(live_server.url + "/")
    offer = page.locator("#timezone-offer")
    expect(offer).to_be_visible()
    offer.get_by_role("button", name="Not now").focus()
    page.keyboard.press("Enter")
    expect(offer).to_be_hidden()

    page.reload()
    expect(page.get_by_role("heading", level=1)).to_have_text("My courses")
    expect(offer).to_be_hidden()
    assert User.objects.get(pk=student.pk).timezone == "UTC"


def test_the_offer_is_not_shown_when_the_zones_agree(live_server, page, log_in, student):
    student.timezone = BERLIN
    student.save()
    log_in(student)
    page.goto(live_server.url + "/")
    expect(page.get_by_role("heading", level=1)).to_have_text("My courses")
    expect(page.locator("#timezone-offer")).to_be_hidden()


def test_zone_search_on_the_profile_works_with_the_keyboard(live_server, page, log_in, student):
    log_in(student)
    page.goto(live_server.url + "/accounts/profile/")
    search = page.get_by_label("Search time zones")
    select = page.locator("#id_timezone")
    expect(select.locator("option")).to_have_count(len(zoneinfo.available_timezones()))

    search.focus()
    page.keyboard.type("new york")
    expect(select.locator("option")).to_have_count(1)
    expect(select).to_have_value("America/New_York")
    expect(page.locator("#timezone-search-count")).to_have_text("1 zone matches: America/New_York is chosen.")

    page.keyboard.press("Control+a")
    page.keyboard.type("tokyo")
    expect(select).to_have_value("Asia/Tokyo")
    page.keyboard.press("Tab")
    expect(select).to_be_focused()
    page.keyboard.press("Tab")
    expect(page.get_by_role("button", name="Save")).to_be_focused()
    page.keyboard.press("Enter")

    expect(page.get_by_role("status")).to_contain_text("Your profile was saved.")
    assert User.objects.get(pk=student.pk).timezone == "Asia/Tokyo"


def test_zone_search_without_a_match_says_so_and_keeps_the_zone(live_server, page, log_in, student):
    log_in(student)
    page.goto(live_server.url + "/accounts/profile/")
    page.get_by_label("Search time zones").fill("atlantis")
    expect(page.locator("#timezone-search-count")).to_have_text("No zone matches. Try a city or region name.")
    expect(page.locator("#id_timezone")).to_have_value("UTC")


@pytest.mark.parametrize("width", [PHONE_WIDTH, 1280])
def test_my_courses_with_the_offer_passes_axe_and_fits(live_server, page, log_in, student, width):
    page.set_viewport_size({"width": width, "height": 800})
    log_in(student)
    page.goto(live_server.url + "/")
    expect(page.locator("#timezone-offer")).to_be_visible()
    expect(page.get_by_role("button", name="Upgrade for 240.00 USD")).to_be_visible()

    assert axe_findings(page) == []
    if width == PHONE_WIDTH:
        assert horizontal_overflow(page) is None
