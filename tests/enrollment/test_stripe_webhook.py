"""The Stripe webhook: recorded Stripe events, signed here with the webhook secret, posted to the real view."""

import hashlib
import hmac
import json
import threading
import time
from datetime import timedelta
from pathlib import Path

import pytest
from django.db import connections
from django.test import Client
from django.urls import reverse
from django.utils import timezone

from accounts.models import User
from enrollment import views
from enrollment.models import Enrollment, Payment, SentEmail, StripeEvent
from enrollment.stripe import signed
from tests.factories import EnrollmentFactory, OfficeHoursTierFactory, RunFactory, TierFactory, UserFactory

STRIPE_DATA = Path(__file__).resolve().parents[1] / "data" / "stripe"
WEBHOOK_SECRET = "whsec_4f1c2e8b9d7a6f5e3c1b0a9d8e7f6a5b"
URL = "/payments/stripe/webhook/"

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def webhook_secret(settings):
    settings.STRIPE_WEBHOOK_SECRET = WEBHOOK_SECRET


@pytest.fixture
def run():
    return RunFactory(
        title="Spring cohort", slug="spring", enrollment_open=True, starts_at=timezone.now() + timedelta(days=20)
    )


@pytest.fixture
def tier(run):
    return TierFactory(run=run, price="240.00")


@pytest.fixture
def office_hours(run):
    return OfficeHoursTierFactory(run=run, price="480.00")


def stripe_event(name, *, tier=None, **changes):
    """A recorded event from tests/data/stripe/; its session sells the tier, and `changes` go on data.object."""
    event = json.loads((STRIPE_DATA / name).read_text())
    obj = event["data"]["object"]
    if tier is not None:
        obj["metadata"] = signed({"tier_id": str(tier.pk), "run": tier.run.slug, "tier": tier.kind})
    obj.update(changes)
    return event


def signature(payload, *, secret=WEBHOOK_SECRET, timestamp=None):
    """The Stripe-Signature header Stripe would send: t=<unix time>,v1=<hex HMAC-SHA256 of "t.payload">."""
    timestamp = int(time.time()) if timestamp is None else timestamp
    digest = hmac.new(secret.encode(), f"{timestamp}.{payload}".encode(), hashlib.sha256).hexdigest()
    return f"t={timestamp},v1={digest}"


def post(client, event, *, payload=None, **signing):
    payload = json.dumps(event) if payload is None else payload
    headers = {"Stripe-Signature": signature(payload, **signing)}
    return client.post(URL, data=payload, content_type="application/json", headers=headers)


def counts():
    return {
        "events": StripeEvent.objects.count(),
        "payments": Payment.objects.count(),
        "enrollments": Enrollment.objects.count(),
        "users": User.objects.count(),
        "emails": SentEmail.objects.count(),
    }


NOTHING = {"events": 0, "payments": 0, "enrollments": 0, "users": 0, "emails": 0}


def welcome_emails():
    return SentEmail.objects.filter(kind=SentEmail.Kind.WELCOME)


# --- Only Stripe gets in ---


def test_forged_signature_is_refused_and_nothing_written(client, tier):
    response = post(client, stripe_event("checkout_session_completed.json", tier=tier), secret="whsec_guessed")

    assert response.status_code == 400
    assert counts() == NOTHING


def test_payload_changed_after_signing_is_refused(client, tier):
    event = stripe_event("checkout_session_completed.json", tier=tier)
    header = signature(json.dumps(event))
    event["data"]["object"]["customer_details"]["email"] = "mallory@example.com"

    response = client.post(
        URL, data=json.dumps(event), content_type="application/json", headers={"Stripe-Signature": header}
    )

    assert response.status_code == 400
    assert counts() == NOTHING


def test_old_timestamp_is_refused_even_with_a_good_signature(client, tier):
    response = post(
        client, stripe_event("checkout_session_completed.json", tier=tier), timestamp=int(time.time()) - 301
    )

    assert response.status_code == 400
    assert counts() == NOTHING


def test_recent_timestamp_within_stripes_tolerance_is_accepted(client, tier):
    response = post(
        client, stripe_event("checkout_session_completed.json", tier=tier), timestamp=int(time.time()) - 240
    )

    assert response.status_code == 200


def test_missing_signature_header_is_refused(client, tier):
    payload = json.dumps(stripe_event("checkout_session_completed.json", tier=tier))

    response = client.post(URL, data=payload, content_type="application/json")

    assert response.status_code == 400
    assert counts() == NOTHING


