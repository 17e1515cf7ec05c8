import smtplib

from celery import shared_task

from . import emails

RETRYABLE = (OSError, smtplib.SMTPException)


@shared_task(autoretry_for=RETRYABLE, retry_backoff=True, retry_backoff_max=600, max_retries=None)
def deliver_emails():
    """Send every queued enrollment email. Safe to run twice, or on two workers at once."""
    return emails.deliver_queued()


@shared_task(autoretry_for=RETRYABLE, retry_backoff=True, retry_backoff_max=600, max_retries=None)
def send_due_emails():
    """Beat job: queue the pre-launch emails that have come due, then send what is queued."""
    emails.queue_due_prelaunch()
    return emails.deliver_queued()
