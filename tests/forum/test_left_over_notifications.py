"""A post whose notification task never ran (Redis was down when it was queued, or its worker died) is
notified by the beat sweep once SWEEP_AFTER has passed: once, and not again at the next tick."""

from datetime import timedelta

import pytest
from django.core import mail
from django.utils import timezone

from forum import notifications
from forum.models import Post
from forum.notifications import GIVE_UP_AFTER, SWEEP_AFTER
from forum.services import reply, start_thread
from tests.forum.helpers import Forum

pytestmark = pytest.mark.django_db


@pytest.fixture
def no_tasks(monkeypatch):
    """The services' notification task is never queued, as when the broker was down."""
    monkeypatch.setattr("forum.services._after_commit_notify", lambda post, *, new_thread: None)


def test_a_post_whose_task_never_ran_is_notified_by_the_sweep_once(no_tasks):
    forum = Forum()
    thread = start_thread(user=forum.alice, board=forum.board, title="Codecs", body="Which one?")
    post = reply(user=forum.bob, thread=thread, body="Opus.")
    later = timezone.now() + SWEEP_AFTER + timedelta(seconds=1)

    assert notifications.notify_left_over(now=timezone.now()) == 0  # too soon: its task may still run
    assert notifications.notify_left_over(now=later) == 2  # the new thread to staff, the reply to Alice

    assert sorted((m.to[0], m.extra_headers["X-Courseweb-Email"]) for m in mail.outbox) == [
        ("alice@example.com", f"forum-reply:{post.pk}"),
        ("teacher@example.com", f"forum-new_thread:{thread.posts.first().pk}"),
    ]
    assert not Post.objects.filter(notified_at__isnull=True).exists()
    assert notifications.notify_left_over(now=later + timedelta(minutes=1)) == 0
    assert len(mail.outbox) == 2


def test_a_post_notified_by_its_task_is_left_alone_by_the_sweep(eager_celery, django_capture_on_commit_callbacks):
    forum = Forum()
    with django_capture_on_commit_callbacks(execute=True):
        thread = start_thread(user=forum.alice, board=forum.board, title="Codecs", body="Which one?")
        reply(user=forum.bob, thread=thread, body="Opus.")
    sent = len(mail.outbox)
    assert sent == 2

    assert notifications.notify_left_over(now=timezone.now() + SWEEP_AFTER * 2) == 0
    assert len(mail.outbox) == sent


def test_a_post_left_over_for_longer_than_a_day_is_old_news_and_only_marked(no_tasks):
    forum = Forum()
    thread = start_thread(user=forum.alice, board=forum.board, title="Codecs", body="Which one?")
    reply(user=forum.bob, thread=thread, body="Opus.")

    assert notifications.notify_left_over(now=timezone.now() + GIVE_UP_AFTER + timedelta(minutes=1)) == 0
    assert mail.outbox == []
    assert not Post.objects.filter(notified_at__isnull=True).exists()
