from allauth.account.adapter import DefaultAccountAdapter
from django.conf import settings

from .tasks import send_account_email


class AccountAdapter(DefaultAccountAdapter):
    def is_open_for_signup(self, request):
        return settings.ACCOUNT_ALLOW_SIGNUP

    def send_mail(self, template_prefix, email, context):
        """Render in the request, send through Celery (a slow SMTP server never blocks a login)."""
        message = self.render_mail(template_prefix, email, context)
        alternatives = getattr(message, "alternatives", [])
        html = next((content for content, mimetype in alternatives if mimetype == "text/html"), "")
        send_account_email.delay(
            subject=message.subject, body=message.body, html=html, from_email=message.from_email, to=list(message.to)
        )