@pytest.mark.parametrize("header", ["", "garbage", "t=now,v1=abc", "v1=" + "0" * 64, "t=1795530900"])
def test_malformed_signature_header_is_refused(client, tier, header):
    payload = json.dumps(stripe_event("checkout_session_completed.json", tier=tier))

    response = client.post(URL, data=payload, content_type="application/json", headers={"Stripe-Signature": header})

    assert response.status_code == 400
    assert counts() == NOTHING


def test_without_a_webhook_secret_every_event_is_refused(client, settings, tier):
    settings.STRIPE_WEBHOOK_SECRET = ""

    response = post(client, stripe_event("checkout_session_completed.json", tier=tier), secret="")

    assert response.status_code == 400
    assert counts() == NOTHING


def test_signed_body_that_is_not_an_event_is_refused(client):
    response = post(client, None, payload="this is not JSON")

    assert response.status_code == 400
    assert counts() == NOTHING


def test_webhook_answers_only_post(client):
    assert client.get(URL).status_code == 405


# --- Completion ---


def test_completed_session_enrolls_the_buyer_and_queues_one_welcome_email(client, tier):
    event = stripe_event("checkout_session_completed.json", tier=tier)

    response = post(client, event)

    assert response.status_code == 200
    enrollment = Enrollment.objects.get()
    assert (enrollment.user.email, enrollment.run, enrollment.tier) == ("jane.buyer@example.com", tier.run, tier)
    assert (enrollment.source, enrollment.status) == (Enrollment.Source.STRIPE, Enrollment.Status.ACTIVE)
    assert (enrollment.user.first_name, enrollment.user.last_name) == ("Jane", "Buyer")
    assert not enrollment.user.has_usable_password()
    payment = Payment.objects.get()
    session = event["data"]["object"]
    assert (payment.reference, payment.checkout_session_id) == (session["payment_intent"], session["id"])
    assert (payment.enrollment, payment.amount_total, payment.currency) == (enrollment, 24000, "USD")
    assert list(StripeEvent.objects.values_list("event_id", "type")) == [(event["id"], "checkout.session.completed")]
    assert welcome_emails().filter(enrollment=enrollment).count() == 1


def test_one_event_replayed_100_times_enrolls_once_and_emails_once(client, tier):
    event = stripe_event("checkout_session_completed.json", tier=tier)

    statuses = {post(client, event).status_code for _ in range(100)}

    assert statuses == {200}
    assert counts() == {"events": 1, "payments": 1, "enrollments": 1, "users": 1, "emails": 1}
    assert welcome_emails().count() == 1


def test_webhook_after_the_success_page_finds_it_done(client, fake_stripe, tier):
    event = stripe_event("checkout_session_completed.json", tier=tier)
    session = event["data"]["object"]
    fake_stripe.sessions[session["id"]] = session

    page = client.get(reverse("payments:success"), {"session_id": session["id"]})
    response = post(client, event)

    assert views.RECEIVED in page.content.decode()
    assert response.status_code == 200
    assert counts() == {"events": 1, "payments": 1, "enrollments": 1, "users": 1, "emails": 1}


def test_completion_for_a_closed_run_still_enrolls_because_the_money_was_taken(client, run, tier):
    run.enrollment_open = False
    run.save()

    response = post(client, stripe_event("checkout_session_completed.json", tier=tier))

    assert response.status_code == 200
    assert Enrollment.objects.get().status == Enrollment.Status.ACTIVE
    assert welcome_emails().count() == 1


def test_completion_for_an_email_stored_in_upper_case_enrolls_that_same_user(client, tier):
    user = UserFactory()
    User.objects.filter(pk=user.pk).update(email="Jane.Buyer@Example.COM")  # an address stored before normalising

    post(client, stripe_event("checkout_session_completed.json", tier=tier))

    assert User.objects.count() == 1
    assert Enrollment.objects.get().user_id == user.pk


def test_completion_with_an_upper_case_email_enrolls_the_existing_user(client, tier):
    user = UserFactory(email="jane.buyer@example.com")
    event = stripe_event("checkout_session_completed.json", tier=tier)
    event["data"]["object"]["customer_details"]["email"] = "JANE.Buyer@EXAMPLE.com"

    post(client, event)

    assert User.objects.count() == 1
    assert Enrollment.objects.get().user_id == user.pk


