"""Email plumbing for every app: rendering, links, the recipient's zone, a batch sender and a retry policy.

Each app keeps its own claim (which rows or people are due, locked with SELECT … FOR UPDATE SKIP LOCKED),
its templates and its decision of who gets what; the pattern of a batch is:

    with mail.Batch() as batch:
        for each recipient due:
            with transaction.atomic():
                claim the recipient (or go on: another worker holds it, or it is done)
                message = mail.render("some_kind", to=user.email, subject=..., context={...}, zone=...)
                if batch.send(message): mark it sent

so that the mark commits with the hand-over to SMTP, a failed send rolls the claim back for the retry, and
a worker that dies leaves the rest for the next run. Tasks that send mail take `base=mail.MailTask`.

This module imports no app of the project.
"""

import contextlib
import enum
import hashlib
import logging
import smtplib
import zoneinfo
from urllib.parse import urlsplit

from celery import Task
from celery.utils.time import get_exponential_backoff_interval
from django.conf import settings
from django.core import signing
from django.core.mail import EmailMultiAlternatives, get_connection
from django.db import connection, models, transaction
from django.template.loader import render_to_string
from django.utils import timezone

from .text import one_line

logger = logging.getLogger(__name__)

# This many messages rejected (5xx to DATA) one after another: the server refuses everything, not these messages.
MAX_REJECTED_IN_A_ROW = 3
# Errors that may pass (server unreachable, timed out, 4xx): the mail task is retried.
RETRYABLE = (OSError, smtplib.SMTPException)
MAX_RETRIES = 8
MAX_BACKOFF = 600  # seconds


def absolute(path: str) -> str:
    """Return the full URL of a site path, for links in emails (sent by workers, outside any request)."""
    return f"{settings.SITE_URL}{path}"


def recipient_zone(user) -> zoneinfo.ZoneInfo:
    """Return the zone the user reads times in: their own, or the site's when they have none (or a bad one)."""
    try:
        return zoneinfo.ZoneInfo(getattr(user, "timezone", "") or settings.TIME_ZONE)
    except (zoneinfo.ZoneInfoNotFoundError, ValueError):
        return zoneinfo.ZoneInfo(settings.TIME_ZONE)


def message_id(*parts) -> str:
    """Return a Message-ID made from what identifies one email (its outbox row): the same on every retry.

    SMTP cannot promise exactly once: a worker killed after the server said "250" and before its claim
    committed sends that one message again. With this id the repeat is the same message, which mail
    providers and clients show once. Give parts that name this one email and no other, ever.
    """
    digest = hashlib.sha256("\x1f".join(str(part) for part in parts).encode()).hexdigest()[:32]
    return f"<{digest}@{urlsplit(settings.SITE_URL).hostname or 'localhost'}>"


def unsubscribe_token(*, salt: str, user_id: int, **scope) -> str:
    """Sign a one-click unsubscribe link's token: one user, and what it stops (`scope`, JSON values).

    Each kind of email has its own salt, so a token of one kind never unsubscribes from another. The token
    is the signed {"u": user_id, **scope}: the forum's links made before this function read the same.
    """
    return signing.dumps({"u": user_id, **scope}, salt=salt)


def read_unsubscribe_token(token: str, *, salt: str) -> dict:
    """Return what an unsubscribe token says ({"u": user id, **scope}); raise signing.BadSignature if it is not ours."""
    data = signing.loads(token, salt=salt)
    if not isinstance(data, dict) or not isinstance(data.get("u"), int):
        raise signing.BadSignature("Not an unsubscribe token")
    return data


def one_click_headers(unsubscribe_url: str) -> dict:
    """The headers of a list email with one-click unsubscribe (RFC 2369 and RFC 8058): mail apps show the button."""
    return {
        "List-Unsubscribe": f"<{unsubscribe_url}>",
        "List-Unsubscribe-Post": "List-Unsubscribe=One-Click",
        "Auto-Submitted": "auto-generated",
    }


