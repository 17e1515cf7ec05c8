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
import re
import smtplib
import zoneinfo
from email.utils import formatdate, make_msgid
from urllib.parse import urlsplit

from celery import Task
from celery.utils.time import get_exponential_backoff_interval
from django.conf import settings
from django.core import signing
from django.core.mail import EmailMultiAlternatives, get_connection
from django.core.mail.message import RFC5322_EMAIL_LINE_LENGTH_LIMIT, sanitize_address
from django.core.mail.utils import DNS_NAME
from django.db import connection, models, transaction
from django.template.loader import render_to_string
from django.utils import timezone
from django.utils.html import escape

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
    text, html = _render_parts(template, subject=subject, context=context, zone=zone)
    return _message(to=to, subject=subject, text=text, html=html, headers=headers, message_id=message_id)


def _render_parts(template, *, subject, context, zone):
    context = {"subject": subject, "site_name": settings.SITE_NAME, "site_url": settings.SITE_URL, **context}
    if zone is not None:
        context.setdefault("zone_name", str(zone))
    with timezone.override(zone) if zone is not None else contextlib.nullcontext():
        return render_to_string(f"email/{template}.txt", context), render_to_string(f"email/{template}.html", context)


def _message(*, to, subject, text, html, headers, message_id):
    headers = dict(headers or {})
    if message_id:
        headers["Message-ID"] = message_id
    message = EmailMultiAlternatives(subject=subject, body=text, to=[to], headers=headers)
    message.attach_alternative(html, "text/html")
    return message


# A personal value's place in a stencil. Its marks are private-use characters, which no template or title writes;
# the "&" inside shows whether the template escaped the value there (the HTML part) or not (the text part).
_HOLE = "\ue000{}&\ue001"
_HOLES = re.compile("\ue000([a-z0-9_]+)(&amp;|&)\ue001")
_MARKS = re.compile("[\ue000\ue001]")


# compat32's folding width: a header line longer than this would be folded, so it is not put in a stencil as is.
MAX_HEADER_LINE = 78


def hole(name: str) -> str:
    """The stand-in for one recipient's own string `name` (lower-case letters, digits, _) when rendering a Stencil."""
    if not re.fullmatch("[a-z0-9_]+", name):
        raise ValueError(f"Not a name for a hole: {name!r}")
    return _HOLE.format(name)


