"""Buying a seat: start Stripe Checkout, and the pages the buyer comes back to.

Fulfilment happens in `services.record_checkout_completed`, called by the webhook and by the
success page, whichever comes first. Stripe is called outside any database transaction.
"""

import logging
import re

import stripe
from django.contrib.auth.views import redirect_to_login
from django.http import HttpResponseRedirect
from django.shortcuts import get_object_or_404, render
from django.urls import reverse
from django.utils import timezone
from django.views.decorators.http import require_GET, require_POST
from django_ratelimit.decorators import ratelimit

from courses.models import Course
from courseweb.limits import user_or_client

from . import services
from . import stripe as checkout
from .access import course_access, upgrade_offer
from .models import Enrollment, Tier

logger = logging.getLogger(__name__)

ENROLMENT_CLOSED = "Enrolment in {run} is closed, so this option can no longer be bought."
WRONG_COURSE = "This option is not offered for that course. Go back to the course page and choose again."
NOT_ON_SALE = "This course is not on sale."
NOT_SET_UP = "Payments are not set up yet, so the course cannot be bought online right now."
NOT_STARTED = "The payment could not be started, and nothing was charged. Please try again in a minute."
RECEIVED = "Payment received – check your email."
CONFIRMING = "We are confirming your payment. You will get an email as soon as it is confirmed."
NOT_CONFIRMED_YET = (
    "Thank you. We could not confirm your payment just now. There is nothing more for you to do: "
    "once it is confirmed you will get an email with everything you need to start."
)
REFUNDED = "This payment was refunded, so it gives no access to the course."
NO_SESSION = "There is no payment to confirm at this address."
NO_PAYMENT_TAKEN = "No payment was taken."
NO_UPGRADE = (
    "There is no upgrade to buy for this enrollment: it already has the best tier of its run, "
    "its access has ended, or the run has no office-hours tier."
)
UPGRADED = "Upgrade received: office hours are now part of your course."
UPGRADE_NOT_APPLIED = (
    "Thank you. We received your payment but could not apply the upgrade automatically; "
    "the instructor will sort it out and write to you."
)

# Each of these pages calls Stripe: a person gets this many a minute (counted in the shared cache).
CHECKOUTS_PER_MINUTE = 10
CONFIRMATIONS_PER_MINUTE = 20
SLOW_DOWN = "Too many payment pages were opened from here in a minute. Please wait a minute, then try again."
limit_checkouts = ratelimit(
    key=user_or_client, rate=f"{CHECKOUTS_PER_MINUTE}/m", group="stripe-checkout", method="POST", block=False
)
limit_confirmations = ratelimit(
    key=user_or_client, rate=f"{CONFIRMATIONS_PER_MINUTE}/m", group="stripe-confirm", block=False
)

# Checkout Session ids as Stripe makes them; anything else is not worth a request to Stripe.
SESSION_ID = re.compile(r"cs_(test|live)_[A-Za-z0-9]{1,250}")


def _message(request, *, title, message, status, course=None):
    context = {"title": title, "message": message, "course": course}
    return render(request, "enrollment/checkout_message.html", context, status=status)


@require_POST
@limit_checkouts
def checkout_start(request, tier_id):
    """Send the buyer to a Stripe Checkout page for one seat of this tier."""
    if request.limited:
        return _message(request, title="Please wait a minute", message=SLOW_DOWN, status=429)
    tier = get_object_or_404(Tier.objects.select_related("run__course"), pk=tier_id)
    run, course = tier.run, tier.run.course
    if request.POST.get("course") != course.slug:
        return _message(request, title="Choose again", message=WRONG_COURSE, status=400, course=course)
    if not course.is_published:
        # Unpublished: the course does not exist for buyers (its pages answer 404 too).
        return _message(request, title="Not on sale", message=NOT_ON_SALE, status=404)
    if not run.is_on_sale:
        message = ENROLMENT_CLOSED.format(run=run.title)
        return _message(request, title="Enrolment is closed", message=message, status=409, course=course)
    access = course_access(request.user, course)
    decision = access.may_buy(tier)
    if not decision:
        return _message(request, title="Already enrolled", message=decision.message, status=409, course=course)
    offer = access.upgrade()
    if offer is not None and offer.to_tier.pk == tier.pk:
        # A student of this run with a lower tier pays the difference, not the full price.
        return _start_upgrade(request, offer)
    return _to_checkout(
        request,
        course,
        lambda **urls: checkout.create_checkout_session(tier=tier, user=request.user, **urls),
        what=f"tier {tier.pk}",
    )


@require_POST
@limit_checkouts
def upgrade_start(request, enrollment_id):
    """Send a student to a Stripe Checkout page for the upgrade of their enrollment (the difference in price)."""
    if request.limited:
        return _message(request, title="Please wait a minute", message=SLOW_DOWN, status=429)
    if not request.user.is_authenticated:
        return redirect_to_login(request.get_full_path())
    enrollments = Enrollment.objects.select_related("run__course", "tier").prefetch_related("run__tiers")
    enrollment = get_object_or_404(enrollments, pk=enrollment_id, user=request.user)
    course = enrollment.run.course
    if not course.is_published:
        return _message(request, title="Not on sale", message=NOT_ON_SALE, status=404)
    offer = upgrade_offer(enrollment, at=timezone.now())
    if offer is None:
        return _message(request, title="No upgrade", message=NO_UPGRADE, status=409, course=course)
    return _start_upgrade(request, offer)