def render(template: str, *, to: str, subject: str, context: dict, zone=None, headers=None,
           message_id: str | None = None) -> EmailMultiAlternatives:  # fmt: skip
    """Render templates/email/<template>.txt and .html into one message to one address.

    The subject is put on one line (a newline in a title must never break the header). The templates get
    `subject`, `site_name` and `site_url` besides `context`, and with a `zone`, `zone_name`, rendered with
    that zone as the current time zone. `message_id` (see message_id()) replaces Django's random one.
    """
    subject = one_line(subject)
    headers = dict(headers or {})
    if message_id:
        headers["Message-ID"] = message_id
    context = {"subject": subject, "site_name": settings.SITE_NAME, "site_url": settings.SITE_URL, **context}
    if zone is not None:
        context.setdefault("zone_name", str(zone))
    with timezone.override(zone) if zone is not None else contextlib.nullcontext():
        text = render_to_string(f"email/{template}.txt", context)
        html = render_to_string(f"email/{template}.html", context)
    message = EmailMultiAlternatives(subject=subject, body=text, to=[to], headers=headers)
    message.attach_alternative(html, "text/html")
    return message


def commit_without_waiting_for_disk() -> None:
    """In the current transaction: let its COMMIT return before Postgres has flushed it to disk.

    For the "marked sent" commit of one outbox row, which would otherwise wait for an fsync per email
    (most of a batch's time). A killed worker cannot lose a committed mark: once COMMIT returns, every
    other session sees it and it survives the worker. Only a crash of the Postgres server itself within a
    fraction of a second can lose the last few marks, and then those emails go out once more (the same
    Message-ID where the kind sets one) — never one fewer. Nothing on databases other than Postgres.
    """
    if connection.vendor == "postgresql":
        with connection.cursor() as cursor:
            cursor.execute("SET LOCAL synchronous_commit TO OFF")


class Handed(enum.Enum):
    """What became of a message given to Batch.send. Only SENT is true."""

    SENT = "sent"
    REFUSED = "refused"  # the server refused the recipient for good (5xx to RCPT): do not try that address again
    REJECTED = "rejected"  # the server rejected this message (5xx to DATA)
    MALFORMED = "malformed"  # a bad address or header, found before SMTP saw the message

    def __bool__(self):
        return self is Handed.SENT


class Batch:
    """Send many messages over one SMTP connection, opened at the first message and closed on exit.

    One policy for every batch: a server that ends the session (421, or disconnected) is reconnected
    once; a recipient refused for good, a message rejected with a 5xx, or one that cannot be serialised
    (ValueError: a malformed address or header) is logged and reported as not sent, so the caller can
    mark it and go on with the others. Errors that may pass (server unreachable, 4xx), and
    MAX_REJECTED_IN_A_ROW rejections in a row (the server refuses everything), propagate: retry the batch.
    """

    def __init__(self, connection=None, *, max_rejected_in_a_row=MAX_REJECTED_IN_A_ROW):
        self.connection = connection or get_connection()
        self.max_rejected_in_a_row = max_rejected_in_a_row
        self.opened = False
        self.sent = 0
        self.rejected_in_a_row = 0

    def __enter__(self):
        return self

    def __exit__(self, *exc_info):
        if self.opened:
            self.opened = False
            with contextlib.suppress(OSError, smtplib.SMTPException):
                self.connection.close()

    def send(self, message) -> Handed:
        """Hand one message to the SMTP server; return what became of it (see the class docstring)."""
        if not self.opened:
            self.connection.open()
            self.opened = True
        recipient = ", ".join(message.to)
        try:
            self._hand_over(message)
        except smtplib.SMTPRecipientsRefused as error:
            if any(code < 500 for code, _ in error.recipients.values()):
                raise  # refused for now: retry later
            logger.warning("The SMTP server refused %s for good: %s", recipient, error)
            return Handed.REFUSED
        except smtplib.SMTPResponseException as error:
            self.rejected_in_a_row += 1
            if error.smtp_code < 500 or self.rejected_in_a_row >= self.max_rejected_in_a_row:
                raise
            logger.warning("The SMTP server rejected the email %r to %s: %s", message.subject, recipient, error)
            return Handed.REJECTED
        except ValueError:
            logger.exception("Could not send the email %r to %r", message.subject, recipient)
            return Handed.MALFORMED
        self.rejected_in_a_row = 0
        self.sent += 1
        return Handed.SENT

    def _hand_over(self, message):
        """Send; reconnect once if the server ended the session (many cap messages per session)."""
        try:
            self.connection.send_messages([message])
        except (smtplib.SMTPServerDisconnected, smtplib.SMTPResponseException) as error:
            if isinstance(error, smtplib.SMTPResponseException) and error.smtp_code != 421:
                raise
            with contextlib.suppress(OSError, smtplib.SMTPException):
                self.connection.close()
            self.connection.open()
            self.connection.send_messages([message])


