"""Celery tasks for the enrollment emails.

The SentEmail rows are the queue and their status the truth; a task only says "send what is queued
now". So a task that runs twice, on two workers at once, again after a retry, or again after its worker
died, sends nothing twice (see enrollment.emails.deliver_queued).
"""

from celery import shared_task

from courseweb.mail import MailTask

from . import announcement_emails, emails, release_digests

# The release digests' tick comes every RELEASE_DIGEST_PERIOD seconds; one older than that is dropped.
RELEASE_DIGEST_PERIOD = 600
# A beat tick that waited in the broker longer than the beat period (workers down, or busy with a long
# batch) is dropped when it is finally received: the next tick does the same work.
SWEEP_EXPIRES = 55


@shared_task(base=MailTask)
def deliver_emails():
    """Send every queued enrollment email. Safe to run twice, or on two workers at once.

    Retried on SMTP errors (see MailTask); in-process, the rows stay queued for the next delivery, and
    whatever is left when the retries run out goes with the next beat sweep.
    """
    return emails.deliver_queued()


@shared_task(base=MailTask)
def deliver_extension_emails():
    """Send every queued "your access was extended" email. Safe to run twice, or on two workers at once."""
    return emails.deliver_extensions()


@shared_task(expires=SWEEP_EXPIRES)
def send_due_emails():
    """Beat job: queue the pre-launch emails that have come due, then send what is queued.

    Not retried on SMTP errors: the next tick, a minute later, is the retry, and retries would pile up
    one per tick while the server is down.
    """
    emails.queue_due_prelaunch()
    return emails.deliver_queued() + emails.deliver_extensions()


@shared_task(base=MailTask)
def deliver_announcement(announcement_id):
    """Email a published announcement to the students it was queued for, once each. Safe to run twice.

    Retried on SMTP errors (see MailTask); what is left when the retries run out goes with the beat sweep.
    """
    return announcement_emails.deliver_announcement(announcement_id=announcement_id)


@shared_task(expires=SWEEP_EXPIRES)
def send_left_over_announcement_emails():
    """Beat job: send the announcement emails a task left queued (its worker died, or its retries ran out).

    Not retried on SMTP errors: what was not sent is still queued at the next tick, a minute later.
    """
    return announcement_emails.deliver_left_over()


@shared_task(expires=RELEASE_DIGEST_PERIOD - 60)
def send_release_digests():
    """Beat job: queue each student's release digest that has come due (their local morning), then send the queued.

    Safe to run twice, or on two workers at once (see enrollment.release_digests). Not retried on SMTP
    errors: what was not sent is still queued at the next tick.
    """
    release_digests.queue_due()
    return release_digests.deliver_queued()
