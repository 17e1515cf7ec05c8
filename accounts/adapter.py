from types import SimpleNamespace

from allauth.account.adapter import DefaultAccountAdapter
from allauth.core import context as allauth_context
from django.conf import settings

from .tasks import send_account_email


class AccountAdapter(DefaultAccountAdapter):
    def is_open_for_signup(self, request):
        return settings.ACCOUNT_ALLOW_SIGNUP

    def send_mail(self, template_prefix, email, context):
        """Render in the request, send through Celery (a slow SMTP server never blocks a login)."""
        request = allauth_context.request
        site = SimpleNamespace(name=settings.SITE_NAME, domain=request.get_host() if request else "")
        message = self.render_mail(template_prefix, email, {"request": request, "email": email,
                                                            "current_site": site, **context})  # fmt: skip
        alternatives = getattr(message, "alternatives", [])
        html = next((content for content, mimetype in alternatives if mimetype == "text/html"), "")
        send_account_email.delay(
            subject=message.subject, body=message.body, html=html, from_email=message.from_email, to=list(message.to)
        )