class Stencil:
    """An email rendered once for many recipients, with holes where each one's own strings go.

    Render it with hole("first_name") etc. in place of the personal strings (objects carrying nothing
    else of a person's), then message() per recipient: the same text and HTML as rendering each one's
    email, at a fraction of the cost. The same only where the templates print those strings as they are
    (escaped or not); a template that transforms one (a filter, a slice) leaves a broken hole, and
    Stencil() raises ValueError: render each email instead. Values whose truth a template tests
    (`{% if user.first_name %}`) must be the same for every recipient of one stencil (pass "" where empty).

    The MIME bytes are made once too, with the holes and the per-message headers (To, Date, Message-ID and
    `headers`) left open; a message whose values would not go into them as they are (a header that needs
    encoding or folding, a line over SMTP's limit) is made the usual way.
    """

    def __init__(self, template: str, *, subject: str, context: dict, zone=None):
        self.subject = one_line(subject)
        text, html = _render_parts(template, subject=self.subject, context=context, zone=zone)
        self.text, self.html = _cut(text), _cut(html)
        self.raw = {}  # the header names -> the MIME text with holes (_cut), or None where it cannot be reused
        self.sender = None  # the envelope's sender, made once

    def message(self, *, to: str, values: dict, headers=None, message_id: str | None = None) -> EmailMultiAlternatives:
        """The message to one recipient, the holes filled with their `values` (a str for every hole's name)."""
        message = _message(to=to, subject=self.subject, text=_fill(self.text, values), html=_fill(self.html, values),
                           headers=headers, message_id=message_id)  # fmt: skip
        to = _sanitize_address(to)
        raw = self._raw_bytes(message, values, to=to)
        if raw is not None:
            message.__class__ = _Prebuilt
            message.raw = raw
            if self.sender is None:
                # The address alone, as smtplib would put it in MAIL FROM.
                self.sender = smtplib.quoteaddr(_sanitize_address(message.from_email))[1:-1]
            message.envelope = (self.sender, [to])
        return message

    def _raw_bytes(self, message, values, *, to) -> bytes | None:
        personal = {"To": to, **message.extra_headers}
        personal.setdefault("Date", formatdate(localtime=settings.EMAIL_USE_LOCALTIME))
        personal.setdefault("Message-ID", make_msgid(domain=DNS_NAME))
        names = tuple(personal)
        if names not in self.raw:
            self.raw[names] = self._open_mime(names)
        cut = self.raw[names]
        if cut is None or not all(_fits_as_is(name, value) for name, value in personal.items()):
            return None
        if any("\n" in value or "\r" in value or cut.boundary in value for value in values.values()):
            return None
        values = {**values, **{_header_hole(name): value for name, value in personal.items()}}
        values["part_text"] = "7bit" if message.body.isascii() else "8bit"
        values["part_html"] = "7bit" if message.alternatives[0][0].isascii() else "8bit"
        raw = _fill(cut, values).encode()
        if max(map(len, raw.split(b"\r\n"))) > RFC5322_EMAIL_LINE_LENGTH_LIMIT:
            return None  # Django would send this one's body quoted-printable
        return raw

    def _open_mime(self, names):
        """This stencil's MIME text with holes for the values and for the headers `names`; None if they do not show."""
        tokens = {name: f"courseweb-stencil-{_header_hole(name)}" for name in names}
        probe = _message(
            to=f"{tokens['To']}@stencil.invalid",
            subject=self.subject,
            text=_join(self.text),
            html=_join(self.html),
            headers={name: token for name, token in tokens.items() if name != "To"},
            message_id=None,
        )
        mime = probe.message()
        text = mime.as_bytes(linesep="\r\n").decode()
        tokens["To"] += "@stencil.invalid"
        for name, token in tokens.items():
            line = f"\r\n{name}: {token}\r\n"
            if text.count(line) != 1:
                return None  # folded or encoded: make each message anew
            text = text.replace(line, f"\r\n{name}: {hole(_header_hole(name))}\r\n")
        # Each part says 7bit when it is all ASCII, else 8bit: which, depends on the values; as Django would.
        encodings = re.split(r"(?<=\r\nContent-Transfer-Encoding: )[78]bit(?=\r\n)", text)
        if len(encodings) != 3:
            return None
        text = f"{encodings[0]}{hole('part_text')}{encodings[1]}{hole('part_html')}{encodings[2]}"
        try:
            cut = _Cut(_cut(text))
        except ValueError:
            return None
        holes = [piece for piece in cut if not isinstance(piece, str)]
        expected = [piece for piece in self.text + self.html if not isinstance(piece, str)]
        expected += [(_header_hole(name), False) for name in names] + [("part_text", False), ("part_html", False)]
        if sorted(holes) != sorted(expected):
            return None  # a body went out encoded (long lines): make each message anew
        cut.boundary = mime.get_boundary()
        return cut


class _Cut(list):
    boundary = ""


class _Prebuilt(EmailMultiAlternatives):
    """A stencil's message with its MIME bytes made: message() gives them without building the MIME tree again.

    `envelope`: (from, [to]) as Django's SMTP backend would give them to smtplib, for Batch to hand over directly.
    """

    raw = b""
    envelope = None

    def message(self):
        return _PrebuiltMIME(self.raw, super().message)


class _PrebuiltMIME:
    """What the mail backends ask of a message() (as_bytes); anything else from the same message built anew."""

    def __init__(self, raw, build):
        self.raw = raw
        self.build = build
        self.built = None

    def as_bytes(self, unixfrom=False, linesep="\n"):
        return self.raw if linesep == "\r\n" else self.raw.replace(b"\r\n", linesep.encode())

    def __getattr__(self, name):
        if self.built is None:
            self.built = self.build()
        return getattr(self.built, name)

    def __getitem__(self, name):
        return self.__getattr__("__getitem__")(name)


# An address that sanitize_address() gives back as it is (plain ASCII, no name, no quoting): most of them.
_PLAIN_ADDRESS = re.compile(r"[A-Za-z0-9_+-]+(\.[A-Za-z0-9_+-]+)*@[A-Za-z0-9-]+(\.[A-Za-z0-9-]+)*")


def _sanitize_address(address):
    """sanitize_address(), without parsing the plain addresses (once per email, it was much of the cost of one)."""
    if _PLAIN_ADDRESS.fullmatch(address):
        return address
    return sanitize_address(address, settings.DEFAULT_CHARSET)


def _header_hole(name):
    return f"header_{name.lower().replace('-', '_')}"


def _fits_as_is(name, value):
    """Whether a header goes out exactly as "Name: value" (plain ASCII on one line that needs no folding)."""
    return value.isascii() and value.isprintable() and len(name) + 2 + len(value) <= MAX_HEADER_LINE


def _join(cut):
    """The rendered text again, each hole as the template left it (escaped or not)."""
    return "".join(
        piece if isinstance(piece, str) else f"\ue000{piece[0]}{'&amp;' if piece[1] else '&'}\ue001" for piece in cut
    )


