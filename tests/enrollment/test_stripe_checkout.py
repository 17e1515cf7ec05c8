"""Buying a seat: the Checkout Session request the stripe library sends, and the pages around it.

Stripe's API is the fake server of the `fake_stripe` fixture (tests/conftest.py): the stripe library
runs for real, and the tests read the HTTP requests it made.
"""

import json
from datetime import timedelta
from decimal import Decimal
from pathlib import Path

import pytest
from django.test import Client
from django.urls import reverse
from django.utils import timezone

from accounts.models import User
from enrollment import services, views
from enrollment.currency import minor_units
from enrollment.models import Enrollment, Payment, SentEmail
from enrollment.stripe import signed
from tests.conftest import free_port
from tests.factories import (
    CourseFactory,
    EnrollmentFactory,
    OfficeHoursTierFactory,
    RunFactory,
    StaffFactory,
    TierFactory,
    UserFactory,
)

pytestmark = pytest.mark.django_db

STRIPE_DATA = Path(__file__).resolve().parents[1] / "data" / "stripe"
STRIPE_PRICE = "price_1QRo2Lkd4IwHu7ixWzG3kT0b"
CREATED = json.loads((STRIPE_DATA / "checkout_session_created.json").read_text())


def paid_session(tier, **changes):
    """A paid Checkout Session for the tier, as Stripe returns it (recorded JSON)."""
    event = json.loads((STRIPE_DATA / "checkout_session_completed.json").read_text())
    session = event["data"]["object"]
    session["metadata"] = signed({"tier_id": str(tier.pk), "run": tier.run.slug, "tier": tier.kind})
    session.update(changes)
    return session


@pytest.fixture
def course():
    return CourseFactory(title="Real-Time Video", slug="real-time-video", contact_email="ada@example.com")


@pytest.fixture
def run(course):
    return RunFactory(
        course=course,
        title="Spring cohort",
        slug="spring",
        enrollment_open=True,
        starts_at=timezone.now() + timedelta(days=20),
    )


@pytest.fixture
def tier(run):
    return TierFactory(run=run, name="Standard access", price="240.00", currency="USD")


@pytest.fixture
def priced_tier(run):
    return OfficeHoursTierFactory(run=run, name="Office hours", price="480.00", stripe_price_id=STRIPE_PRICE)


def start_checkout(client, tier, *, course=None):
    course_slug = tier.run.course.slug if course is None else course
    return client.post(reverse("payments:checkout", args=[tier.pk]), {"course": course_slug})


def nothing_written():
    return not (Payment.objects.exists() or Enrollment.objects.exists() or SentEmail.objects.exists())


# --- Starting Checkout ---


def test_tier_button_sends_the_buyer_to_the_checkout_url_stripe_gave(client, fake_stripe, tier):
    response = start_checkout(client, tier)

    assert response.status_code == 303
    assert response["Location"] == CREATED["url"]
    assert response["Location"].startswith("https://checkout.stripe.com/c/pay/cs_test_")
    assert nothing_written()


def test_checkout_request_sells_one_seat_of_the_tier_as_price_data(client, settings, fake_stripe, tier):
    start_checkout(client, tier)

    [request] = fake_stripe.requests
    assert (request.method, request.path) == ("POST", "/v1/checkout/sessions")
    assert request.headers["authorization"] == f"Bearer {settings.STRIPE_SECRET_KEY}"
    assert request.headers["idempotency-key"]  # a retried request cannot open a second session
    form = request.form
    assert form["mode"] == ["payment"]
    assert form["line_items[0][price_data][currency]"] == ["usd"]
    assert form["line_items[0][price_data][unit_amount]"] == ["24000"]
    name = "Real-Time Video – Spring cohort – Standard access"
    assert form["line_items[0][price_data][product_data][name]"] == [name]
    assert form["line_items[0][quantity]"] == ["1"]
    assert "line_items[0][price]" not in form
    assert form["allow_promotion_codes"] == ["true"]
    assert form["metadata[tier_id]"] == [str(tier.pk)]
    assert form["metadata[run]"] == ["spring"]
    assert form["metadata[tier]"] == ["standard"]
    [success_url] = form["success_url"]
    assert success_url == "http://testserver/payments/success/?session_id={CHECKOUT_SESSION_ID}"
    assert form["cancel_url"] == ["http://testserver/payments/cancelled/?course=real-time-video"]
    assert "customer_email" not in form
    assert "client_reference_id" not in form


def test_logged_in_buyer_finds_their_email_filled_in(client, fake_stripe, tier):
    user = UserFactory(email="sam@example.com")
    client.force_login(user)

    start_checkout(client, tier)

    [request] = fake_stripe.requests
    assert request.form["customer_email"] == ["sam@example.com"]
    assert request.form["client_reference_id"] == [str(user.pk)]


