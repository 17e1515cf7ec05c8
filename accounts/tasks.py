from celery import shared_task
from django.core.mail import EmailMultiAlternatives

from courseweb import mail
from courseweb.text import one_line

from . import emails

SWEEP_EXPIRES = 55


@shared_task(base=mail.MailTask)
def send_account_email(*, subject, body, html, from_email, to):
    """Send an account email rendered elsewhere (no outbox row); return 1 if sent.

    Retried on SMTP errors (see MailTask); an address refused for good is logged, not retried.
    """
    message = EmailMultiAlternatives(subject=one_line(subject), body=body, from_email=from_email, to=to)
    if html:
        message.attach_alternative(html, "text/html")
    with mail.Batch() as batch:
        return int(bool(batch.send(message)))


@shared_task(base=mail.MailTask)
def deliver_account_email(account_email_id):
    """Send one queued account email (login code, password reset); safe to run twice. Retried on SMTP errors."""
    return emails.deliver_one(account_email_id=account_email_id)


@shared_task(expires=SWEEP_EXPIRES)
def send_left_over_account_emails():
    """Beat job: send the account emails their task left queued (the broker was down, or the worker died)."""
    return emails.deliver_left_over()
