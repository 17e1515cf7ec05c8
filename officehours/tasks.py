"""Celery tasks of office hours: the email to the students of a session that was moved or cancelled, and reminders."""

from celery import shared_task

from courseweb.mail import MailTask

from . import change_emails, reminders

# A beat tick that waited in the broker longer than the beat period is dropped: the next tick does the same work.
SWEEP_EXPIRES = 55


@shared_task(base=MailTask)
def notify_session_changed(session_id, change, sequence=None):
    """Email each student signed up for the session that it was moved or cancelled, once per change.

    `sequence`: the session's calendar sequence after the change. Safe to run twice; retried on SMTP
    errors (see MailTask). Return how many were sent.
    """
    return change_emails.notify_session_changed(session_id=session_id, change=change, sequence=sequence)


@shared_task(expires=SWEEP_EXPIRES)
def send_office_hours_reminders():
    """Beat job: send the day-before and hour-before reminders that are due. Safe to run twice or at once.

    Not retried on SMTP errors: what was not sent is still due at the next tick, a minute later.
    """
    return reminders.send_due_reminders()


@shared_task(expires=SWEEP_EXPIRES)
def send_left_over_change_emails():
    """Beat job: send the change emails a task left queued (its worker died, or its retries ran out).

    Not retried on SMTP errors: what was not sent is still queued at the next tick, a minute later.
    """
    return change_emails.deliver_left_over()
