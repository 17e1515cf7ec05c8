"""Upgrading within a run: a standard-tier student pays the difference to the office-hours tier of their run.

Checkout is read at the HTTP boundary of the stripe library (the `fake_stripe` server); the webhook gets
recorded Stripe events, signed here with the webhook secret (as in test_stripe_webhook.py).
"""

from datetime import timedelta

import pytest
from django.test import Client
from django.urls import reverse
from django.utils import timezone

from enrollment import views
from enrollment.models import Enrollment, Payment, StripeEvent
from enrollment.stripe import signed
from enrollment.window import access_ends_at
from tests.enrollment.test_stripe_webhook import WEBHOOK_SECRET, post, run_together, stripe_event
from tests.factories import EnrollmentFactory, OfficeHoursTierFactory, RunFactory, TierFactory, UserFactory

pytestmark = pytest.mark.django_db

UPGRADE_SESSION = "cs_test_a1Upgrade000000000000000000000000000000000000000000000000"
UPGRADE_INTENT = "pi_3QUp2Lkd4IwHu7ixUpgrade"
SEAT_INTENT = "pi_3QVs2Lkd4IwHu7ixbSble9uh"  # the recorded checkout_session_completed.json's


@pytest.fixture(autouse=True)
def webhook_secret(settings):
    settings.STRIPE_WEBHOOK_SECRET = WEBHOOK_SECRET


@pytest.fixture
def run():
    return RunFactory(title="Spring cohort", slug="spring", starts_at=timezone.now() - timedelta(days=10))


@pytest.fixture
def standard(run):
    return TierFactory(run=run, name="Standard", price="240.00", currency="USD", months=2)


@pytest.fixture
def office_hours(run):
    return OfficeHoursTierFactory(run=run, name="With office hours", price="480.00", currency="USD", months=4)


@pytest.fixture
def student(standard, office_hours):
    return EnrollmentFactory(run=standard.run, tier=standard, user=UserFactory(email="sam@example.com"))


def upgrade_event(enrollment, *, from_tier, to_tier, event_id="evt_1QUp2Lkd4IwHu7ixUpgrade", **changes):
    """A signed-to-be checkout.session.completed of an upgrade session, as Stripe would send it."""
    event = stripe_event("checkout_session_completed.json")
    event["id"] = event_id
    obj = event["data"]["object"]
    obj.update(
        id=UPGRADE_SESSION,
        payment_intent=UPGRADE_INTENT,
        amount_total=24000,
        amount_subtotal=24000,
        currency="usd",
        customer_email=enrollment.user.email,
        metadata=signed(
            {
                "purpose": "upgrade",
                "enrollment_id": str(enrollment.pk),
                "from_tier_id": str(from_tier.pk),
                "to_tier_id": str(to_tier.pk),
                "run": enrollment.run.slug,
            }
        ),
    )
    obj["customer_details"]["email"] = enrollment.user.email
    obj.update(changes)
    return event


def refund_event(intent, event_id):
    event = stripe_event("charge_refunded.json", payment_intent=intent)
    event["id"] = event_id
    return event


def tier_of(enrollment):
    enrollment.refresh_from_db()
    return enrollment.tier


# --- Starting Checkout for the difference ---


def test_upgrade_button_starts_checkout_for_the_difference(client, fake_stripe, student, standard, office_hours):
    client.force_login(student.user)

    response = client.post(reverse("payments:upgrade", args=[student.pk]))

    assert response.status_code == 303
    assert response["Location"].startswith("https://checkout.stripe.com/")
    [request] = fake_stripe.requests
    assert (request.method, request.path) == ("POST", "/v1/checkout/sessions")
    form = request.form
    assert form["mode"] == ["payment"]
    assert form["line_items[0][price_data][currency]"] == ["usd"]
    assert form["line_items[0][price_data][unit_amount]"] == ["24000"]  # 480 − 240
    assert form["line_items[0][quantity]"] == ["1"]
    name = f"{student.run.course.title} – Spring cohort – upgrade from Standard to With office hours"
    assert form["line_items[0][price_data][product_data][name]"] == [name]
    assert "allow_promotion_codes" not in form
    assert form["metadata[purpose]"] == ["upgrade"]
    assert form["metadata[enrollment_id]"] == [str(student.pk)]
    assert form["metadata[from_tier_id]"] == [str(standard.pk)]
    assert form["metadata[to_tier_id]"] == [str(office_hours.pk)]
    assert "metadata[tier_id]" not in form  # never mistaken for a seat
    assert form["customer_email"] == ["sam@example.com"]
    assert form["client_reference_id"] == [str(student.user.pk)]
    # Nothing changes until Stripe says it is paid.
    assert tier_of(student) == standard and not Payment.objects.exists()


