"""Celery tasks for forum email (see forum.notifications).

Tasks take ids and are safe to run twice: what each recipient has been told is marked in the database in
the transaction that sends their email, so a retry sends only what did not go out.
"""

import logging
import smtplib

from celery import shared_task
from celery.utils.time import get_exponential_backoff_interval

from . import notifications

logger = logging.getLogger(__name__)

RETRYABLE = (OSError, smtplib.SMTPException)
# An hourly beat tick that waited in the broker past the next one is dropped: the next does the same work.
DIGEST_SWEEP_EXPIRES = 3300


@shared_task(bind=True, max_retries=8)
def notify_new_post(self, post_id, *, new_thread=False):
    """Email the thread's subscribers (and staff, for a new thread, and those @mentioned) about a post."""
    try:
        return notifications.notify_new_post(post_id=post_id, new_thread=new_thread)
    except RETRYABLE as error:
        if self.request.is_eager:
            # In-process there is no broker to retry through; the post is saved, the email is lost.
            logger.warning("Forum notifications for post %s were not sent, the SMTP server failed: %r", post_id, error)
            return 0
        countdown = get_exponential_backoff_interval(
            factor=1, retries=self.request.retries, maximum=600, full_jitter=True
        )
        raise self.retry(exc=error, countdown=countdown) from error


@shared_task(expires=DIGEST_SWEEP_EXPIRES)
def send_forum_digests():
    """Beat job (hourly): send the daily digests that are due. The next tick is the retry."""
    return notifications.send_digests()
