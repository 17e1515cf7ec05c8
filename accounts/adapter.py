import logging
from types import SimpleNamespace
from urllib.parse import urlsplit

from allauth.account.adapter import DefaultAccountAdapter
from allauth.core import context as allauth_context
from django.conf import settings

from . import emails
from .tasks import deliver_account_email

logger = logging.getLogger(__name__)


class AccountAdapter(DefaultAccountAdapter):
    def is_open_for_signup(self, request):
        return settings.ACCOUNT_ALLOW_SIGNUP

    def send_mail(self, template_prefix, email, context):
        """Render in the request, keep it in the outbox, send it through Celery (a slow SMTP server blocks no login)."""
        request = allauth_context.request
        site = SimpleNamespace(name=settings.SITE_NAME, domain=urlsplit(settings.SITE_URL).netloc)
        context = {key: on_site_url(value, request) for key, value in context.items()}
        message = self.render_mail(template_prefix, email, {"request": request, "email": email,
                                                            "current_site": site, **context})  # fmt: skip
        alternatives = getattr(message, "alternatives", [])
        html = next((content for content, mimetype in alternatives if mimetype == "text/html"), "")
        # The row is written with the request (allauth's views run in autocommit); a broker that is down fails
        # nothing: the beat sweep sends what no task took (as it does a row a task ran too early to see).
        row = emails.queue(subject=message.subject, body=message.body, html=html, from_email=message.from_email,
                           to=list(message.to))  # fmt: skip
        try:
            deliver_account_email.delay(row.pk)
        except Exception:
            logger.exception("Could not queue account email %s; the beat sweep will send it", row.pk)


def on_site_url(value, request):
    """Point a link allauth built from the request's Host at SITE_URL instead.

    The Host header is the requester's to choose (within ALLOWED_HOSTS); a password-reset or verification
    link must lead to the site itself, whatever address the request came in on.
    """
    if request is None or not isinstance(value, str):
        return value
    origin = request.build_absolute_uri("/")
    if value.startswith(origin):
        return f"{settings.SITE_URL}/{value.removeprefix(origin)}"
    return value
