"""The account emails' outbox: each email is a row written in the request and sent by a task.

An email whose task could not be queued (the broker was down) or died with its worker is sent by the beat
sweep once it is SWEEP_AFTER old; one older than GIVE_UP_AFTER is dropped, as its code or link has expired.
"""

from datetime import timedelta

from django.core.mail import EmailMultiAlternatives
from django.utils import timezone

from courseweb import mail
from courseweb.text import one_line

from .models import AccountEmail

SWEEP_AFTER = timedelta(minutes=1)
# A login code lasts minutes and a password-reset link days; an account email stuck longer than this is dropped.
GIVE_UP_AFTER = timedelta(days=1)


def queue(*, subject: str, body: str, html: str, from_email: str, to: list[str]) -> AccountEmail:
    """Keep a rendered account email until it is sent."""
    return AccountEmail.objects.create(subject=one_line(subject)[:300], body=body, html=html,
                                       from_email=from_email, to=list(to))  # fmt: skip


def deliver(rows, *, now=None) -> int:
    """Claim, send and mark each queued row of `rows` (an AccountEmail queryset); return how many were sent.

    A row too old to be of use is marked skipped. A sent row's body is blanked (it held a code or a link).
    """
    now = now or timezone.now()
    queued = rows.filter(status=AccountEmail.Status.QUEUED).order_by("queued_at", "pk")

    def claim(pk):
        return (AccountEmail.objects.select_for_update(skip_locked=True)
                .filter(pk=pk, status=AccountEmail.Status.QUEUED).first())  # fmt: skip

    def message_for(row):
        if row.queued_at < now - GIVE_UP_AFTER:
            return None
        message = EmailMultiAlternatives(subject=row.subject, body=row.body, from_email=row.from_email, to=row.to)
        if row.html:
            message.attach_alternative(row.html, "text/html")
        return message

    sent = mail.deliver_outbox(list(queued.values_list("pk", flat=True)), claim=claim, message_for=message_for)
    AccountEmail.objects.exclude(status=AccountEmail.Status.QUEUED).exclude(body="", html="").update(body="", html="")
    return sent


def deliver_one(*, account_email_id: int) -> int:
    return deliver(AccountEmail.objects.filter(pk=account_email_id))


def deliver_left_over(*, now=None) -> int:
    """Beat job: send the account emails their task left queued."""
    now = now or timezone.now()
    return deliver(AccountEmail.objects.filter(queued_at__lte=now - SWEEP_AFTER), now=now)