def _cut(rendered: str) -> list:
    """[text, (name, escaped), text, …]; ValueError when a template changed a hole on its way out."""
    pieces = _HOLES.split(rendered)
    cut = []
    for at in range(0, len(pieces), 3):
        if _MARKS.search(pieces[at]):
            raise ValueError("A template changed a personal value on its way out: render each email instead.")
        cut.append(pieces[at])
        if at + 1 < len(pieces):
            cut.append((pieces[at + 1], pieces[at + 2] == "&amp;"))
    return cut


def _fill(cut: list, values: dict) -> str:
    return "".join(
        piece if isinstance(piece, str) else (escape(values[piece[0]]) if piece[1] else values[piece[0]])
        for piece in cut
    )


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

    def send(self, message, *, meanwhile=None) -> Handed:
        """Hand one message to the SMTP server; return what became of it (see the class docstring).

        `meanwhile`: work to do while the server takes a stencil's message, between the data handed over and
        its answer (making the next message, say). It runs at most once and may not run at all (another kind
        of message, or the send failed before): it must not send anything, nor raise.
        """
        if not self.opened:
            self.connection.open()
            self.opened = True
        recipient = ", ".join(message.to)
        try:
            self._hand_over(message, meanwhile)
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

    def _hand_over(self, message, meanwhile):
        """Send; reconnect once if the server ended the session (many cap messages per session)."""
        try:
            self._send_one(message, meanwhile)
        except (smtplib.SMTPServerDisconnected, smtplib.SMTPResponseException) as error:
            if isinstance(error, smtplib.SMTPResponseException) and error.smtp_code != 421:
                raise
            with contextlib.suppress(OSError, smtplib.SMTPException):
                self.connection.close()
            self.connection.open()
            self._send_one(message, None)

    def _send_one(self, message, meanwhile):
        smtp = getattr(self.connection, "connection", None)
        if getattr(message, "envelope", None) and isinstance(smtp, smtplib.SMTP):
            # A stencil's message (see Stencil): its bytes and envelope are made; what Django's SMTP backend
            # would do with it comes down to smtplib's sendmail.
            _sendmail(smtp, *message.envelope, message.raw, meanwhile=meanwhile)
        else:
            self.connection.send_messages([message])


def _sendmail(smtp: smtplib.SMTP, from_address: str, to_addresses: list, data: bytes, *, meanwhile=None):
    """smtplib's SMTP.sendmail (the same commands, answers and errors), with `meanwhile()` done while the
    server takes the data: the time it spends on a message is no longer lost to the sender."""
    if meanwhile is None or not all(address.isascii() for address in [from_address, *to_addresses]):
        return smtp.sendmail(from_address, to_addresses, data)
    smtp.ehlo_or_helo_if_needed()
    size = f" size={len(data)}" if smtp.does_esmtp and smtp.has_extn("size") else ""
    smtp.putcmd("mail", f"FROM:{_quoted(from_address)}{size}")
    code, answer = smtp.getreply()
    if code != 250:
        _end_or_reset(smtp, code)
        raise smtplib.SMTPSenderRefused(code, answer, from_address)
    refused = {}
    for address in to_addresses:
        smtp.putcmd("rcpt", f"TO:{_quoted(address)}")
        code, answer = smtp.getreply()
        if code not in (250, 251):
            refused[address] = (code, answer)
        if code == 421:
            smtp.close()
            raise smtplib.SMTPRecipientsRefused(refused)
    if len(refused) == len(to_addresses):
        _end_or_reset(smtp, 0)
        raise smtplib.SMTPRecipientsRefused(refused)
    smtp.putcmd("data")
    code, answer = smtp.getreply()
    if code != 354:
        raise smtplib.SMTPDataError(code, answer)
    data = re.sub(rb"(?m)^\.", b"..", data)  # as smtplib: a line that starts with "." gets another
    smtp.send(data + (b"" if data.endswith(b"\r\n") else b"\r\n") + b".\r\n")
    meanwhile()
    code, answer = smtp.getreply()
    if code != 250:
        _end_or_reset(smtp, code)
        raise smtplib.SMTPDataError(code, answer)
    return refused


def _quoted(address):
    """smtplib's quoteaddr(): "<local@domain>", without parsing a plain address (the parsing cost much of a send)."""
    return f"<{address}>" if _PLAIN_ADDRESS.fullmatch(address) else smtplib.quoteaddr(address)


def _end_or_reset(smtp, code):
    """As smtplib after a refusal: close on 421 (the server is ending the session), else RSET (if it still listens)."""
    if code == 421:
        smtp.close()
    else:
        with contextlib.suppress(smtplib.SMTPServerDisconnected):
            smtp.rset()


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
