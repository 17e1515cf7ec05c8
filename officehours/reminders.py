"""Reminder emails for signed-up students: a day before and an hour before a session, exactly once each.

Windows: the day-before reminder is due from 24 hours to 1 hour before the start, the hour-before one
from 1 hour before to the start. A student who signs up (or a sweep that runs) inside the last hour gets
only the hour-before one, never two at once; nothing goes once the session has started.

Exactly once: each reminder is sent in a transaction of its own that first claims the registration
(SELECT … FOR UPDATE SKIP LOCKED), checks again that it is due and not sent, inserts its Reminder row
(unique per registration and kind) and hands the message to SMTP; the row commits with the send. Two
workers never send the same reminder; a failed send rolls the row back and the next sweep retries. As
with the enrollment emails, the only possible repeat is a message the SMTP server had accepted at the
instant a worker was killed, before the row committed.
"""

from datetime import timedelta

from django.core.mail import EmailMultiAlternatives
from django.db import IntegrityError, transaction
from django.urls import reverse
from django.utils import timezone

from courseweb import mail
from enrollment.access import CourseAccess

from .calendar import office_hours_page_path, session_ics_path
from .models import Registration, Reminder, Session

DAY_BEFORE = timedelta(hours=24)
HOUR_BEFORE = timedelta(hours=1)
SUBJECTS = {
    Reminder.Kind.DAY_BEFORE: "Office hours tomorrow: {title}, {when}",
    Reminder.Kind.HOUR_BEFORE: "Office hours in an hour: {title}, {when}",
}


def due_window(kind: str, *, now):
    """Return (earliest, latest] start times of sessions whose `kind` reminder is due at `now`."""
    if kind == Reminder.Kind.DAY_BEFORE:
        return now + HOUR_BEFORE, now + DAY_BEFORE
    return now, now + HOUR_BEFORE


def due_registrations(kind: str, *, now):
    """Registrations of scheduled sessions whose `kind` reminder is due and not sent. Not locked."""
    after, until = due_window(kind, now=now)
    return (
        Registration.objects.filter(
            session__status=Session.Status.SCHEDULED, session__starts_at__gt=after, session__starts_at__lte=until
        )
        .exclude(reminders__kind=kind)
        .order_by("pk")
    )


def send_due_reminders(*, now=None) -> int:
    """Send every due reminder over one SMTP connection; return how many were sent. Safe to run twice or at once.

    Each reminder is claimed, recorded and sent in its own transaction (see the module docstring).
    Errors that may pass (server unreachable, 4xx) propagate; what was not sent goes with the next sweep.
    """
    now = now or timezone.now()
    with mail.Batch() as batch:
        for kind in (Reminder.Kind.HOUR_BEFORE, Reminder.Kind.DAY_BEFORE):
            for registration_id in list(due_registrations(kind, now=now).values_list("pk", flat=True)):
                with transaction.atomic():
                    registration = _claim(registration_id, kind, now=now)
                    if registration is None:
                        continue
                    # Not sent for good (address refused, message rejected or malformed): the record stands.
                    batch.send(build_message(registration, kind=kind, now=now))
    return batch.sent


def _claim(registration_id: int, kind: str, *, now) -> Registration | None:
    """Lock the registration, check the reminder is still due and unsent, and record it as sent.

    Return the registration (with its user, session, run and course), or None when another worker holds
    it, the reminder went already, the session moved or was cancelled, or the student may no longer see
    office hours. Call inside the transaction that sends the email.
    """
    after, until = due_window(kind, now=now)
    registration = (
        Registration.objects.select_for_update(skip_locked=True, of=("self",))
        .select_related("user", "session__run__course")
        .filter(
            pk=registration_id,
            session__status=Session.Status.SCHEDULED,
            session__starts_at__gt=after,
            session__starts_at__lte=until,
        )
        .exclude(reminders__kind=kind)
        .first()
    )
    if registration is None or not registration.user.email or not registration.user.is_active:
        return None
    if not CourseAccess(registration.user, registration.session.run.course, at=now).office_hours():
        return None
    try:
        with transaction.atomic():
            Reminder.objects.create(registration=registration, kind=kind, sent_at=now)
    except IntegrityError:
        return None  # recorded by another transaction meanwhile
    return registration


def build_message(registration: Registration, *, kind: str, now=None) -> EmailMultiAlternatives:
    """Render one reminder with the session's time in the student's own zone, the zone named."""
    user, session = registration.user, registration.session
    course = session.run.course
    zone = mail.recipient_zone(user)
    starts_at = timezone.localtime(session.starts_at, zone)
    ends_at = timezone.localtime(session.ends_at, zone)
    when = f"{starts_at:%A} {starts_at.day} {starts_at:%B, %H:%M} ({zone})"
    subject = SUBJECTS[kind].format(title=session.title, when=when)
    context = {
        "user": user,
        "session": session,
        "course": course,
        "kind": kind,
        "day_before": kind == Reminder.Kind.DAY_BEFORE,
        "starts_at": starts_at,
        "ends_at": ends_at,
        "office_hours_url": mail.absolute(office_hours_page_path(course)),
        "ics_url": mail.absolute(session_ics_path(session)),
        "profile_url": mail.absolute(reverse("profile")),
    }
    return mail.render("officehours_reminder", to=user.email, subject=subject, context=context, zone=zone,
                       headers={"X-Courseweb-Email": f"officehours-{kind}:{registration.pk}"})  # fmt: skip
