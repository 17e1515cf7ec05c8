"""The session and the logged-in user come from the cache, and a change to the user counts at once."""

import pytest
from django.core.cache import cache
from django.urls import reverse

from accounts.backends import user_cache_key
from tests.factories import PASSWORD, UserFactory

pytestmark = pytest.mark.django_db


def test_a_logged_in_request_reads_neither_session_nor_user_from_the_database(client, django_assert_num_queries):
    user = UserFactory()
    client.force_login(user)
    client.get("/healthz")  # the first request fills the cache
    with django_assert_num_queries(1):  # healthz's own SELECT 1
        assert client.get("/healthz").status_code == 200
    assert cache.get(user_cache_key(user.pk)) == user


def test_a_new_password_ends_the_other_sessions_at_once(client):
    user = UserFactory()
    client.force_login(user)
    assert client.get(reverse("profile")).status_code == 200  # cached now

    user.set_password("a-new-password-2026")
    user.save()

    response = client.get(reverse("profile"))
    assert response.status_code == 302 and reverse("account_login") in response["Location"]


def test_a_deactivated_user_is_logged_out_at_once(client):
    user = UserFactory()
    client.force_login(user)
    assert client.get(reverse("profile")).status_code == 200

    user.is_active = False
    user.save()

    assert client.get(reverse("profile")).status_code == 302


def test_a_new_time_zone_shows_on_the_next_page(client):
    user = UserFactory(timezone="UTC")
    client.force_login(user)
    assert client.get(reverse("profile")).context["user"].timezone == "UTC"

    user.timezone = "Asia/Tokyo"
    user.save()

    response = client.get(reverse("profile"))
    assert response.context["user"].timezone == "Asia/Tokyo"
    assert '<option value="Asia/Tokyo" selected>' in response.content.decode()


def test_a_deleted_user_is_logged_out(client):
    user = UserFactory()
    client.force_login(user)
    assert client.get(reverse("profile")).status_code == 200

    user.delete()

    assert client.get(reverse("profile")).status_code == 302


def test_sessions_outlive_an_emptied_cache(client):
    """Sessions are written through to the database: a Redis restart logs nobody out."""
    user = UserFactory()
    assert client.login(email=user.email, password=PASSWORD)
    cache.clear()
    assert client.get(reverse("profile")).status_code == 200
