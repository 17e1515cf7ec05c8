"""Writes to enrollments. Each function validates, runs in one transaction and returns the model."""

import logging
import zoneinfo
from dataclasses import dataclass
from datetime import date, datetime, time

from django.conf import settings
from django.core.exceptions import ValidationError
from django.db import IntegrityError, transaction
from django.utils import timezone

from accounts.models import User, normalize_email
from courseweb.errors import Refusal

from . import emails
from .currency import minor_units
from .models import Enrollment, Extension, Payment, Run, SentEmail, Tier
from .rules import CREATED, REACTIVATED, UPGRADED, WRONG_RUN, decide
from .stripe import is_course_purchase, is_upgrade
from .tasks import deliver_emails, deliver_extension_emails

logger = logging.getLogger(__name__)

EXTEND_NOBODY = "Choose at least one enrollment to extend."
EXTEND_TO_THE_PAST = "Choose a date after today ({today:%d %B %Y}): access cannot end in the past."
EXTEND_NOT_LATER = "Access already lasts until then or later for: {students}. Choose a later date."
EXTEND_INACTIVE = "Only active enrollments can be extended; not: {students}."


class ExtensionRefused(Refusal):
    """The extension was refused; nothing was changed."""


@dataclass(frozen=True)
class EnrollResult:
    enrollment: Enrollment
    outcome: str
    reason: str = ""


def dispatch_emails():
    """Send what is queued, once the surrounding transaction has committed.

    robust: if the broker is down the change still stands; the beat job sends the queued rows later.
    """
    transaction.on_commit(deliver_emails.delay, robust=True)


def get_or_create_student(*, email: str, first_name: str = "", last_name: str = "") -> tuple[User, bool]:
    """Return the user with this email (compared case-insensitively), creating one with no password."""
    email = normalize_email(email)
    user = User.objects.filter(email__iexact=email).first()
    if user is not None:
        return user, False
    try:
        with transaction.atomic():
            user = User.objects.create_user(email=email, password=None, first_name=first_name, last_name=last_name)
        return user, True
    except IntegrityError:
        return User.objects.get(email__iexact=email), False


def apply_enrollment(*, user, run: Run, tier: Tier, source: str, now=None, reactivate=False) -> EnrollResult:
    """Enroll the user in the run, or upgrade their tier, as `rules.decide` says. Call inside a transaction.

    A cancelled or refunded enrollment is left alone unless `reactivate` (a new payment) says otherwise.
    Locks the user's enrollment in the run.
    """
    now = now or timezone.now()
    if not tier.belongs_to(run):
        raise ValidationError(WRONG_RUN.format(tier=tier))
    enrollment = Enrollment.objects.select_for_update().filter(user=user, run=run).select_related("tier").first()
    if enrollment is None:
        try:
            with transaction.atomic():
                enrollment = Enrollment.objects.create(user=user, run=run, tier=tier, source=source, enrolled_at=now)
            return EnrollResult(enrollment, CREATED)
        except IntegrityError:
            enrollment = Enrollment.objects.select_for_update().select_related("tier").get(user=user, run=run)
    outcome, reason = decide(enrollment, tier, reactivate=reactivate)
    if outcome == REACTIVATED:
        enrollment.status, enrollment.tier, enrollment.source = Enrollment.Status.ACTIVE, tier, source
        enrollment.save(update_fields=["status", "tier", "source"])
    elif outcome == UPGRADED:
        enrollment.tier = tier
        enrollment.save(update_fields=["tier"])
    return EnrollResult(enrollment, outcome, reason)


def enroll(*, user, run: Run, tier: Tier, source: str, send_email: bool = True, now=None) -> Enrollment:
    """Enroll (or upgrade) one student; queue the pre-launch email at once if its time has passed."""
    now = now or timezone.now()
    with transaction.atomic():
        result = apply_enrollment(user=user, run=run, tier=tier, source=source, now=now)
        if result.outcome == CREATED:
            queue_prelaunch_if_due(enrollment=result.enrollment, send_email=send_email, now=now)
    return result.enrollment