def test_tier_with_a_stripe_price_is_sold_at_that_price(client, fake_stripe, priced_tier):
    start_checkout(client, priced_tier)

    [request] = fake_stripe.requests
    assert request.form["line_items[0][price]"] == [STRIPE_PRICE]
    assert request.form["line_items[0][quantity]"] == ["1"]
    assert not [key for key in request.form if "price_data" in key]
    assert request.form["metadata[tier]"] == ["office-hours"]


@pytest.mark.parametrize(
    ("price", "currency", "expected"),
    [("240.00", "USD", 24000), ("199.99", "eur", 19999), ("0.50", "GBP", 50), ("5000", "JPY", 5000), ("0", "USD", 0)],
)
def test_prices_are_sent_in_the_currencys_smallest_unit(price, currency, expected):
    assert minor_units(Decimal(price), currency) == expected


def test_a_closed_run_offers_no_button_and_refuses_the_post(client, fake_stripe, course, run, tier):
    run.enrollment_open = False
    run.save()

    landing = client.get(course.get_absolute_url())
    assert "Enrol –" not in landing.content.decode()
    assert reverse("payments:checkout", args=[tier.pk]) not in landing.content.decode()

    response = start_checkout(client, tier)
    assert response.status_code == 409
    assert views.ENROLMENT_CLOSED.format(run="Spring cohort") in response.content.decode()
    assert fake_stripe.requests == []
    assert nothing_written()


def test_an_unpublished_course_sells_nothing(client, fake_stripe, course, run, tier):
    course.is_published = False
    course.save()

    assert client.get(course.get_absolute_url()).status_code == 404
    response = start_checkout(client, tier)
    assert response.status_code == 404
    assert views.NOT_ON_SALE in response.content.decode()
    # Staff see the unpublished landing page, without a button, and cannot buy either.
    client.force_login(StaffFactory())
    landing = client.get(course.get_absolute_url()).content.decode()
    assert reverse("payments:checkout", args=[tier.pk]) not in landing
    assert start_checkout(client, tier).status_code == 404
    assert fake_stripe.requests == []
    assert nothing_written()


def test_an_open_run_offers_one_button_per_tier(client, course, tier, priced_tier):
    content = client.get(course.get_absolute_url()).content.decode()

    assert "Enrol – 240.00 USD" in content
    assert "Enrol – 480.00 USD" in content
    for offered in (tier, priced_tier):
        assert f'action="{reverse("payments:checkout", args=[offered.pk])}"' in content
    assert content.count('name="csrfmiddlewaretoken"') >= 2


def test_an_enrolled_student_is_offered_only_the_upgrade_for_the_difference(
    client, fake_stripe, course, tier, priced_tier
):
    student = UserFactory()
    enrollment = EnrollmentFactory(user=student, run=tier.run, tier=tier)
    client.force_login(student)

    content = client.get(course.get_absolute_url()).content.decode()
    refused = start_checkout(client, tier)
    upgrade = start_checkout(client, priced_tier)

    assert "Enrol – 240.00 USD" not in content
    assert "already enrolled" in content
    assert "Enrol – 480.00 USD" not in content
    assert "Upgrade for 240.00 USD" in content
    assert f'action="{reverse("payments:upgrade", args=[enrollment.pk])}"' in content
    assert refused.status_code == 409
    # Even the tier's own button sells the difference, never the full price a second time.
    assert upgrade.status_code == 303
    [request] = fake_stripe.requests
    assert request.form["line_items[0][price_data][unit_amount]"] == ["24000"]
    assert request.form["metadata[purpose]"] == ["upgrade"]
    assert request.form["metadata[enrollment_id]"] == [str(enrollment.pk)]


def test_a_tier_posted_for_another_course_is_refused(client, fake_stripe, tier):
    other = CourseFactory(slug="other-course")

    response = start_checkout(client, tier, course=other.slug)

    assert response.status_code == 400
    assert views.WRONG_COURSE in response.content.decode()
    assert fake_stripe.requests == []


def test_a_post_without_its_course_is_refused(client, fake_stripe, tier):
    response = client.post(reverse("payments:checkout", args=[tier.pk]))

    assert response.status_code == 400
    assert fake_stripe.requests == []


def test_an_unknown_tier_is_not_found(client, fake_stripe):
    assert client.post(reverse("payments:checkout", args=[999999]), {"course": "x"}).status_code == 404


def test_checkout_starts_only_with_a_post(client, fake_stripe, tier):
    assert client.get(reverse("payments:checkout", args=[tier.pk])).status_code == 405
    assert fake_stripe.requests == []


