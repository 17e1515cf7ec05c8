"""A newline in a title or a name never breaks a notification, and one bad address never stops the others.

A thread title with "\\r\\n" used to raise BadHeaderError while its subject was built, which failed the
task (not retried) and left every follower of the thread without their email.
"""

import pytest

from accounts.models import User
from forum.models import Thread
from forum.services import mark_read, reply, set_email_mode, start_thread
from officehours.models import Session
from tests.factories import RunFactory, UserFactory
from tests.forum.helpers import Forum, header, wait_for

BROKEN_TITLE = "No audio\r\nBcc: everyone@example.com"


def test_a_title_with_a_newline_still_emails_the_followers_on_one_line(workers, smtp_sink):
    workers.route("forum.tasks.notify_new_post")
    workers.start("w1")
    forum = Forum()
    set_email_mode(user=forum.staff, mode="none")
    thread = start_thread(user=forum.alice, board=forum.board, title="No audio", body="Mic is silent.")
    Thread.objects.filter(pk=thread.pk).update(title=BROKEN_TITLE)  # as an old row, or one written around the service
    thread.refresh_from_db()

    reply(user=forum.bob, thread=thread, body="Same here.")

    (message,) = wait_for(workers, smtp_sink, 1, "the email about bob's reply")
    assert message["To"] == "alice@example.com"
    assert header(message, "Subject") == "New reply in “No audio Bcc: everyone@example.com”"
    assert "\n" not in str(message["Subject"]).replace("\n ", "")  # folded at most, never a new header
    assert message["Bcc"] is None


@pytest.fixture
def smtp(settings, smtp_sink):
    settings.EMAIL_BACKEND = "django.core.mail.backends.smtp.EmailBackend"
    settings.EMAIL_HOST, settings.EMAIL_PORT = "127.0.0.1", smtp_sink.port
    return smtp_sink


def test_one_bad_follower_address_never_stops_the_others(db, smtp, django_capture_on_commit_callbacks):
    forum = Forum()
    set_email_mode(user=forum.staff, mode="none")
    dan = Forum.student("dan@example.com", "Dan", "Brown", forum.run)
    with django_capture_on_commit_callbacks(execute=True):
        thread = start_thread(user=forum.alice, board=forum.board, title="Simulcast", body="How many layers?")
        for user in (forum.bob, dan, forum.carol):
            reply(user=user, thread=thread, body=f"Following ({user.first_name}).")
    for user in (forum.alice, forum.bob, dan, forum.carol):
        mark_read(user=user, thread=thread)
    smtp.messages.clear()
    sessions = smtp.sessions
    smtp.unknown_recipients = {"bob@example.com"}  # refused for good
    User.objects.filter(pk=dan.pk).update(email="dan@example.com\nBcc: everyone@example.com")  # malformed

    with django_capture_on_commit_callbacks(execute=True):
        reply(user=forum.staff, thread=thread, body="Three, usually.")

    assert sorted(m["To"] for m in smtp.messages) == ["alice@example.com", "carol@example.com"]
    assert smtp.sessions == sessions + 1  # one batch, one connection, not broken off


def test_titles_and_names_are_saved_on_one_line(db):
    forum = Forum()
    thread = start_thread(user=forum.alice, board=forum.board, title="  Two\r\nlines\t here ", body="Body.")
    user = UserFactory(first_name="Ada\r\n", last_name="Love\nlace")
    session = Session.objects.create(run=RunFactory(), title="Office\r\nhours", starts_at=forum.run.starts_at,
                                      duration_minutes=60, meeting_url="https://meet.example.com/room")  # fmt: skip
    forum.course.title = "WebRTC\nin practice"
    forum.course.save()

    assert thread.title == "Two lines here"
    user.refresh_from_db()
    assert (user.first_name, user.last_name) == ("Ada", "Love lace")
    session.refresh_from_db()
    assert session.title == "Office hours"
    forum.course.refresh_from_db()
    assert forum.course.title == "WebRTC in practice"