def queue_prelaunch_if_due(*, enrollment: Enrollment, send_email: bool = True, now=None) -> bool:
    """A student enrolled after the pre-launch point gets that email at once (queued, sent after commit).

    With send_email=False the email is recorded as skipped, due or not, so it is never sent.
    """
    now = now or timezone.now()
    if send_email and not emails.prelaunch_is_due(enrollment.run, now=now):
        return False  # the beat sweep sends it when it is due
    # Without email, a skipped row now keeps the sweep from sending it later.
    status = SentEmail.Status.QUEUED if send_email else SentEmail.Status.SKIPPED
    queued = emails.queue(enrollments=[enrollment], kind=SentEmail.Kind.PRELAUNCH, now=now, status=status)
    if queued and send_email:
        dispatch_emails()
    return bool(queued)


def extension_end(*, day: date, current_end: datetime) -> datetime:
    """Return when access extended to `day` ends: that day, at the time of day the window ends now.

    Dates are read on the site's calendar (settings.TIME_ZONE), as the access window's months are.
    """
    zone = zoneinfo.ZoneInfo(settings.TIME_ZONE)
    at = current_end.astimezone(zone).time().replace(tzinfo=None) if current_end else time(0)
    return datetime.combine(day, at, tzinfo=zone)


def extend_access(*, enrollments, until: date, now=None) -> list[Extension]:
    """Give each enrollment access until the date `until` and queue the email that tells its student.

    Refused as a whole (ExtensionRefused, nothing changed) when the date is not after today, or when any
    enrollment is not active or already lasts until then. Locks the enrollments; the emails go after commit.
    """
    now = now or timezone.now()
    ids = sorted({getattr(e, "pk", e) for e in enrollments})
    if not ids:
        raise ExtensionRefused(EXTEND_NOBODY)
    today = timezone.localtime(now, zoneinfo.ZoneInfo(settings.TIME_ZONE)).date()
    if until <= today:
        raise ExtensionRefused(EXTEND_TO_THE_PAST.format(today=today))
    with transaction.atomic():
        locked = list(
            Enrollment.objects.select_for_update(of=("self",))
            .select_related("user", "run", "tier")
            .filter(pk__in=ids)
            .order_by("pk")
        )
        inactive = [e for e in locked if e.status != Enrollment.Status.ACTIVE]
        if inactive:
            raise ExtensionRefused(EXTEND_INACTIVE.format(students=", ".join(e.user.email for e in inactive)))
        planned = [(e, e.access_ends_at, extension_end(day=until, current_end=e.access_ends_at)) for e in locked]
        not_later = [e for e, previous, new in planned if new <= previous]
        if not_later:
            raise ExtensionRefused(EXTEND_NOT_LATER.format(students=", ".join(e.user.email for e in not_later)))
        extensions = []
        for enrollment, previous, new in planned:
            enrollment.extended_until = new
            enrollment.save(update_fields=["extended_until"])
            extensions.append(Extension(enrollment=enrollment, until=new, previous_end=previous, created_at=now))
        Extension.objects.bulk_create(extensions)
        transaction.on_commit(deliver_extension_emails.delay, robust=True)
    return extensions


def record_checkout_completed(*, session: dict, now=None) -> Enrollment | None:
    """Fulfil a paid Checkout Session: the user, the enrollment and the welcome email, exactly once.

    Called by the webhook and by the success page, whichever comes first; the other finds it done.
    The Payment row (unique per payment intent and per session) serialises this with a refund of
    the same payment, in either order. Returns None for a session that is not paid (yet).
    A session that sells an upgrade goes to `record_upgrade_completed`.
    """
    now = now or timezone.now()
    if session.get("payment_status") not in {"paid", "no_payment_required"} or not is_course_purchase(session):
        return None
    if is_upgrade(session):
        return record_upgrade_completed(session=session, now=now)
    metadata = session.get("metadata") or {}
    tier = Tier.objects.select_related("run").get(pk=int(metadata["tier_id"]))
    details = session.get("customer_details") or {}
    email = normalize_email(details.get("email") or session.get("customer_email") or "")
    if not email:
        raise ValidationError("The Checkout Session has no customer email.")
    reference = _payment_reference(session)
    with transaction.atomic():
        payment = _locked_payment(reference, defaults={"checkout_session_id": session["id"]})
        if payment.enrollment_id is not None:
            return payment.enrollment
        name = (details.get("name") or "").strip()
        first_name, _, last_name = name.partition(" ")
        user, _ = get_or_create_student(email=email, first_name=first_name[:150], last_name=last_name[:150])
        # A completed payment enrolls even if the run has closed since: the money was taken.
        result = apply_enrollment(
            user=user, run=tier.run, tier=tier, source=Enrollment.Source.STRIPE, now=now, reactivate=True
        )
        enrollment = result.enrollment
        payment.checkout_session_id = session["id"]
        payment.enrollment = enrollment
        payment.kind, payment.tier = Payment.Kind.SEAT, tier
        payment.email = email
        payment.amount_total = session.get("amount_total") or 0
        payment.currency = (session.get("currency") or "").upper()
        payment.paid_at = payment.paid_at or now
        payment.save()
        if payment.refunded_at is not None:
            _end_unless_paid_otherwise(payment)
        elif result.outcome in {CREATED, REACTIVATED, UPGRADED}:
            kinds = [SentEmail.Kind.WELCOME]
            if result.outcome in {CREATED, REACTIVATED} and emails.prelaunch_is_due(tier.run, now=now):
                kinds.append(SentEmail.Kind.PRELAUNCH)
            if sum(emails.queue(enrollments=[enrollment], kind=kind, now=now) for kind in kinds):
                dispatch_emails()
    return enrollment


