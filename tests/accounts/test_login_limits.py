"""Wrong passwords are limited: also at /admin/login/, and per client behind the proxy, not per proxy.

allauth counts failed logins per client address (10 a minute) and per account (5 in 5 minutes) in the
shared cache. Each test uses addresses of its own (random ones in 10.0.0.0/8), so the counts of other tests
and runs never meet these.
"""

import uuid

import pytest
from django.contrib.auth import SESSION_KEY
from django.urls import reverse

from tests.factories import PASSWORD, StaffFactory

pytestmark = pytest.mark.django_db

TOO_MANY = "Too many failed login attempts"


@pytest.fixture(autouse=True)
def no_rate_limits(settings):
    """Replace the folder's fixture that turns the limits off: here they are what is tested (allauth's defaults)."""
    del settings.ACCOUNT_RATE_LIMITS


def an_email(name):
    """An address no earlier test or run has counted failures for (the counts outlive a run on Redis)."""
    return f"{name}-{uuid.uuid4().hex[:12]}@example.com"


def an_address():
    """A client address no other test (or run in the last minutes) used: 24 random bits in 10.0.0.0/8."""
    bits = uuid.uuid4().int
    return f"10.{bits % 256}.{bits // 256 % 256}.{bits // 65536 % 254 + 1}"


def log_in(client, email, password, **headers):
    return client.post(reverse("account_login"), {"login": email, "password": password}, **headers)


def test_the_admin_login_is_allauths_login(client):
    response = client.get("/admin/login/?next=/admin/")
    assert response.status_code == 302
    assert response["Location"].startswith(reverse("account_login"))
    assert "next=%2Fadmin%2F" in response["Location"]


def test_the_admin_login_form_takes_no_password_itself(client):
    """Its own form had no limit: a POST to it is sent to allauth's login and authenticates nobody."""
    instructor = StaffFactory(email=an_email("instructor"), is_superuser=True)
    response = client.post("/admin/login/", {"username": instructor.email, "password": PASSWORD})
    assert response.status_code == 302 and response["Location"].startswith(reverse("account_login"))
    assert SESSION_KEY not in client.session


def test_the_eleventh_wrong_password_from_one_address_is_refused_even_if_right(client):
    instructor = StaffFactory(email=an_email("instructor"), is_superuser=True)
    address = an_address()
    for attempt in range(10):  # guesses spread over accounts, so only the per-address limit counts them
        response = log_in(client, an_email(f"guess{attempt}"), "wrong", REMOTE_ADDR=address)
        assert response.status_code == 200 and TOO_MANY not in response.content.decode()
    refused = log_in(client, instructor.email, PASSWORD, REMOTE_ADDR=address)
    assert refused.status_code in (200, 429)
    assert TOO_MANY in refused.content.decode() or refused.status_code == 429
    assert SESSION_KEY not in client.session
    # The instructor, from their own address, still gets in, and then into the admin.
    assert log_in(client, instructor.email, PASSWORD, REMOTE_ADDR=an_address()).status_code == 302
    assert client.get("/admin/").status_code == 200


def test_the_sixth_wrong_password_for_one_account_is_refused_from_any_address(client):
    instructor = StaffFactory(email=an_email("teacher"))
    for _ in range(5):
        assert TOO_MANY not in log_in(client, instructor.email, "wrong", REMOTE_ADDR=an_address()).content.decode()
    refused = log_in(client, instructor.email, PASSWORD, REMOTE_ADDR=an_address())
    assert refused.status_code != 302 and SESSION_KEY not in client.session


def test_behind_the_proxy_one_clients_failures_do_not_lock_out_another(client, settings):
    settings.ALLAUTH_TRUSTED_PROXY_COUNT = 1  # BEHIND_PROXY=1
    student = StaffFactory(email=an_email("student"), is_staff=False)
    attacker, student_address = an_address(), an_address()
    while student_address == attacker:
        student_address = an_address()
    proxy = {"REMOTE_ADDR": "127.0.0.1"}  # every request arrives from nginx on this machine
    for attempt in range(11):
        log_in(client, an_email(f"guess{attempt}"), "wrong", HTTP_X_FORWARDED_FOR=f"10.0.0.9, {attacker}", **proxy)
    assert TOO_MANY in log_in(client, an_email("x"), "wrong", HTTP_X_FORWARDED_FOR=attacker, **proxy).content.decode()

    response = log_in(client, student.email, PASSWORD, HTTP_X_FORWARDED_FOR=student_address, **proxy)
    assert response.status_code == 302
    assert int(client.session[SESSION_KEY]) == student.pk
