"""Celery tasks for the enrollment emails.

The SentEmail rows are the queue and their status the truth; a task only says "send what is queued
now". So a task that runs twice, on two workers at once, again after a retry, or again after its worker
died, sends nothing twice (see enrollment.emails.deliver_queued).
"""

import logging
import smtplib

from celery import shared_task
from celery.utils.time import get_exponential_backoff_interval

from . import emails

logger = logging.getLogger(__name__)

RETRYABLE = (OSError, smtplib.SMTPException)
# A beat tick that waited in the broker longer than the beat period (workers down, or busy with a long
# batch) is dropped when it is finally received: the next tick does the same work.
SWEEP_EXPIRES = 55


@shared_task(bind=True, max_retries=8)
def deliver_emails(self):
    """Send every queued enrollment email. Safe to run twice, or on two workers at once."""
    try:
        return emails.deliver_queued()
    except RETRYABLE as error:
        if self.request.is_eager:
            # In-process (no broker), a retry would run at once, inside the request that enrolled the
            # student. The rows stay queued for the next delivery.
            logger.warning("Enrollment emails stay queued, the SMTP server failed: %r", error)
            return 0
        # Backoff 1 s … 10 min; whatever is left when the retries run out goes with the next beat sweep.
        countdown = get_exponential_backoff_interval(
            factor=1, retries=self.request.retries, maximum=600, full_jitter=True
        )
        raise self.retry(exc=error, countdown=countdown) from error


@shared_task(expires=SWEEP_EXPIRES)
def send_due_emails():
    """Beat job: queue the pre-launch emails that have come due, then send what is queued.

    Not retried on SMTP errors: the next tick, a minute later, is the retry, and retries would pile up
    one per tick while the server is down.
    """
    emails.queue_due_prelaunch()
    return emails.deliver_queued()