def _payment_reference(session: dict) -> str:
    """The Payment reference of a session: its payment intent (or its id when nothing was charged).

    A session recorded before under another reference keeps it.
    """
    reference = session.get("payment_intent") or session["id"]
    if isinstance(reference, dict):
        reference = reference["id"]
    return (
        Payment.objects.filter(checkout_session_id=session["id"]).values_list("reference", flat=True).first()
        or reference
    )


def upgrade_problem(*, session: dict, enrollment: Enrollment | None, from_tier: Tier | None, to_tier: Tier | None):
    """Return why a paid upgrade session cannot upgrade (a message for the log), or "" when it can.

    The tiers must be of the enrollment's run, the target must rank higher, and the session must have
    paid exactly the difference of the tiers' prices in the target tier's currency.
    """
    if enrollment is None or from_tier is None or to_tier is None:
        return "the enrollment or a tier no longer exists"
    if not (from_tier.belongs_to(enrollment.run) and to_tier.belongs_to(enrollment.run)):
        return "the tiers are not of the enrollment's run"
    if to_tier.rank <= from_tier.rank:
        return "the target tier does not rank above the tier upgraded from"
    currency = (session.get("currency") or "").upper()
    if currency != to_tier.currency.upper() or currency != from_tier.currency.upper():
        return f"paid in {currency or 'no currency'}, the tiers are priced in {to_tier.currency.upper()}"
    due = minor_units(to_tier.price, to_tier.currency) - minor_units(from_tier.price, from_tier.currency)
    paid = session.get("amount_total")
    if paid != due:
        return f"paid {paid} but the difference is {due} ({currency})"
    return ""


