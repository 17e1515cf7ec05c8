"""The profile page: name and time zone."""

import pytest
from django.urls import reverse

from accounts.views import PROFILE_SAVED
from tests.factories import UserFactory

pytestmark = pytest.mark.django_db


@pytest.fixture
def user(client):
    user = UserFactory(first_name="Sam", last_name="Student", timezone="UTC")
    client.force_login(user)
    return user


def test_profile_requires_login(client):
    response = client.get(reverse("profile"))
    assert response.status_code == 302
    assert response["Location"].startswith(reverse("account_login"))


def test_profile_saves_a_time_zone(client, user):
    response = client.post(
        reverse("profile"),
        {"first_name": "Sam", "last_name": "Student", "timezone": "America/Los_Angeles"},
        follow=True,
    )

    assert response.redirect_chain[-1][0] == reverse("profile")
    assert PROFILE_SAVED in response.content.decode()
    user.refresh_from_db()
    assert user.timezone == "America/Los_Angeles"
    assert "Times are shown in your time zone, America/Los_Angeles" in response.content.decode()


@pytest.mark.parametrize("zone", ["Mars/Olympus_Mons", "", "utc+2", "../../etc/passwd"])
def test_profile_rejects_an_invalid_time_zone_and_changes_nothing(client, user, zone):
    response = client.post(reverse("profile"), {"first_name": "Changed", "last_name": "Name", "timezone": zone})

    assert response.status_code == 200
    form = response.context["form"]
    assert "timezone" in form.errors
    content = response.content.decode()
    assert "Select a valid choice" in content or "This field is required" in content
    assert PROFILE_SAVED not in content
    user.refresh_from_db()
    assert (user.first_name, user.last_name, user.timezone) == ("Sam", "Student", "UTC")


def test_profile_form_offers_iana_zones(client, user):
    content = client.get(reverse("profile")).content.decode()
    assert 'value="Europe/Berlin"' in content
    assert 'value="America/Los_Angeles"' in content
