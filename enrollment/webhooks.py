"""The Stripe webhook: verify the signature, record the event id once, then act on the event.

Stripe sends an event again until it gets a 2xx, may send it twice, and does not keep order:
a refund can arrive before the completion it refunds. The StripeEvent row (unique event id)
makes a replay a no-op; the services make any order end the same way.
"""

import logging

import stripe
from django.conf import settings
from django.db import IntegrityError, transaction
from django.http import HttpResponse, HttpResponseBadRequest
from django.views.decorators.csrf import csrf_exempt
from django.views.decorators.http import require_POST

from . import services
from .models import StripeEvent
from .stripe import is_course_purchase

logger = logging.getLogger(__name__)

SESSION_COMPLETED = "checkout.session.completed"
ASYNC_PAYMENT_SUCCEEDED = "checkout.session.async_payment_succeeded"
CHARGE_REFUNDED = "charge.refunded"


def handle_event(*, event_type: str, obj: dict):
    """Act on one verified event. Call inside the transaction that records the event."""
    if event_type in {SESSION_COMPLETED, ASYNC_PAYMENT_SUCCEEDED}:
        if not is_course_purchase(obj):
            logger.warning("Checkout Session %s was not started by this site; ignored", obj.get("id"))
            return
        # Returns None, and changes nothing, while a delayed payment method has not paid yet.
        services.record_checkout_completed(session=obj)
    elif event_type == CHARGE_REFUNDED:
        # A partial refund leaves the seat paid for; only a full refund ends the enrollment.
        if obj.get("refunded") and obj.get("payment_intent"):
            services.record_refund(payment_intent=obj["payment_intent"])


@csrf_exempt
@require_POST
def stripe_webhook(request):
    """Receive a Stripe event. 400: not from Stripe; 200: done (or done before); 500: Stripe will retry."""
    secret = settings.STRIPE_WEBHOOK_SECRET
    if not secret:
        logger.error("A Stripe webhook arrived, but STRIPE_WEBHOOK_SECRET is not set: refused")
        return HttpResponseBadRequest("Webhook secret not configured.")
    try:
        event = stripe.Webhook.construct_event(request.body, request.headers.get("Stripe-Signature"), secret)
    except stripe.SignatureVerificationError:
        return HttpResponseBadRequest("Bad signature.")
    except ValueError:  # not JSON, or not an event
        return HttpResponseBadRequest("Bad payload.")

    # One transaction: if handling fails, the event id is not kept either, and Stripe's retry runs again.
    with transaction.atomic():
        try:
            with transaction.atomic():
                StripeEvent.objects.create(event_id=event.id, type=event.type)
        except IntegrityError:
            # Seen before. A copy arriving while the first is handled waits here until that one commits.
            return HttpResponse("Event already received.")
        handle_event(event_type=event.type, obj=event["data"]["object"].to_dict())
    return HttpResponse("OK")