def test_upgrade_is_offered_while_the_run_is_closed_to_new_students(client, fake_stripe, student):
    student.run.enrollment_open = False
    student.run.save()
    client.force_login(student.user)

    assert client.post(reverse("payments:upgrade", args=[student.pk])).status_code == 303


@pytest.mark.parametrize("case", ["office-hours student", "access ended", "refunded"])
def test_no_upgrade_when_none_is_possible(client, fake_stripe, student, office_hours, case):
    if case == "office-hours student":
        student.tier = office_hours
    elif case == "access ended":
        student.run.starts_at = timezone.now() - timedelta(days=100)
        student.run.save()
    else:
        student.status = Enrollment.Status.REFUNDED
    student.save()
    client.force_login(student.user)

    response = client.post(reverse("payments:upgrade", args=[student.pk]))

    assert response.status_code == 409
    assert views.NO_UPGRADE in response.content.decode()
    assert fake_stripe.requests == []


def test_nobody_upgrades_someone_elses_enrollment(client, fake_stripe, student):
    client.force_login(UserFactory())
    assert client.post(reverse("payments:upgrade", args=[student.pk])).status_code == 404
    client.logout()
    response = client.post(reverse("payments:upgrade", args=[student.pk]))
    assert response.status_code == 302 and response["Location"].startswith(reverse("account_login"))
    assert client.get(reverse("payments:upgrade", args=[student.pk])).status_code == 405
    assert fake_stripe.requests == []


def test_office_hours_refusal_offers_the_upgrade(client, student):
    client.force_login(student.user)

    response = client.get(reverse("officehours:index", args=[student.run.course.slug]))

    assert response.status_code == 403
    content = response.content.decode()
    assert "Office hours are part of the office-hours tier." in content
    assert "Upgrade for 240.00 USD" in content
    assert f'action="{reverse("payments:upgrade", args=[student.pk])}"' in content


# --- The webhook upgrades exactly once ---


def test_signed_upgrade_webhook_upgrades_and_the_window_follows_the_new_tier(client, student, standard, office_hours):
    response = post(client, upgrade_event(student, from_tier=standard, to_tier=office_hours))

    assert response.status_code == 200
    student.refresh_from_db()
    assert student.tier == office_hours and student.status == Enrollment.Status.ACTIVE
    assert student.access_ends_at == access_ends_at(starts_at=student.run.starts_at, months=4)
    payment = Payment.objects.get()
    assert (payment.kind, payment.from_tier, payment.tier) == (Payment.Kind.UPGRADE, standard, office_hours)
    assert (payment.enrollment, payment.amount_total, payment.currency) == (student, 24000, "USD")
    assert Enrollment.objects.count() == 1


def test_upgrade_webhook_replayed_and_resent_upgrades_once(client, student, standard, office_hours):
    event = upgrade_event(student, from_tier=standard, to_tier=office_hours)
    for _ in range(3):
        assert post(client, event).status_code == 200
    # Stripe may also send the same session under a second event (async_payment_succeeded after completed).
    again = upgrade_event(student, from_tier=standard, to_tier=office_hours, event_id="evt_1QUp2Lkd4IwHu7ixAgain")
    assert post(client, again).status_code == 200

    assert tier_of(student) == office_hours
    assert Payment.objects.count() == 1 and StripeEvent.objects.count() == 2