def record_upgrade_completed(*, session: dict, now=None) -> Enrollment | None:
    """Fulfil a paid upgrade within a run (stripe.create_upgrade_checkout_session): the tier changes once.

    Called by the webhook and by the success page, whichever comes first; the Payment row (locked) makes
    the later one find it done, and orders it with a refund of the same payment. A session whose amount,
    currency or tiers do not match (`upgrade_problem`) upgrades nothing and is logged for the instructor
    (returns None); so does a payment refunded before it completed, or an enrollment no longer active
    (returns the enrollment, unchanged). The access window follows the new tier's months.
    """
    now = now or timezone.now()
    if session.get("payment_status") not in {"paid", "no_payment_required"}:
        return None
    metadata = session.get("metadata") or {}
    reference = _payment_reference(session)
    with transaction.atomic():
        payment = _locked_payment(reference, defaults={"checkout_session_id": session["id"]})
        if payment.enrollment_id is not None:
            return payment.enrollment
        enrollment = (
            Enrollment.objects.select_for_update(of=("self",))
            .select_related("run", "tier")
            .filter(pk=_int(metadata.get("enrollment_id")))
            .first()
        )
        tiers = Tier.objects.in_bulk([_int(metadata.get("from_tier_id")), _int(metadata.get("to_tier_id"))])
        from_tier, to_tier = tiers.get(_int(metadata.get("from_tier_id"))), tiers.get(_int(metadata.get("to_tier_id")))
        details = session.get("customer_details") or {}
        payment.checkout_session_id = session["id"]
        payment.kind = Payment.Kind.UPGRADE
        payment.email = normalize_email(details.get("email") or session.get("customer_email") or "")
        payment.amount_total = session.get("amount_total") or 0
        payment.currency = (session.get("currency") or "").upper()
        payment.paid_at = payment.paid_at or now
        problem = upgrade_problem(session=session, enrollment=enrollment, from_tier=from_tier, to_tier=to_tier)
        if problem:
            # Recorded (the money arrived) but tied to no enrollment: the instructor sorts it out.
            payment.save()
            logger.error("Checkout Session %s was paid for an upgrade that was not applied: %s", session["id"], problem)
            return None
        payment.enrollment, payment.from_tier, payment.tier = enrollment, from_tier, to_tier
        payment.save()
        if payment.refunded_at is not None:
            return enrollment  # refunded before it completed: nothing to give
        if enrollment.status != Enrollment.Status.ACTIVE:
            logger.error("Checkout Session %s upgraded enrollment %s, which is %s", session["id"], enrollment.pk,
                         enrollment.status)  # fmt: skip
            return enrollment
        if to_tier.rank > enrollment.tier.rank:
            enrollment.tier = to_tier
            enrollment.save(update_fields=["tier"])
    return enrollment


def _int(value) -> int | None:
    try:
        return int(value)
    except (TypeError, ValueError):
        return None


def record_refund(*, payment_intent: str, now=None) -> Payment:
    """A payment was refunded in full: what it bought is undone. Arriving first is fine too.

    A seat's refund ends the enrollment; an upgrade's refund returns it to the tier it was upgraded
    from, and never ends the seat. A second payment for the same thing (a buyer who paid twice) keeps
    it: refunding the duplicate must not end what the first payment bought.
    """
    now = now or timezone.now()
    with transaction.atomic():
        payment = _locked_payment(payment_intent, defaults={})
        if payment.refunded_at is None:
            payment.refunded_at = now
            payment.save(update_fields=["refunded_at"])
        if payment.enrollment_id is not None:
            if payment.kind == Payment.Kind.UPGRADE:
                _undo_upgrade(payment)
            else:
                _end_unless_paid_otherwise(payment)
    return payment


def _undo_upgrade(payment: Payment):
    """Return the payment's enrollment to the tier it was upgraded from, unless another upgrade payment
    not refunded still pays for the tier it has. Locks the enrollment row (after the payment row).
    """
    enrollment = Enrollment.objects.select_for_update().get(pk=payment.enrollment_id)
    if enrollment.tier_id != payment.tier_id or payment.from_tier_id is None:
        return
    others = enrollment.payments.exclude(pk=payment.pk).filter(
        kind=Payment.Kind.UPGRADE, tier_id=payment.tier_id, refunded_at__isnull=True
    )
    if not others.exists():
        enrollment.tier_id = payment.from_tier_id
        enrollment.save(update_fields=["tier"])


def _locked_payment(reference: str, *, defaults) -> Payment:
    try:
        with transaction.atomic():
            Payment.objects.get_or_create(reference=reference, defaults=defaults)
    except IntegrityError:
        # Another request created the row (or holds the session id) at the same moment.
        pass
    return Payment.objects.select_for_update(of=("self",)).select_related("enrollment").get(reference=reference)


def _end_unless_paid_otherwise(payment: Payment):
    """Mark the payment's enrollment refunded, unless another payment not refunded still pays for it.

    Locks the enrollment row (after the payment row, as everywhere), so of two refunds of one
    enrollment's payments at once the later sees the earlier.
    """
    enrollment = Enrollment.objects.select_for_update().get(pk=payment.enrollment_id)
    seats = enrollment.payments.exclude(pk=payment.pk).filter(kind=Payment.Kind.SEAT)
    if not seats.filter(refunded_at__isnull=True).exists():
        _mark_refunded(enrollment)


def _mark_refunded(enrollment: Enrollment):
    if enrollment.status != Enrollment.Status.REFUNDED:
        enrollment.status = Enrollment.Status.REFUNDED
        enrollment.save(update_fields=["status"])
