from celery import shared_task
from django.core.mail import EmailMultiAlternatives

from courseweb import mail
from courseweb.text import one_line


@shared_task(base=mail.MailTask)
def send_account_email(*, subject, body, html, from_email, to):
    """Send an account email (login code, password reset) that was rendered in the request; return 1 if sent.

    Retried on SMTP errors (see MailTask); an address refused for good is logged, not retried.
    """
    message = EmailMultiAlternatives(subject=one_line(subject), body=body, from_email=from_email, to=to)
    if html:
        message.attach_alternative(html, "text/html")
    with mail.Batch() as batch:
        return int(bool(batch.send(message)))