def test_success_page_before_the_webhook_upgrades_once(client, fake_stripe, student, standard, office_hours):
    event = upgrade_event(student, from_tier=standard, to_tier=office_hours)
    fake_stripe.sessions[UPGRADE_SESSION] = event["data"]["object"]
    client.force_login(student.user)

    page = client.get(reverse("payments:success"), {"session_id": UPGRADE_SESSION})
    assert page.status_code == 200
    assert views.UPGRADED in page.content.decode()
    assert tier_of(student) == office_hours

    assert post(client, event).status_code == 200
    again = client.get(reverse("payments:success"), {"session_id": UPGRADE_SESSION})
    assert views.UPGRADED in again.content.decode()
    assert tier_of(student) == office_hours
    assert Payment.objects.count() == 1


def test_success_page_after_the_webhook_finds_it_done(client, fake_stripe, student, standard, office_hours):
    event = upgrade_event(student, from_tier=standard, to_tier=office_hours)
    post(client, event)
    fake_stripe.sessions[UPGRADE_SESSION] = event["data"]["object"]

    page = client.get(reverse("payments:success"), {"session_id": UPGRADE_SESSION})

    assert views.UPGRADED in page.content.decode()
    assert Payment.objects.count() == 1 and tier_of(student) == office_hours


# --- Forged or mismatched upgrades change nothing ---


@pytest.mark.parametrize(
    "changes",
    [
        {"amount_total": 100},  # less than the difference
        {"amount_total": 48000},  # the full price is not the difference either
        {"currency": "eur"},
    ],
    ids=["too little", "too much", "other currency"],
)
def test_a_mismatched_amount_or_currency_upgrades_nothing(client, fake_stripe, student, standard, office_hours,
                                                          changes):  # fmt: skip
    event = upgrade_event(student, from_tier=standard, to_tier=office_hours, **changes)

    assert post(client, event).status_code == 200

    assert tier_of(student) == standard
    payment = Payment.objects.get()  # the money is recorded for the instructor, tied to nothing
    assert payment.enrollment is None and payment.kind == Payment.Kind.UPGRADE
    fake_stripe.sessions[UPGRADE_SESSION] = event["data"]["object"]
    page = client.get(reverse("payments:success"), {"session_id": UPGRADE_SESSION})
    assert views.UPGRADE_NOT_APPLIED in page.content.decode()
    assert tier_of(student) == standard


def test_an_upgrade_to_a_tier_of_another_run_upgrades_nothing(client, student, standard):
    elsewhere = OfficeHoursTierFactory(run=RunFactory(), price="480.00")

    post(client, upgrade_event(student, from_tier=standard, to_tier=elsewhere))

    assert tier_of(student) == standard
    assert not Payment.objects.filter(enrollment__isnull=False).exists()


def test_an_unpaid_upgrade_session_upgrades_nothing(client, student, standard, office_hours):
    post(client, upgrade_event(student, from_tier=standard, to_tier=office_hours, payment_status="unpaid"))

    assert tier_of(student) == standard and not Payment.objects.exists()


# --- Refunds undo exactly what was bought ---


def test_refund_of_the_upgrade_returns_to_standard_and_keeps_the_seat(client, student, standard, office_hours):
    post(client, upgrade_event(student, from_tier=standard, to_tier=office_hours))

    response = post(client, refund_event(UPGRADE_INTENT, "evt_3QUp2Lkd4IwHu7ixRefund"))

    assert response.status_code == 200
    student.refresh_from_db()
    assert student.tier == standard and student.status == Enrollment.Status.ACTIVE
    assert student.access_ends_at == access_ends_at(starts_at=student.run.starts_at, months=2)
    assert Payment.objects.get().refunded_at is not None


def test_refund_of_the_upgrade_arriving_first_means_no_upgrade(client, student, standard, office_hours):
    post(client, refund_event(UPGRADE_INTENT, "evt_3QUp2Lkd4IwHu7ixRefund"))
    post(client, upgrade_event(student, from_tier=standard, to_tier=office_hours))

    student.refresh_from_db()
    assert student.tier == standard and student.status == Enrollment.Status.ACTIVE
    assert Payment.objects.count() == 1