def test_checkout_post_needs_the_csrf_token(fake_stripe, tier):
    response = start_checkout(Client(enforce_csrf_checks=True), tier)

    assert response.status_code == 403
    assert fake_stripe.requests == []


def test_without_stripe_keys_the_buyer_learns_payments_are_not_set_up(client, settings, tier):
    settings.STRIPE_SECRET_KEY = ""

    response = start_checkout(client, tier)

    assert response.status_code == 503
    assert "Payments are not set up yet" in response.content.decode()
    assert nothing_written()


def test_a_stripe_error_asks_the_buyer_to_try_again(client, fake_stripe, tier):
    fake_stripe.error = (400, {"error": {"type": "invalid_request_error", "message": "No such price: 'price_x'"}})

    response = start_checkout(client, tier)

    assert response.status_code == 502
    assert views.NOT_STARTED in response.content.decode()
    assert len(fake_stripe.requests) == 1  # Stripe said it would fail again: no retry
    assert nothing_written()


def test_stripe_out_of_reach_asks_the_buyer_to_try_again(client, settings, fake_stripe, tier):
    settings.STRIPE_API_BASE = f"http://127.0.0.1:{free_port()}"  # nothing listens there

    response = start_checkout(client, tier)

    assert response.status_code == 502
    assert views.NOT_STARTED in response.content.decode()


# --- Coming back from Checkout ---


def success(client, session_id):
    return client.get(reverse("payments:success"), {"session_id": session_id})


def test_success_page_enrolls_the_buyer_and_says_check_your_email(client, fake_stripe, tier):
    session = paid_session(tier)
    fake_stripe.sessions[session["id"]] = session

    response = success(client, session["id"])

    assert response.status_code == 200
    content = response.content.decode()
    assert views.RECEIVED in content
    assert "jane.buyer@example.com" in content
    assert [(r.method, r.path) for r in fake_stripe.requests] == [("GET", f"/v1/checkout/sessions/{session['id']}")]
    enrollment = Enrollment.objects.get()
    assert (enrollment.user.email, enrollment.tier, enrollment.source) == ("jane.buyer@example.com", tier, "stripe")
    payment = Payment.objects.get()
    assert (payment.checkout_session_id, payment.reference, payment.amount_total) == (
        session["id"],
        session["payment_intent"],
        24000,
    )
    assert SentEmail.objects.filter(enrollment=enrollment, kind=SentEmail.Kind.WELCOME).count() == 1


def test_success_page_visited_again_finds_it_done(client, fake_stripe, tier):
    session = paid_session(tier)
    fake_stripe.sessions[session["id"]] = session

    first = success(client, session["id"])
    again = success(client, session["id"])

    assert views.RECEIVED in first.content.decode() and views.RECEIVED in again.content.decode()
    assert (Enrollment.objects.count(), Payment.objects.count(), User.objects.count()) == (1, 1, 1)
    assert SentEmail.objects.filter(kind=SentEmail.Kind.WELCOME).count() == 1


def test_logged_in_buyer_is_offered_their_course(client, fake_stripe, tier):
    client.force_login(UserFactory(email="jane.buyer@example.com"))
    session = paid_session(tier)
    fake_stripe.sessions[session["id"]] = session

    content = success(client, session["id"]).content.decode()

    assert reverse("courses:home", args=[tier.run.course.slug]) in content
    assert User.objects.count() == 1


def test_anonymous_buyer_is_shown_how_to_log_in_without_a_password(client, fake_stripe, tier):
    session = paid_session(tier)
    fake_stripe.sessions[session["id"]] = session

    content = success(client, session["id"]).content.decode()

    assert reverse("account_request_login_code") in content


def test_success_page_for_a_refunded_payment_says_so(client, fake_stripe, tier):
    session = paid_session(tier)
    fake_stripe.sessions[session["id"]] = session
    success(client, session["id"])
    services.record_refund(payment_intent=session["payment_intent"])

    response = success(client, session["id"])

    assert views.REFUNDED in response.content.decode()
    assert Enrollment.objects.get().status == Enrollment.Status.REFUNDED


def test_buyer_whose_earlier_enrollment_was_cancelled_gets_it_back_by_paying_again(client, fake_stripe, tier):
    EnrollmentFactory(
        user=UserFactory(email="jane.buyer@example.com"), run=tier.run, tier=tier, status=Enrollment.Status.CANCELLED
    )
    session = paid_session(tier)
    fake_stripe.sessions[session["id"]] = session

    content = success(client, session["id"]).content.decode()

    assert views.RECEIVED in content
    enrollment = Payment.objects.get().enrollment
    assert enrollment.status == Enrollment.Status.ACTIVE
    assert enrollment.source == Enrollment.Source.STRIPE
    assert enrollment.emails.filter(kind="welcome").count() == 1