def _start_upgrade(request, offer):
    return _to_checkout(
        request,
        offer.enrollment.run.course,
        lambda **urls: checkout.create_upgrade_checkout_session(offer=offer, user=request.user, **urls),
        what=f"the upgrade of {offer.enrollment.pk}",
    )


def _to_checkout(request, course, create_session, *, what):
    """Start a Checkout Session with `create_session(success_url=, cancel_url=)` and send the buyer to it."""
    if not checkout.is_configured():
        return _message(request, title="Payments are not set up", message=NOT_SET_UP, status=503, course=course)
    try:
        session = create_session(
            success_url=request.build_absolute_uri(reverse("payments:success")),
            cancel_url=request.build_absolute_uri(f"{reverse('payments:cancelled')}?course={course.slug}"),
        )
    except stripe.StripeError:
        logger.exception("Stripe refused or did not answer a Checkout Session for %s", what)
        return _message(request, title="Payment not started", message=NOT_STARTED, status=502, course=course)
    # 303: the browser follows with a GET, as Stripe asks.
    return HttpResponseRedirect(session.url, status=303)


def _course_of(session):
    tier = Tier.objects.select_related("run__course").filter(pk=checkout.purchased_tier_id(session)).first()
    return (tier.run.course, tier.run) if tier else (None, None)


@require_GET
@limit_confirmations
def checkout_success(request):
    """Tell the buyer the payment arrived; enroll them now if the webhook has not yet."""
    if request.limited:
        return _message(request, title="Please wait a minute", message=SLOW_DOWN, status=429)
    session_id = request.GET.get("session_id", "")
    if not SESSION_ID.fullmatch(session_id):
        return _message(request, title="No payment here", message=NO_SESSION, status=400)
    if not checkout.is_configured():
        return _message(request, title="Payments are not set up", message=NOT_SET_UP, status=503)
    context = {"message": NOT_CONFIRMED_YET, "state": "unconfirmed"}
    try:
        session = checkout.retrieve_checkout_session(session_id)
    except stripe.InvalidRequestError as error:
        if error.http_status == 404:
            return _message(request, title="No payment here", message=NO_SESSION, status=404)
        logger.exception("Stripe refused to show Checkout Session %s", session_id)
        return render(request, "enrollment/checkout_success.html", context)
    except stripe.StripeError:
        # The webhook will fulfil the payment; the buyer only needs reassurance.
        logger.warning("Stripe did not answer for Checkout Session %s", session_id, exc_info=True)
        return render(request, "enrollment/checkout_success.html", context)
    if not checkout.is_course_purchase(session):
        return render(request, "enrollment/checkout_success.html", context)
    context["course"], context["run"] = _course_of(session)
    details = session.get("customer_details") or {}
    context["email"] = details.get("email") or session.get("customer_email") or ""
    try:
        enrollment = services.record_checkout_completed(session=session)
    except Exception:
        # The buyer has paid: never answer with an error page. Stripe retries the webhook until it succeeds.
        logger.exception("Could not fulfil Checkout Session %s from the success page", session_id)
        return render(request, "enrollment/checkout_success.html", context)
    if checkout.is_upgrade(session):
        context.update(_upgrade_outcome(session, enrollment))
    elif enrollment is None:
        context.update(message=CONFIRMING, state="confirming")
    elif enrollment.status == Enrollment.Status.ACTIVE:
        context.update(message=RECEIVED, state="received", enrollment=enrollment)
    else:
        # Paid and then refunded (the refund can arrive before the success page is opened).
        context.update(message=REFUNDED, state="refunded")
    return render(request, "enrollment/checkout_success.html", context)


def _upgrade_outcome(session, enrollment):
    """What the success page says of an upgrade session, once `services.record_checkout_completed` has run."""
    if session.get("payment_status") not in {"paid", "no_payment_required"}:
        return {"message": CONFIRMING, "state": "confirming"}
    if enrollment is None:
        return {"message": UPGRADE_NOT_APPLIED, "state": "unconfirmed"}
    if enrollment.status == Enrollment.Status.ACTIVE and str(enrollment.tier_id) == checkout.purchased_tier_id(session):
        return {"message": UPGRADED, "state": "upgraded", "enrollment": enrollment}
    return {"message": REFUNDED, "state": "refunded"}


@require_GET
def checkout_cancelled(request):
    """The buyer left Stripe Checkout without paying."""
    course = Course.objects.visible_to(request.user).filter(slug=request.GET.get("course", "")).first()
    return render(request, "enrollment/checkout_cancelled.html", {"course": course, "message": NO_PAYMENT_TAKEN})
