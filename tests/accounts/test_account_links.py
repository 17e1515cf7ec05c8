"""Account emails link to SITE_URL, never to the Host a request claimed; open sign-up verifies the address."""

import os
import re
import subprocess
import sys
from pathlib import Path

import pytest
from django.contrib.auth import SESSION_KEY
from django.urls import reverse

from accounts.models import User
from tests.factories import UserFactory

pytestmark = pytest.mark.django_db

ROOT = Path(__file__).resolve().parent.parent.parent
LINK = re.compile(r"https?://\S+")


@pytest.fixture
def site(settings):
    settings.SITE_URL = "https://course.example.com"
    settings.ALLOWED_HOSTS = ["course.example.com", "testserver", "other.example.org"]
    return settings.SITE_URL


def test_a_password_reset_link_leads_to_the_site_whatever_host_the_request_named(client, mailoutbox, eager_celery,
                                                                                 site):  # fmt: skip
    UserFactory(email="student@example.com")

    client.post(reverse("account_reset_password"), {"email": "student@example.com"}, HTTP_HOST="other.example.org")

    [message] = mailoutbox
    links = LINK.findall(message.body)
    assert any("/accounts/password/reset/key/" in link for link in links)
    assert all(link.startswith(site + "/") for link in links), links
    assert "other.example.org" not in message.body


def test_with_open_sign_up_a_new_account_must_verify_its_address_first(client, mailoutbox, eager_celery, site,
                                                                        settings):  # fmt: skip
    settings.ACCOUNT_ALLOW_SIGNUP = True
    settings.ACCOUNT_EMAIL_VERIFICATION = "mandatory"  # what the settings derive from ACCOUNT_ALLOW_SIGNUP=1
    password = "a-long-new-password-1"

    client.post(reverse("account_signup"), {"email": "buyer@example.com", "password1": password, "password2": password},
                HTTP_HOST="other.example.org")  # fmt: skip

    assert SESSION_KEY not in client.session
    [message] = mailoutbox
    assert any(link.startswith(site + "/accounts/confirm-email/") for link in LINK.findall(message.body))
    response = client.post(reverse("account_login"), {"login": "buyer@example.com", "password": password})
    assert SESSION_KEY not in client.session  # not before the address is confirmed
    assert User.objects.get(email="buyer@example.com").emailaddress_set.get().verified is False
    assert response.status_code == 302 and "confirm-email" in response["Location"]


@pytest.mark.parametrize(("signup", "verification"), [("1", "mandatory"), ("", "none")])
def test_the_settings_make_verification_mandatory_exactly_when_sign_up_is_open(signup, verification):
    show = "from django.conf import settings as s; print(s.ACCOUNT_EMAIL_VERIFICATION)"
    env = {"PATH": os.environ.get("PATH", ""), "DJANGO_SETTINGS_MODULE": "courseweb.settings", "DEBUG": "1",
           "ACCOUNT_ALLOW_SIGNUP": signup}  # fmt: skip
    loaded = subprocess.run([sys.executable, "-c", show], cwd=ROOT, env=env, capture_output=True, text=True,
                            check=True)  # fmt: skip
    assert loaded.stdout.strip() == verification
