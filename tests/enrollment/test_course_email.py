"""Turning announcement email off: on the email settings page, or with the signed one-click link of each email."""

from urllib.parse import urlsplit

import pytest
from django.core import signing
from django.test import Client
from django.urls import reverse

from courseweb import mail
from enrollment import announcements, course_email
from enrollment.models import AnnouncementEmail, CourseEmailOptOut
from forum import notifications
from forum.models import ForumSettings
from tests.enrollment.helpers import announcement_class
from tests.factories import AnnouncementFactory, ThreadFactory, UserFactory

pytestmark = pytest.mark.django_db

ANNOUNCEMENTS = course_email.Kind.ANNOUNCEMENTS
SETTINGS_URL = reverse("forum_email:settings")


def opted_out(user):
    return CourseEmailOptOut.objects.filter(user=user, kind=ANNOUNCEMENTS).exists()


def link(user):
    return reverse("course_email:unsubscribe", args=[course_email.unsubscribe_token(user, ANNOUNCEMENTS)])


# ---------------------------------------------------------------------------------------------------------
# The one-click link


def test_the_link_asks_first_and_a_post_unsubscribes(client):
    user = UserFactory()

    page = client.get(link(user))
    assert page.status_code == 200 and "Unsubscribe from course announcements" in page.content.decode()
    assert not opted_out(user)  # link scanners open links: a GET changes nothing

    response = client.post(link(user))
    assert response.status_code == 200
    assert course_email.UNSUBSCRIBED.format(kind="course announcements") in response.content.decode()
    assert opted_out(user)
    assert client.post(link(user)).status_code == 200 and CourseEmailOptOut.objects.count() == 1


def test_a_mail_apps_one_click_post_needs_no_login_and_no_csrf_token():
    user = UserFactory()

    response = Client(enforce_csrf_checks=True).post(link(user), {"List-Unsubscribe": "One-Click"})

    assert response.status_code == 200 and opted_out(user)


@pytest.mark.parametrize("forge", ["tampered", "other-salt", "unknown-kind", "unknown-user", "garbage"])
def test_a_forged_or_foreign_token_changes_nothing(client, forge):
    user = UserFactory()
    token = course_email.unsubscribe_token(user, ANNOUNCEMENTS)
    salt = course_email.UNSUBSCRIBE_SALT
    token = {
        "tampered": token[:-3] + ("aaa" if not token.endswith("aaa") else "bbb"),
        "other-salt": notifications.unsubscribe_token(user),  # a forum link's token
        "unknown-kind": mail.unsubscribe_token(salt=salt, user_id=user.pk, k="everything"),
        "unknown-user": mail.unsubscribe_token(salt=salt, user_id=user.pk + 99, k="announcements"),
        "garbage": "not-a-token",
    }[forge]  # fmt: skip
    url = reverse("course_email:unsubscribe", args=[token])

    for response in (client.get(url), client.post(url)):
        assert response.status_code == 400
        assert "This unsubscribe link is not valid" in response.content.decode()
    assert not CourseEmailOptOut.objects.exists()


def test_the_emails_own_link_stops_the_next_announcement(mailoutbox, django_capture_on_commit_callbacks):
    scene = announcement_class()
    with django_capture_on_commit_callbacks(execute=True):
        announcements.publish(announcement=AnnouncementFactory(run=scene.run))
    [message] = mailoutbox
    url = message.extra_headers["List-Unsubscribe"].strip("<>")

    Client().post(urlsplit(url).path)

    assert opted_out(scene.current)
    with django_capture_on_commit_callbacks(execute=True):
        announcements.publish(announcement=AnnouncementFactory(run=scene.run))
    assert len(mailoutbox) == 1
    assert AnnouncementEmail.objects.count() == 1


# ---------------------------------------------------------------------------------------------------------
# The settings page


def test_the_settings_page_turns_announcement_email_off_and_on(client):
    user = UserFactory()
    client.force_login(user)
    page = client.get(SETTINGS_URL).content.decode()
    assert "Course announcements" in page and "An email for each announcement" in page
    assert 'name="course-announcements" value="on"' in page and "checked" in page

    response = client.post(SETTINGS_URL, {"email_mode": "each", "course-announcements": "off"}, follow=True)
    assert notifications.EMAIL_MODE_SAVED in response.content.decode()
    assert opted_out(user)

    client.post(SETTINGS_URL, {"email_mode": "each", "course-announcements": "on"})
    assert not opted_out(user)


def test_a_post_without_the_announcement_choice_leaves_it_as_it_is(client):
    user = UserFactory()
    course_email.set_wanted(user=user, kind=ANNOUNCEMENTS, wanted=False)
    client.force_login(user)

    client.post(SETTINGS_URL, {"email_mode": "digest"})

    assert opted_out(user)


def test_a_bad_choice_changes_nothing(client):
    user = UserFactory()
    client.force_login(user)

    response = client.post(SETTINGS_URL, {"email_mode": "none", "course-announcements": "sometimes"})

    assert response.status_code == 200 and "Select a valid choice" in response.content.decode()
    assert not CourseEmailOptOut.objects.exists()
    assert not ForumSettings.objects.filter(user=user).exists()


# ---------------------------------------------------------------------------------------------------------
# The general token of courseweb.mail, and the forum's links made before it


def test_forum_links_made_before_the_general_token_still_unsubscribe(client):
    thread = ThreadFactory()
    user = thread.author
    # Exactly how forum.notifications signed its tokens before courseweb.mail did it for every app.
    legacy_thread = signing.dumps({"u": user.pk, "t": thread.pk}, salt="forum.unsubscribe")
    legacy_all = signing.dumps({"u": user.pk, "t": "all"}, salt="forum.unsubscribe")

    assert notifications.unsubscribe_token(user, thread) == legacy_thread
    assert notifications.unsubscribe_token(user) == legacy_all
    assert notifications.read_unsubscribe_token(legacy_thread) == (user, thread)
    assert notifications.read_unsubscribe_token(legacy_all) == (user, None)


def test_an_unsubscribe_token_is_bound_to_its_salt_and_shape():
    token = mail.unsubscribe_token(salt="a", user_id=7, k="x")

    assert mail.read_unsubscribe_token(token, salt="a") == {"u": 7, "k": "x"}
    with pytest.raises(signing.BadSignature):
        mail.read_unsubscribe_token(token, salt="b")
    with pytest.raises(signing.BadSignature):
        mail.read_unsubscribe_token(signing.dumps(["not", "a", "dict"], salt="a"), salt="a")
    assert mail.one_click_headers("https://x.example/u/1/")["List-Unsubscribe"] == "<https://x.example/u/1/>"
