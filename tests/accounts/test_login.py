"""Logging in: by email and password, by an emailed code, and resetting a password."""

import re

import pytest
from django.contrib.auth import SESSION_KEY
from django.urls import reverse

from accounts.models import AccountEmail, User
from tests.factories import PASSWORD, UserFactory

pytestmark = pytest.mark.django_db


def logged_in_user_id(client):
    value = client.session.get(SESSION_KEY)
    return int(value) if value is not None else None


def test_login_with_email_and_password(client):
    user = UserFactory(email="student@example.com")
    response = client.post(reverse("account_login"), {"login": "student@example.com", "password": PASSWORD})
    assert response.status_code == 302
    assert logged_in_user_id(client) == user.pk


def test_login_email_is_case_insensitive(client):
    user = UserFactory(email="student@example.com")
    response = client.post(reverse("account_login"), {"login": "Student@Example.com", "password": PASSWORD})
    assert response.status_code == 302
    assert logged_in_user_id(client) == user.pk


def test_user_email_is_stored_lower_case():
    user = UserFactory(email="  Mixed.Case@Example.COM ")
    assert user.email == "mixed.case@example.com"
    assert User.objects.get_by_natural_key("MIXED.case@example.com") == user


def test_wrong_password_does_not_log_in(client):
    UserFactory(email="student@example.com")
    response = client.post(reverse("account_login"), {"login": "student@example.com", "password": "wrong-one"})
    assert response.status_code == 200
    assert logged_in_user_id(client) is None


def test_signup_is_closed_by_default(client):
    response = client.get(reverse("account_signup"))
    content = response.content.decode()
    assert "Sign Up Closed" in content
    assert 'name="password1"' not in content

    response = client.post(
        reverse("account_signup"),
        {"email": "new@example.com", "password1": "a-long-new-password", "password2": "a-long-new-password"},
    )
    assert not User.objects.filter(email="new@example.com").exists()


def test_signup_opens_when_allowed(client, settings):
    settings.ACCOUNT_ALLOW_SIGNUP = True
    content = client.get(reverse("account_signup")).content.decode()
    assert 'name="password1"' in content


def read_code(message):
    """Return the login code from the email: the line on its own after the explanation."""
    lines = [line.strip() for line in message.body.splitlines()]
    start = next(i for i, line in enumerate(lines) if "code is listed below" in line)
    code = next(line for line in lines[start + 1 :] if line)
    assert re.fullmatch(r"[A-Z0-9-]{4,12}", code), code
    return code


def log_in_by_code(client, mailoutbox, email):
    response = client.post(reverse("account_request_login_code"), {"email": email})
    assert response.status_code == 302
    assert response["Location"].startswith(reverse("account_confirm_login_code"))
    assert len(mailoutbox) == 1
    assert mailoutbox[0].to == [email.lower()]
    code = read_code(mailoutbox[0])
    return client.post(reverse("account_confirm_login_code"), {"code": code})


def test_login_by_emailed_code_works_end_to_end(client, mailoutbox, eager_celery):
    user = UserFactory(email="student@example.com")

    response = log_in_by_code(client, mailoutbox, "student@example.com")

    assert response.status_code == 302
    assert logged_in_user_id(client) == user.pk
    assert client.get(reverse("profile")).status_code == 200


def test_login_code_email_names_the_site(client, mailoutbox, eager_celery, settings):
    settings.SITE_NAME = "WebRTC Course"
    UserFactory(email="student@example.com")

    client.post(reverse("account_request_login_code"), {"email": "student@example.com"})

    assert mailoutbox[0].subject.startswith("[")
    assert "Hello from WebRTC Course!" in mailoutbox[0].body


def test_user_without_a_usable_password_can_log_in_by_code(client, mailoutbox, eager_celery):
    user = User.objects.create_user(email="bulk@example.com")  # as bulk enrolment creates them
    assert not user.has_usable_password()

    response = log_in_by_code(client, mailoutbox, "Bulk@Example.com")

    assert response.status_code == 302
    assert logged_in_user_id(client) == user.pk


def test_wrong_login_code_does_not_log_in(client, mailoutbox, eager_celery):
    UserFactory(email="student@example.com")
    client.post(reverse("account_request_login_code"), {"email": "student@example.com"})
    response = client.post(reverse("account_confirm_login_code"), {"code": "WRONG1"})
    assert logged_in_user_id(client) is None
    assert response.status_code in {200, 302}


def test_password_reset_email_is_sent(client, mailoutbox, eager_celery):
    UserFactory(email="student@example.com")

    response = client.post(reverse("account_reset_password"), {"email": "Student@Example.com"})

    assert response.status_code == 302
    assert len(mailoutbox) == 1
    message = mailoutbox[0]
    assert message.to == ["student@example.com"]
    assert message.subject.startswith("[Courseweb] ")
    assert "/accounts/password/reset/key/" in message.body


def test_password_reset_link_lets_the_user_set_a_new_password(client, mailoutbox, eager_celery):
    user = UserFactory(email="student@example.com")
    client.post(reverse("account_reset_password"), {"email": "student@example.com"})
    link = re.search(r"https?://[^/\s]+(/accounts/password/reset/key/\S+)", mailoutbox[0].body).group(1)

    response = client.get(link, follow=True)  # allauth moves the key into the session and redirects
    form_url = response.redirect_chain[-1][0] if response.redirect_chain else link
    response = client.post(form_url, {"password1": "a-brand-new-pass-42", "password2": "a-brand-new-pass-42"})

    assert response.status_code == 302
    user.refresh_from_db()
    assert user.check_password("a-brand-new-pass-42")


@pytest.mark.django_db(transaction=True)
def test_account_emails_are_sent_by_a_worker_not_in_the_request(client, workers, smtp_sink, mailoutbox):
    workers.route("accounts.tasks.deliver_account_email")
    [worker] = workers.start("w1")
    UserFactory(email="student@example.com")

    response = client.post(reverse("account_reset_password"), {"email": "Student@Example.com"})

    assert response.status_code == 302
    assert mailoutbox == []  # the request handed the email over and sent nothing itself
    workers.wait_until(lambda: smtp_sink.messages, "the password-reset email from the worker")
    [message] = smtp_sink.messages
    assert message["To"] == "student@example.com"
    assert "/accounts/password/reset/key/" in message.get_body(("plain",)).get_content()
    # Python's Message-ID is <time.pid.random@host>: the worker's process built the message.
    assert re.match(rf"<\d+\.{worker.pid}\.", message["Message-ID"]), message["Message-ID"]
    # Its outbox row is marked sent, and no longer holds the link.
    workers.wait_until(lambda: AccountEmail.objects.filter(status="sent", body="").exists(), "the row marked sent")
