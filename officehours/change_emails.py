"""The email to the students of a session that was moved or cancelled: once per student and change.

A change is known by the calendar sequence it gave the session. Moving or cancelling a session queues one
ChangeEmail row per signed-up student for that sequence in the same transaction (unique: queuing again
adds nothing), and the task it starts on commit delivers them: it claims each queued row (SELECT … FOR
UPDATE SKIP LOCKED), hands its message to SMTP and marks it sent in the same transaction, over one SMTP
connection. A task that runs twice, is retried, or runs again after its worker died mails nobody twice
(as with the enrollment emails, the only possible repeat is the message the SMTP server had accepted at
the instant a worker was killed, and it goes with the same Message-ID); a second move is a new sequence,
so it is mailed again. What a task left queued (its worker died, its retries ran out) goes with the
minutely beat sweep, unless the session has changed again since or is over: the newer email tells it.
Each email tells the session's current state, in the student's own zone.
"""

from datetime import timedelta

from django.core.mail import EmailMultiAlternatives
from django.urls import reverse
from django.utils import timezone

from courseweb import mail

from .models import ChangeEmail, Registration, Session

# The sweep leaves a row this long to the task its change started.
SWEEP_AFTER = timedelta(minutes=2)
SUBJECTS = {
    ChangeEmail.Change.MOVED: "Office hours moved: {title} is now on {when}",
    ChangeEmail.Change.CANCELLED: "Office hours cancelled: {title} on {when}",
}


def queue(*, session: Session, change: str, sequence: int, now=None) -> None:
    """Queue the email of a change for each student signed up for the session (with an address); idempotent."""
    now = now or timezone.now()
    # In id order, so that two runs inserting the same rows at once wait for each other instead of deadlocking.
    registrations = (
        Registration.objects.filter(session=session).exclude(user__email="").order_by("pk").values_list("pk", flat=True)
    )
    rows = [ChangeEmail(registration_id=pk, sequence=sequence, change=change, queued_at=now) for pk in registrations]
    ChangeEmail.objects.bulk_create(rows, ignore_conflicts=True)


def notify_session_changed(*, session_id: int, change: str, sequence: int | None = None) -> int:
    """Email each student signed up for the session that it was moved or cancelled; return how many were sent.

    `sequence` is the session's calendar sequence after the change (its current one when not given).
    Safe to run twice (see the module docstring). Errors that may pass (SMTP down, 4xx) propagate and
    leave the row being sent queued: retry.
    """
    if change not in SUBJECTS:
        raise ValueError(f"Unknown change {change!r}")
    session = Session.objects.filter(pk=session_id).first()
    if session is None:
        return 0
    sequence = session.sequence if sequence is None else sequence
    queue(session=session, change=change, sequence=sequence)  # done already by the change; tasks queued before
    return deliver(ChangeEmail.objects.filter(registration__session=session, sequence=sequence))


def deliver_left_over(*, now=None) -> int:
    """Beat job: send the change emails a task left queued (see the module docstring); return how many were sent."""
    now = now or timezone.now()
    return deliver(ChangeEmail.objects.filter(queued_at__lte=now - SWEEP_AFTER), now=now)


def deliver(rows, *, now=None) -> int:
    """Claim, send and mark each queued row of `rows` (a ChangeEmail queryset), one transaction each.

    A row whose session changed again since, or is over, is marked skipped instead: a newer email tells
    the student, or there is nothing left to tell. Errors that may pass (SMTP down, 4xx) propagate and
    leave the row being sent queued: retry.
    """
    now = now or timezone.now()

    def message_for(row):
        session = row.registration.session
        if row.sequence != session.sequence or session.ends_at <= now:
            return None
        return build_change_message(row, session=session)

    queued = rows.filter(status=ChangeEmail.Status.QUEUED).order_by("pk").values_list("pk", flat=True)
    return mail.deliver_outbox(queued, claim=_claim, message_for=message_for)


def _claim(pk: int) -> ChangeEmail | None:
    """Lock the row if it is still queued and no other transaction holds it; None when it is taken or done.

    Call inside the transaction that sends the email.
    """
    return (
        ChangeEmail.objects.select_for_update(skip_locked=True, of=("self",))
        .select_related("registration__user", "registration__session__run__course")
        .filter(pk=pk, status=ChangeEmail.Status.QUEUED)
        .first()
    )


def build_change_message(row: ChangeEmail, *, session: Session) -> EmailMultiAlternatives:
    """Render the email of a change with the session's time in the student's own zone, the zone named.

    Its Message-ID comes from the row: a repeat after a worker died mid-hand-over is the same message.
    """
    user, change = row.registration.user, row.change
    zone = mail.recipient_zone(user)
    starts_at = timezone.localtime(session.starts_at, zone)
    ends_at = timezone.localtime(session.ends_at, zone)
    when = f"{starts_at:%A} {starts_at.day} {starts_at:%B %Y, %H:%M} ({zone})"
    subject = SUBJECTS[change].format(title=session.title, when=when)
    context = {
        "user": user,
        "session": session,
        "run": session.run,
        "course": session.run.course,
        "change": change,
        "moved": change == ChangeEmail.Change.MOVED,
        "starts_at": starts_at,
        "ends_at": ends_at,
        "course_url": mail.absolute(reverse("courses:home", args=[session.run.course.slug])),
        "profile_url": mail.absolute(reverse("profile")),
    }
    # One id per session (its uid is unique for life), student and change: the same on every retry.
    message_id = mail.message_id("officehours-change", session.uid, row.registration_id, row.sequence)
    return mail.render("officehours_changed", to=user.email, subject=subject, context=context, zone=zone,
                       headers={"X-Courseweb-Email": f"officehours-{change}:{session.pk}"},
                       message_id=message_id)  # fmt: skip