def test_a_stripe_seat_upgraded_then_either_payment_refunded(client, standard, office_hours):
    """Seat then upgrade, both through Stripe: the upgrade's refund keeps the seat; the seat's refund ends it."""
    post(client, stripe_event("checkout_session_completed.json", tier=standard))
    seat = Enrollment.objects.get()
    assert seat.tier == standard
    post(client, upgrade_event(seat, from_tier=standard, to_tier=office_hours))
    assert tier_of(seat) == office_hours
    assert sorted(Payment.objects.values_list("kind", flat=True)) == ["seat", "upgrade"]

    post(client, refund_event(UPGRADE_INTENT, "evt_3QUp2Lkd4IwHu7ixRefund"))
    seat.refresh_from_db()
    assert (seat.tier, seat.status) == (standard, Enrollment.Status.ACTIVE)

    post(client, refund_event(SEAT_INTENT, "evt_3QUp2Lkd4IwHu7ixSeatRefund"))
    seat.refresh_from_db()
    assert seat.status == Enrollment.Status.REFUNDED


def test_refunding_the_seat_still_refunds_an_upgraded_enrollment(client, standard, office_hours):
    post(client, stripe_event("checkout_session_completed.json", tier=standard))
    seat = Enrollment.objects.get()
    post(client, upgrade_event(seat, from_tier=standard, to_tier=office_hours))

    post(client, refund_event(SEAT_INTENT, "evt_3QUp2Lkd4IwHu7ixSeatRefund"))

    assert Enrollment.objects.get().status == Enrollment.Status.REFUNDED


@pytest.mark.parametrize("source", [Enrollment.Source.ADMIN, Enrollment.Source.BULK])
def test_an_admin_or_csv_seat_upgraded_then_refunded_returns_to_standard_only(client, standard, office_hours, source):
    seat = EnrollmentFactory(run=standard.run, tier=standard, source=source)
    post(client, upgrade_event(seat, from_tier=standard, to_tier=office_hours))
    assert tier_of(seat) == office_hours

    post(client, refund_event(UPGRADE_INTENT, "evt_3QUp2Lkd4IwHu7ixRefund"))

    seat.refresh_from_db()
    assert (seat.tier, seat.status, seat.source) == (standard, Enrollment.Status.ACTIVE, source)


def test_an_upgrade_refund_replayed_changes_nothing_more(client, student, standard, office_hours):
    post(client, upgrade_event(student, from_tier=standard, to_tier=office_hours))
    refund = refund_event(UPGRADE_INTENT, "evt_3QUp2Lkd4IwHu7ixRefund")
    for _ in range(3):
        post(client, refund)
    resent = refund_event(UPGRADE_INTENT, "evt_3QUp2Lkd4IwHu7ixRefundAgain")
    post(client, resent)

    student.refresh_from_db()
    assert (student.tier, student.status) == (standard, Enrollment.Status.ACTIVE)


# --- Many copies at once ---


@pytest.mark.django_db(transaction=True)
def test_upgrade_event_10_times_at_once_with_the_success_page_upgrades_once(on_postgres, fake_stripe):
    run = RunFactory(starts_at=timezone.now() - timedelta(days=10))
    standard = TierFactory(run=run, price="240.00")
    office_hours = OfficeHoursTierFactory(run=run, price="480.00")
    enrollment = EnrollmentFactory(run=run, tier=standard)
    events = [
        upgrade_event(enrollment, from_tier=standard, to_tier=office_hours, event_id=f"evt_1QUp2Lkd4IwHuCopy{i % 2}")
        for i in range(10)
    ]  # two event ids for one session: Stripe's retries and a second event type alike
    fake_stripe.sessions[UPGRADE_SESSION] = events[0]["data"]["object"]

    def webhook(event):
        return lambda: post(Client(), event)

    def success_page():
        return Client().get(reverse("payments:success"), {"session_id": UPGRADE_SESSION})

    results = run_together(*[webhook(event) for event in events], *[success_page] * 3)

    errors = [result for result in results if isinstance(result, BaseException)]
    assert not errors, errors
    assert [response.status_code for response in results] == [200] * 13
    for page in results[10:]:
        assert views.UPGRADED in page.content.decode()
    assert tier_of(enrollment) == office_hours
    assert Payment.objects.count() == 1 and StripeEvent.objects.count() == 2