class OutboxStatus(models.TextChoices):
    """The states of an outbox row: every email model has `Status = OutboxStatus`, a `status` and a `sent_at`."""

    QUEUED = "queued", "Queued"
    SENT = "sent", "Sent"
    SKIPPED = "skipped", "Skipped"


def deliver_outbox(pks, *, claim, message_for) -> int:
    """Deliver queued outbox rows, each claimed, sent and marked in a transaction of its own; return how many were sent.

    `pks`: the ids of queued rows, in order. `claim(pk)`: the row, locked with SELECT … FOR UPDATE SKIP
    LOCKED if it is still queued, else None (another worker holds it, or it is done). `message_for(row)`:
    its message, or None when it is no longer wanted (the row is marked skipped). A message the server
    took is marked sent in the transaction that holds the claim, so a worker that dies rolls its claim back
    and only the message in flight can go twice (with the same Message-ID); a recipient refused for good is
    marked skipped; a rejected or malformed message stays queued for a rerun. One SMTP connection (Batch);
    errors that may pass propagate, leaving the row being sent queued. The marks commit without waiting
    for the disk (see commit_without_waiting_for_disk).
    """
    with Batch() as batch:
        for pk in list(pks):
            with transaction.atomic():
                row = claim(pk)
                if row is None:
                    continue
                message = message_for(row)
                commit_without_waiting_for_disk()
                if message is None:
                    row.status = OutboxStatus.SKIPPED
                else:
                    handed = batch.send(message)
                    if handed is Handed.SENT:
                        row.status, row.sent_at = OutboxStatus.SENT, timezone.now()
                    elif handed is Handed.REFUSED:
                        row.status = OutboxStatus.SKIPPED
                    else:
                        continue  # rejected or malformed: left queued for a rerun
                row.save(update_fields=["status", "sent_at"])
    return batch.sent


def backoff(retries: int) -> float:
    """Seconds before retry number `retries` + 1: exponential from 1 s to MAX_BACKOFF, with full jitter."""
    return get_exponential_backoff_interval(factor=1, retries=retries, maximum=MAX_BACKOFF, full_jitter=True)


class MailTask(Task):
    """The base of tasks that send mail (`@shared_task(base=MailTask)`): SMTP errors that may pass are retried.

    A retry runs the whole task again, so the task must be safe to run twice (its claims make it so).
    Backoff 1 s … 10 min, MAX_RETRIES times. Run in-process (eager: no broker, inside a request), a retry
    would run at once and hold up the request: the error is logged and the task returns 0 instead;
    what was not sent stays due for the next run.
    """

    max_retries = MAX_RETRIES

    def __call__(self, *args, **kwargs):
        try:
            return self.run(*args, **kwargs)
        except RETRYABLE as error:
            if self.request.is_eager:
                logger.warning("%s did not send everything, the SMTP server failed: %r", self.name, error)
                return 0
            raise self.retry(exc=error, countdown=backoff(self.request.retries)) from error
