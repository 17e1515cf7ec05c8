"""Stripe Checkout: the configured client, and the Checkout Sessions that sell a tier or an upgrade within a run.

Every function here calls Stripe over the network: never call one inside a database transaction.
"""

import stripe
from django.conf import settings
from django.utils.crypto import constant_time_compare, salted_hmac

from .currency import minor_units
from .models import Tier

# Stripe's library waits 80 s for an answer by default; a buyer is waiting on these calls.
TIMEOUT = (5, 20)  # seconds to connect, seconds to read


class PaymentsNotConfigured(Exception):
    """STRIPE_SECRET_KEY is not set, so nothing can be sold online."""


def is_configured() -> bool:
    return bool(settings.STRIPE_SECRET_KEY)


def client() -> stripe.StripeClient:
    """Return a Stripe client for the configured key (and API address, when one is set)."""
    if not is_configured():
        raise PaymentsNotConfigured
    base_addresses = {"api": settings.STRIPE_API_BASE} if settings.STRIPE_API_BASE else None
    return stripe.StripeClient(
        api_key=settings.STRIPE_SECRET_KEY,
        base_addresses=base_addresses,
        # Retried POSTs are safe: the library sends one Idempotency-Key for all attempts.
        max_network_retries=2,
        http_client=stripe.RequestsClient(timeout=TIMEOUT),
    )


SIGNATURE = "signature"  # metadata key of the HMAC that shows this site made the session


def _metadata_signature(metadata: dict) -> str:
    payload = "&".join(f"{key}={metadata[key]}" for key in sorted(metadata) if key != SIGNATURE)
    return salted_hmac("courseweb.enrollment.checkout-metadata", payload, algorithm="sha256").hexdigest()


def signed(metadata: dict) -> dict:
    """Return the session metadata with an HMAC of it (keyed by SECRET_KEY).

    Other sites and tools on the same Stripe account can put a `tier_id` in a session's metadata too; only
    sessions this site started carry a valid signature, and only those are fulfilled.
    """
    return {**metadata, SIGNATURE: _metadata_signature(metadata)}


def is_signed(metadata: dict) -> bool:
    return constant_time_compare(metadata.get(SIGNATURE, ""), _metadata_signature(metadata))


def product_name(tier: Tier) -> str:
    return f"{tier.run.course.title} – {tier.run.title} – {tier.name}"


def create_checkout_session(*, tier: Tier, user=None, success_url: str, cancel_url: str):
    """Start a Checkout Session that sells one seat of the tier; return it (send the buyer to its `url`)."""
    if tier.stripe_price_id:
        line_item = {"price": tier.stripe_price_id, "quantity": 1}
    else:
        price_data = {
            "currency": tier.currency.lower(),
            "unit_amount": minor_units(tier.price, tier.currency),
            "product_data": {"name": product_name(tier)},
        }
        line_item = {"price_data": price_data, "quantity": 1}
    separator = "&" if "?" in success_url else "?"
    params = {
        "mode": "payment",
        "line_items": [line_item],
        "allow_promotion_codes": True,
        # Stripe fills in the session id; the success page looks the payment up by it.
        "success_url": f"{success_url}{separator}session_id={{CHECKOUT_SESSION_ID}}",
        "cancel_url": cancel_url,
        "metadata": signed({"tier_id": str(tier.pk), "run": tier.run.slug, "tier": tier.kind}),
    }
    if user is not None and user.is_authenticated:
        params["customer_email"] = user.email
        params["client_reference_id"] = str(user.pk)
    return client().v1.checkout.sessions.create(params)


UPGRADE = "upgrade"  # metadata["purpose"] of a session that sells an upgrade


def upgrade_product_name(offer) -> str:
    run = offer.enrollment.run
    return f"{run.course.title} – {run.title} – upgrade from {offer.from_tier.name} to {offer.to_tier.name}"


def create_upgrade_checkout_session(*, offer, user, success_url: str, cancel_url: str):
    """Start a Checkout Session that sells an upgrade (an `access.UpgradeOffer`): the difference, once; return it.

    The metadata says which enrollment goes from which tier to which; fulfilment
    (services.record_upgrade_completed) checks the amount and currency paid against the tiers' prices.
    No promotion codes: the difference is the price.
    """
    price_data = {
        "currency": offer.currency.lower(),
        "unit_amount": offer.amount,
        "product_data": {"name": upgrade_product_name(offer)},
    }
    separator = "&" if "?" in success_url else "?"
    params = {
        "mode": "payment",
        "line_items": [{"price_data": price_data, "quantity": 1}],
        "success_url": f"{success_url}{separator}session_id={{CHECKOUT_SESSION_ID}}",
        "cancel_url": cancel_url,
        "customer_email": user.email,
        "client_reference_id": str(user.pk),
        "metadata": signed(
            {
                "purpose": UPGRADE,
                "enrollment_id": str(offer.enrollment.pk),
                "from_tier_id": str(offer.from_tier.pk),
                "to_tier_id": str(offer.to_tier.pk),
                "run": offer.enrollment.run.slug,
            }
        ),
    }
    return client().v1.checkout.sessions.create(params)


def retrieve_checkout_session(session_id: str) -> dict:
    """Return the Checkout Session as Stripe has it now, as a plain dict."""
    return client().v1.checkout.sessions.retrieve(session_id).to_dict()


def is_course_purchase(session: dict) -> bool:
    """Tell whether this site started the session: it carries the tier (or the upgrade) in its metadata, signed.

    Other sessions on the same Stripe account (a payment link, another product, another site's checkout with a
    `tier_id` of its own) are not ours to fulfil.
    """
    metadata = session.get("metadata") or {}
    return (bool(metadata.get("tier_id")) or is_upgrade(session)) and is_signed(metadata)


def is_upgrade(session: dict) -> bool:
    """Tell whether the session sells an upgrade within a run (create_upgrade_checkout_session)."""
    metadata = session.get("metadata") or {}
    return metadata.get("purpose") == UPGRADE and bool(metadata.get("enrollment_id") and metadata.get("to_tier_id"))


def purchased_tier_id(session: dict) -> str:
    """The id of the tier the session buys: the seat's, or the upgrade's target."""
    metadata = session.get("metadata") or {}
    return metadata.get("to_tier_id") if is_upgrade(session) else metadata.get("tier_id")