def test_success_page_for_an_unpaid_session_says_payment_is_being_confirmed(client, fake_stripe, tier):
    session = paid_session(tier, payment_status="unpaid")
    fake_stripe.sessions[session["id"]] = session

    response = success(client, session["id"])

    assert response.status_code == 200
    assert views.CONFIRMING in response.content.decode()
    assert nothing_written() and not User.objects.exists()


def test_success_page_reassures_the_buyer_when_stripe_is_out_of_reach(client, settings, fake_stripe, tier):
    settings.STRIPE_API_BASE = f"http://127.0.0.1:{free_port()}"

    response = success(client, paid_session(tier)["id"])

    assert response.status_code == 200
    assert views.NOT_CONFIRMED_YET in response.content.decode()
    assert nothing_written()


def test_success_page_reassures_the_buyer_when_stripe_fails(client, fake_stripe, tier):
    fake_stripe.error = (500, {"error": {"type": "api_error", "message": "Something went wrong on Stripe's end."}})

    response = success(client, paid_session(tier)["id"])

    assert response.status_code == 200
    assert views.NOT_CONFIRMED_YET in response.content.decode()
    assert nothing_written()


def test_success_page_reassures_the_buyer_when_fulfilment_fails_and_leaves_it_to_the_webhook(client, fake_stripe, run):
    session = paid_session(TierFactory(run=run))
    session["metadata"] = signed({**session["metadata"], "tier_id": "999999"})  # gone: fulfilment raises
    fake_stripe.sessions[session["id"]] = session

    response = success(client, session["id"])

    assert response.status_code == 200
    assert views.NOT_CONFIRMED_YET in response.content.decode()
    assert nothing_written()


def test_success_page_for_a_session_stripe_does_not_know_is_not_found(client, fake_stripe):
    response = success(client, "cs_test_a1UnknownSession000000000000000000000000000000000000000000")

    assert response.status_code == 404
    assert views.NO_SESSION in response.content.decode()


@pytest.mark.parametrize("session_id", ["", "pi_3QRo2Lkd4IwHu7ix", "cs_test_../../v1/charges", "cs_live_x y"])
def test_success_page_without_a_session_id_asks_stripe_nothing(client, fake_stripe, session_id):
    response = success(client, session_id)

    assert response.status_code == 400
    assert views.NO_SESSION in response.content.decode()
    assert fake_stripe.requests == []


def test_success_page_ignores_a_session_this_site_did_not_start(client, fake_stripe, tier):
    session = paid_session(tier, metadata={})
    fake_stripe.sessions[session["id"]] = session

    response = success(client, session["id"])

    assert response.status_code == 200
    assert views.RECEIVED not in response.content.decode()
    assert nothing_written()


def test_success_page_without_stripe_keys_says_payments_are_not_set_up(client, settings, tier):
    settings.STRIPE_SECRET_KEY = ""

    response = success(client, paid_session(tier)["id"])

    assert response.status_code == 503
    assert views.NOT_SET_UP in response.content.decode()


def test_cancel_page_says_no_payment_was_taken_and_links_back_to_the_course(client, course):
    response = client.get(reverse("payments:cancelled"), {"course": course.slug})

    assert response.status_code == 200
    content = response.content.decode()
    assert views.NO_PAYMENT_TAKEN in content
    assert f'href="{course.get_absolute_url()}"' in content


def test_cancel_page_without_a_course_links_home(client):
    response = client.get(reverse("payments:cancelled"), {"course": "no-such-course"})

    assert response.status_code == 200
    assert f'href="{reverse("home")}"' in response.content.decode()


def test_checkout_starts_are_limited_per_visitor_and_minute(client, fake_stripe, tier):
    answers = [start_checkout(client, tier, course=tier.run.course.slug).status_code for _ in range(10)]
    assert answers == [303] * 10

    refused = start_checkout(client, tier)

    assert refused.status_code == 429
    assert views.SLOW_DOWN in refused.content.decode()
    assert len(fake_stripe.requests) == 10  # the eleventh asked Stripe nothing
    other = Client(REMOTE_ADDR="203.0.113.9")  # another visitor is not slowed down by the first
    assert start_checkout(other, tier).status_code == 303


def test_success_pages_are_limited_per_visitor_and_minute(client, fake_stripe, tier):
    for _ in range(views.CONFIRMATIONS_PER_MINUTE):
        success(client, "cs_test_" + "a" * 20)
    requests_before = len(fake_stripe.requests)

    refused = success(client, "cs_test_" + "a" * 20)

    assert refused.status_code == 429
    assert len(fake_stripe.requests) == requests_before