def test_unpaid_completed_session_enrolls_nobody(client, office_hours):
    response = post(client, stripe_event("checkout_session_completed_unpaid.json", tier=office_hours))

    assert response.status_code == 200
    assert counts() == {**NOTHING, "events": 1}


def test_delayed_payment_enrolls_when_it_succeeds(client, office_hours):
    post(client, stripe_event("checkout_session_completed_unpaid.json", tier=office_hours))
    response = post(client, stripe_event("checkout_session_async_payment_succeeded.json", tier=office_hours))

    assert response.status_code == 200
    enrollment = Enrollment.objects.get()
    assert (enrollment.user.email, enrollment.tier) == ("sepa.buyer@example.com", office_hours)
    assert welcome_emails().filter(enrollment=enrollment).count() == 1
    assert StripeEvent.objects.count() == 2


def test_session_paid_in_full_by_a_promotion_code_enrolls(client, tier):
    event = stripe_event(
        "checkout_session_completed.json",
        tier=tier,
        payment_status="no_payment_required",
        payment_intent=None,
        amount_total=0,
    )

    post(client, event)

    payment = Payment.objects.get()
    assert (payment.reference, payment.amount_total) == (event["data"]["object"]["id"], 0)
    assert Enrollment.objects.get().status == Enrollment.Status.ACTIVE


def test_a_session_this_site_did_not_start_is_recorded_and_ignored(client, tier):
    response = post(client, stripe_event("checkout_session_completed.json", metadata={}))

    assert response.status_code == 200
    assert counts() == {**NOTHING, "events": 1}


@pytest.mark.parametrize(
    "metadata",
    [
        pytest.param(lambda tier: {"tier_id": str(tier.pk)}, id="another tool's tier_id, unsigned"),
        pytest.param(lambda tier: {"tier_id": str(tier.pk), "run": tier.run.slug, "tier": tier.kind}, id="unsigned"),
        pytest.param(
            lambda tier: {**signed({"tier_id": "1", "run": tier.run.slug, "tier": tier.kind}), "tier_id": str(tier.pk)},
            id="signed for another tier, tier_id changed",
        ),
        pytest.param(
            lambda tier: {"tier_id": str(tier.pk), "run": tier.run.slug, "tier": tier.kind, "signature": "0" * 64},
            id="forged signature",
        ),
    ],
)
def test_a_session_with_a_tier_id_this_site_did_not_sign_enrolls_nobody(client, tier, metadata):
    """Another site or tool on the same Stripe account can put a tier_id in its sessions: only signed ones count."""
    response = post(client, stripe_event("checkout_session_completed.json", metadata=metadata(tier)))

    assert response.status_code == 200
    assert counts() == {**NOTHING, "events": 1}


def test_a_failing_handler_rolls_back_and_answers_500_so_stripe_retries(run):
    event = stripe_event("checkout_session_completed.json")
    metadata = {"tier_id": "424242", "run": run.slug, "tier": "standard"}  # no such tier yet
    event["data"]["object"]["metadata"] = signed(metadata)
    client = Client(raise_request_exception=False)

    failed = post(client, event)

    assert failed.status_code == 500
    assert counts() == NOTHING  # not even the event id: the retry must run the handler again

    TierFactory(pk=424242, run=run)
    retried = post(client, event)

    assert retried.status_code == 200
    assert counts() == {"events": 1, "payments": 1, "enrollments": 1, "users": 1, "emails": 1}


# --- Refunds ---


def test_full_refund_ends_the_enrollment(client, tier):
    post(client, stripe_event("checkout_session_completed.json", tier=tier))

    response = post(client, stripe_event("charge_refunded.json"))

    assert response.status_code == 200
    assert Enrollment.objects.get().status == Enrollment.Status.REFUNDED
    assert Payment.objects.get().refunded_at is not None


def test_refund_before_its_completion_ends_up_refunded_without_a_welcome_email(client, tier):
    refund = post(client, stripe_event("charge_refunded.json"))
    assert refund.status_code == 200
    assert Payment.objects.get().refunded_at is not None
    assert not Enrollment.objects.exists()

    completion = post(client, stripe_event("checkout_session_completed.json", tier=tier))

    assert completion.status_code == 200
    enrollment = Enrollment.objects.get()
    assert enrollment.status == Enrollment.Status.REFUNDED
    assert not welcome_emails().exists()
    assert Payment.objects.count() == 1
    assert Payment.objects.get().enrollment == enrollment


