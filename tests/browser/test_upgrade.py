"""In a real browser: a standard-tier student refused office hours upgrades for the difference, by keyboard.

Stripe's API is the `fake_stripe` server; the hosted Checkout page (checkout.stripe.com) is answered by the
test; Stripe's webhook is a signed event posted as Stripe would.
"""

from datetime import timedelta

import pytest
from django.test import Client
from django.urls import reverse
from django.utils import timezone
from playwright.sync_api import expect

from enrollment.models import Enrollment
from tests.enrollment.test_stripe_webhook import WEBHOOK_SECRET, post
from tests.enrollment.test_upgrade import upgrade_event
from tests.factories import EnrollmentFactory, OfficeHoursTierFactory, RunFactory, TierFactory, UserFactory

pytestmark = pytest.mark.browser


def test_standard_student_upgrades_from_the_office_hours_page(live_server, page, log_in, fake_stripe, settings):
    settings.STRIPE_WEBHOOK_SECRET = WEBHOOK_SECRET
    run = RunFactory(title="Spring cohort", starts_at=timezone.now() - timedelta(days=5))
    standard = TierFactory(run=run, name="Standard", price="240.00")
    office_hours = OfficeHoursTierFactory(run=run, name="With office hours", price="480.00")
    enrollment = EnrollmentFactory(run=run, tier=standard, user=UserFactory())
    checkout_pages = []

    def stripe_checkout(route):
        checkout_pages.append(route.request.url)
        route.fulfill(status=200, content_type="text/html", body="<title>Stripe Checkout</title><h1>Pay</h1>")

    page.route("https://checkout.stripe.com/**", stripe_checkout)
    log_in(enrollment.user)
    office_hours_url = live_server.url + reverse("officehours:index", args=[run.course.slug])
    page.goto(office_hours_url)
    expect(page.get_by_role("alert")).to_contain_text("Office hours are part of the office-hours tier.")

    page.get_by_role("button", name="Upgrade for 240.00 USD").focus()
    page.keyboard.press("Enter")

    expect(page).to_have_title("Stripe Checkout")
    assert checkout_pages == [fake_stripe.created_session["url"].split("#")[0]]  # the browser sends no fragment
    [request] = fake_stripe.requests
    assert request.form["line_items[0][price_data][unit_amount]"] == ["24000"]

    # Stripe tells the site the payment went through.
    assert post(Client(), upgrade_event(enrollment, from_tier=standard, to_tier=office_hours)).status_code == 200

    page.goto(live_server.url + "/")
    card = page.get_by_role("article", name=run.course.title)
    expect(card).to_contain_text("Spring cohort · With office hours")
    expect(card.get_by_role("button", name="Upgrade for 240.00 USD")).to_have_count(0)
    page.goto(office_hours_url)
    expect(page.get_by_role("heading", level=1)).to_have_text("Office hours")
    expect(page.get_by_role("alert")).to_have_count(0)
    assert Enrollment.objects.get(pk=enrollment.pk).tier == office_hours
