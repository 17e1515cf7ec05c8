"""A buyer on the landing page is sent to Stripe Checkout; the pages they come back to work for everyone."""

import json
from pathlib import Path

import pytest

from enrollment.models import Enrollment, Tier
from enrollment.stripe import signed

from .helpers import DEMO_SLUG
from .test_accessibility import PHONE_WIDTH, axe_findings, horizontal_overflow

pytestmark = pytest.mark.browser

STRIPE_DATA = Path(__file__).resolve().parents[1] / "data" / "stripe"
CHECKOUT_PAGE = "<!DOCTYPE html><html lang='en'><title>Stripe Checkout</title><h1>Pay Courseweb</h1></html>"


@pytest.fixture
def stripe_checkout_page(page):
    """Answer for checkout.stripe.com (unreachable from here) with a tiny page; the URL is what matters."""
    page.route(
        "https://checkout.stripe.com/**",
        lambda route: route.fulfill(status=200, content_type="text/html", body=CHECKOUT_PAGE),
    )
    return page


def demo_tier(kind):
    return Tier.objects.select_related("run").get(run__slug="webrtc-next", kind=kind)


def test_buyer_clicking_a_tier_is_sent_to_the_checkout_url_stripe_gave(
    live_server, demo, fake_stripe, stripe_checkout_page
):
    page = stripe_checkout_page
    page.goto(f"{live_server.url}/courses/{DEMO_SLUG}/")

    page.get_by_role("button", name="Enrol – 240.00 USD").click()
    page.wait_for_url("https://checkout.stripe.com/**")

    assert page.url == fake_stripe.created_session["url"]
    assert page.get_by_role("heading", name="Pay Courseweb").is_visible()
    [request] = fake_stripe.requests
    assert (request.method, request.path) == ("POST", "/v1/checkout/sessions")
    assert request.form["metadata[tier_id]"] == [str(demo_tier(Tier.Kind.STANDARD).pk)]
    assert request.form["success_url"] == [f"{live_server.url}/payments/success/?session_id={{CHECKOUT_SESSION_ID}}"]
    assert "customer_email" not in request.form


def test_logged_in_buyer_of_the_office_hours_tier_arrives_with_their_email(
    live_server, demo, fake_stripe, stripe_checkout_page, log_in
):
    page = stripe_checkout_page
    log_in(demo.student)
    page.goto(f"{live_server.url}/courses/{DEMO_SLUG}/")

    page.get_by_role("button", name="Enrol – 480.00 USD").click()
    page.wait_for_url("https://checkout.stripe.com/**")

    assert page.url == fake_stripe.created_session["url"]
    [request] = fake_stripe.requests
    assert request.form["metadata[tier_id]"] == [str(demo_tier(Tier.Kind.OFFICE_HOURS).pk)]
    assert request.form["customer_email"] == [demo.student.email]


def test_without_stripe_keys_the_button_explains_payments_are_not_set_up(live_server, demo, page, settings):
    settings.STRIPE_SECRET_KEY = ""
    page.goto(f"{live_server.url}/courses/{DEMO_SLUG}/")

    with page.expect_navigation() as navigation:
        page.get_by_role("button", name="Enrol – 240.00 USD").click()

    assert navigation.value.status == 503
    assert page.get_by_text("Payments are not set up yet").is_visible()
    assert axe_findings(page) == []


def paid_session_for(fake_stripe, tier, **changes):
    session = json.loads((STRIPE_DATA / "checkout_session_completed.json").read_text())["data"]["object"]
    session["metadata"] = signed({"tier_id": str(tier.pk), "run": tier.run.slug, "tier": tier.kind})
    session.update(changes)
    fake_stripe.sessions[session["id"]] = session
    return session


@pytest.mark.parametrize("width", [1280, PHONE_WIDTH])
def test_success_and_cancel_pages_are_accessible_and_fit_a_phone(live_server, demo, fake_stripe, page, width):
    page.set_viewport_size({"width": width, "height": 800})
    paid = paid_session_for(fake_stripe, demo_tier(Tier.Kind.STANDARD))
    unpaid = paid_session_for(
        fake_stripe,
        demo_tier(Tier.Kind.OFFICE_HOURS),
        id="cs_test_b1Unpaid0000000000000000000000000",
        payment_status="unpaid",
    )
    pages = {
        "success": f"/payments/success/?session_id={paid['id']}",
        "success, payment still being confirmed": f"/payments/success/?session_id={unpaid['id']}",
        "cancelled": f"/payments/cancelled/?course={DEMO_SLUG}",
    }
    problems = {}
    for name, path in pages.items():
        page.goto(live_server.url + path)
        found = axe_findings(page)
        if width == PHONE_WIDTH:
            found += horizontal_overflow(page) or []
        if found:
            problems[name] = found

    assert not problems, problems
    page.goto(live_server.url + pages["success"])
    assert page.get_by_role("heading", name="Payment received").is_visible()
    assert Enrollment.objects.filter(user__email="jane.buyer@example.com", tier__kind=Tier.Kind.STANDARD).exists()