def test_refund_and_completion_both_replayed_in_any_order_end_the_same(client, tier):
    refund = stripe_event("charge_refunded.json")
    completion = stripe_event("checkout_session_completed.json", tier=tier)

    for event in (refund, completion, refund, completion, completion, refund):
        assert post(client, event).status_code == 200

    assert Enrollment.objects.get().status == Enrollment.Status.REFUNDED
    assert not welcome_emails().exists()
    assert counts()["events"] == 2


def test_partial_refund_is_recorded_and_changes_nothing_else(client, tier):
    post(client, stripe_event("checkout_session_completed.json", tier=tier))

    response = post(client, stripe_event("charge_refunded_partial.json"))

    assert response.status_code == 200
    assert Enrollment.objects.get().status == Enrollment.Status.ACTIVE
    assert Payment.objects.get().refunded_at is None
    assert StripeEvent.objects.filter(type="charge.refunded").count() == 1


def test_refunding_a_duplicate_payment_keeps_the_seat_the_first_one_paid_for(client, tier):
    first = stripe_event("checkout_session_completed.json", tier=tier)
    duplicate = stripe_event(
        "checkout_session_completed.json",
        tier=tier,
        id="cs_test_a1Duplicate00000000000000000000000000000000000000000000000",
        payment_intent="pi_3QRd2Lkd4IwHu7ixDuplicate",
    )
    duplicate["id"] = "evt_1QRd2Lkd4IwHu7ixDuplicate"
    refund_of_duplicate = stripe_event("charge_refunded.json", payment_intent="pi_3QRd2Lkd4IwHu7ixDuplicate")
    refund_of_duplicate["id"] = "evt_3QRd2Lkd4IwHu7ixDuplicate"
    post(client, first)
    post(client, duplicate)

    post(client, refund_of_duplicate)
    assert Enrollment.objects.get().status == Enrollment.Status.ACTIVE

    post(client, stripe_event("charge_refunded.json"))  # now the first payment too
    assert Enrollment.objects.get().status == Enrollment.Status.REFUNDED


def test_refund_of_a_payment_this_site_never_saw_enrolls_nobody(client):
    response = post(client, stripe_event("charge_refunded.json"))

    assert response.status_code == 200
    assert (Enrollment.objects.count(), User.objects.count()) == (0, 0)


# --- Anything else ---


def test_unknown_event_type_answers_200_and_records_only_the_event(client, tier):
    EnrollmentFactory(run=tier.run, tier=tier)
    before = counts()
    event = stripe_event("payment_intent_created.json")

    response = post(client, event)

    assert response.status_code == 200
    assert counts() == {**before, "events": 1}
    assert StripeEvent.objects.get().type == "payment_intent.created"


# --- Many copies at once ---


def run_together(*jobs):
    """Run each job in its own thread, all released at once; each thread uses (and closes) its own connection."""
    barrier = threading.Barrier(len(jobs))
    results = [None] * len(jobs)

    def worker(index, job):
        try:
            barrier.wait()
            results[index] = job()
        except BaseException as error:  # reported below, not lost in the thread
            results[index] = error
        finally:
            connections.close_all()

    threads = [threading.Thread(target=worker, args=(index, job)) for index, job in enumerate(jobs)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)
    return results


@pytest.mark.django_db(transaction=True)
def test_same_event_20_times_at_once_with_the_success_page_enrolls_once_and_emails_once(
    on_postgres, fake_stripe, eager_celery, mailoutbox
):
    tier = TierFactory(run=RunFactory(enrollment_open=True, starts_at=timezone.now() + timedelta(days=20)))
    event = stripe_event("checkout_session_completed.json", tier=tier)
    session = event["data"]["object"]
    fake_stripe.sessions[session["id"]] = session
    payload = json.dumps(event)

    def webhook():
        return Client().post(
            URL, data=payload, content_type="application/json", headers={"Stripe-Signature": signature(payload)}
        )

    def success_page():
        return Client().get(reverse("payments:success"), {"session_id": session["id"]})

    results = run_together(*[webhook] * 20, *[success_page] * 3)

    errors = [result for result in results if isinstance(result, BaseException)]
    assert not errors, errors
    assert [response.status_code for response in results] == [200] * 23
    for page in results[20:]:
        assert views.RECEIVED in page.content.decode()
    assert counts() == {"events": 1, "payments": 1, "enrollments": 1, "users": 1, "emails": 1}
    welcome = welcome_emails().get()
    assert welcome.status == SentEmail.Status.SENT
    assert [message.to for message in mailoutbox] == [["jane.buyer@example.com"]]
