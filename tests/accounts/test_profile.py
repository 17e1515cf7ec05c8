"""The profile page: name and time zone."""

import pytest
from django.urls import reverse

from accounts.forms import UNKNOWN_ZONE
from accounts.views import PROFILE_SAVED, TIMEZONE_SAVED
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


@pytest.mark.parametrize("zone", ["Mars/Olympus_Mons", "", "utc+2", "../../etc/passwd", "europe/berlin "])
def test_profile_rejects_an_invalid_time_zone_and_changes_nothing(client, user, zone):
    response = client.post(reverse("profile"), {"first_name": "Changed", "last_name": "Name", "timezone": zone})

    assert response.status_code == 200
    form = response.context["form"]
    assert "timezone" in form.errors
    content = response.content.decode()
    assert "is not a time zone we know" in content or "This field is required" in content
    assert PROFILE_SAVED not in content
    user.refresh_from_db()
    assert (user.first_name, user.last_name, user.timezone) == ("Sam", "Student", "UTC")


def test_profile_names_the_unknown_zone_in_its_error(client, user):
    response = client.post(reverse("profile"), {"first_name": "Sam", "timezone": "Mars/Olympus_Mons"})

    assert response.context["form"].errors["timezone"] == [UNKNOWN_ZONE.format(zone="Mars/Olympus_Mons")]


def test_profile_zone_picker_has_a_search_box_for_the_script(client, user):
    content = client.get(reverse("profile")).content.decode()

    assert '<label class="form-label" for="timezone-search">Search time zones</label>' in content
    assert 'aria-controls="id_timezone"' in content and 'data-zone-select="id_timezone"' in content
    assert "js/timezone.js" in content
    assert content.index('id="timezone-search"') < content.index('id="id_timezone"')


# --- The offer of the browser's zone (base.html) posts here ---


def test_one_click_saves_the_offered_zone_and_returns_to_the_page(client, user):
    response = client.post(reverse("profile_timezone"), {"timezone": "Europe/Berlin", "next": "/courses/x/learn/"})

    assert response.status_code == 302 and response["Location"] == "/courses/x/learn/"
    user.refresh_from_db()
    assert user.timezone == "Europe/Berlin"
    page = client.get(reverse("profile")).content.decode()
    assert TIMEZONE_SAVED.format(zone="Europe/Berlin") in page
    assert "Times are shown in your time zone, Europe/Berlin" in page


def test_the_offer_never_redirects_off_the_site(client, user):
    response = client.post(reverse("profile_timezone"), {"timezone": "Asia/Tokyo", "next": "https://evil.example/"})
    assert response["Location"] == reverse("profile")


@pytest.mark.parametrize("zone", ["Mars/Olympus_Mons", "", "Europe/Berlin; DROP TABLE", "x" * 200])
def test_the_offer_refuses_an_unknown_zone_with_a_clear_message_and_changes_nothing(client, user, zone):
    response = client.post(reverse("profile_timezone"), {"timezone": zone, "next": "/"}, follow=True)

    content = response.content.decode()
    assert "is not a time zone we know" in content or "This field is required" in content or "at most" in content
    user.refresh_from_db()
    assert user.timezone == "UTC"


def test_the_offer_needs_a_login_and_a_post(client):
    response = client.post(reverse("profile_timezone"), {"timezone": "Europe/Berlin"})
    assert response.status_code == 302 and response["Location"].startswith(reverse("account_login"))
    client.force_login(UserFactory())
    assert client.get(reverse("profile_timezone")).status_code == 405


def test_the_offer_is_on_every_page_of_a_logged_in_user_only(client, user):
    page = client.get(reverse("profile")).content.decode()
    assert 'id="timezone-offer"' in page and 'data-user-zone="UTC"' in page
    assert 'aria-label="Time zone"' in page
    client.logout()
    assert 'id="timezone-offer"' not in client.get(reverse("account_login")).content.decode()


def test_profile_form_offers_iana_zones(client, user):
    content = client.get(reverse("profile")).content.decode()
    assert 'value="Europe/Berlin"' in content
    assert 'value="America/Los_Angeles"' in content
