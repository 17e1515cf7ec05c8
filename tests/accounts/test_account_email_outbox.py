"""Account emails are kept in an outbox row: one whose task could not be queued (the broker was down) is sent
by the beat sweep, once; a sent row no longer holds the code or link."""

from datetime import timedelta

import pytest
from django.core import mail
from django.urls import reverse
from django.utils import timezone

from accounts import emails
from accounts.models import AccountEmail
from tests.factories import UserFactory

pytestmark = pytest.mark.django_db


@pytest.fixture
def broker_down(monkeypatch):
    def refuse(*args, **kwargs):
        raise ConnectionError("Error 111 connecting to 127.0.0.1:6379. Connection refused.")

    monkeypatch.setattr("accounts.tasks.deliver_account_email.delay", refuse)


def test_a_password_reset_asked_while_the_broker_is_down_is_answered_and_sent_by_the_sweep(client, broker_down):
    UserFactory(email="student@example.com")

    response = client.post(reverse("account_reset_password"), {"email": "student@example.com"})

    assert response.status_code == 302  # the request did not fail
    assert mail.outbox == []
    [row] = AccountEmail.objects.all()
    assert (row.status, row.to) == ("queued", ["student@example.com"])

    assert emails.deliver_left_over() == 0  # too soon: its task may still be on its way
    assert emails.deliver_left_over(now=timezone.now() + emails.SWEEP_AFTER) == 1
    [message] = mail.outbox
    assert "/accounts/password/reset/key/" in message.body
    row.refresh_from_db()
    assert (row.status, row.body, row.html) == ("sent", "", "")
    assert emails.deliver_left_over(now=timezone.now() + emails.SWEEP_AFTER * 2) == 0
    assert len(mail.outbox) == 1


def test_an_account_email_stuck_for_more_than_a_day_is_dropped():
    row = emails.queue(subject="Your login code", body="123456", html="", from_email="a@example.com",
                       to=["student@example.com"])  # fmt: skip
    AccountEmail.objects.filter(pk=row.pk).update(queued_at=timezone.now() - emails.GIVE_UP_AFTER - timedelta(1))

    assert emails.deliver_left_over() == 0
    assert mail.outbox == []
    row.refresh_from_db()
    assert (row.status, row.body) == ("skipped", "")
