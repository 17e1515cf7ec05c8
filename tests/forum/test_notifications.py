"""Forum notifications: who is emailed about a post, at most once per thread until read, and unsubscribe.

The delivery tests run a real Celery worker (`celery -A courseweb worker --pool=solo`) on a private Redis
queue, against the test database (committed rows: transactional_db) and a real SMTP server on 127.0.0.1
(aiosmtpd), as tests/enrollment/test_email_delivery.py does. The services queue the task on commit, so
these tests post through the services and wait for the worker. The rest run in-process (eager Celery).
"""

from datetime import timedelta
from zoneinfo import ZoneInfo

import pytest
from django.conf import settings
from django.core import signing
from django.urls import reverse
from django.utils import timezone

from courseweb.celery import app as celery_app
from forum import notifications
from forum.models import ForumSettings, Subscription
from forum.services import mark_read, reply, set_email_mode, set_subscribed, start_thread
from tests.factories import StaffFactory
from tests.forum.helpers import Forum, header, in_process, to, wait_for

# ---------------------------------------------------------------------------------------------------------
# A real worker


@pytest.fixture
def worker(workers):
    """One worker (the shared `workers` fixture); the services' notify_new_post.delay goes to it."""
    workers.route("forum.tasks.notify_new_post")
    workers.start("w1")
    return workers


def test_a_reply_emails_the_followers_and_nobody_else(worker, smtp_sink):
    forum = Forum()
    dan = Forum.student("dan@example.com", "Dan", "Brown", forum.run)
    with in_process():
        thread = start_thread(user=forum.alice, board=forum.board, title="No audio in Firefox", body="Mic is silent.")
        for user in (forum.bob, forum.carol, dan, forum.expired):
            reply(user=user, thread=thread, body=f"Same here ({user.first_name}).")
    set_subscribed(user=dan, thread=thread, subscribed=False)
    set_email_mode(user=forum.staff, mode="none")  # told of the new thread, following it
    for user in (forum.alice, forum.bob, forum.carol, dan, forum.expired, forum.staff):
        mark_read(user=user, thread=thread)

    post = reply(user=forum.carol, thread=thread, body="Fixed: *allow* the microphone in the site settings.")

    messages = wait_for(worker, smtp_sink, 2, "the emails about carol's reply")
    # The thread's author and an earlier replier; not carol (the author), dan (unsubscribed), the expired
    # student, or the instructor (no forum email).
    assert to(messages) == ["alice@example.com", "bob@example.com"]
    message = messages[0]
    assert header(message, "Subject") == "New reply in “No audio in Firefox”"
    text = message.get_body(("plain",)).get_content()
    html = message.get_body(("html",)).get_content()
    post_url = f"{settings.SITE_URL}{reverse('forum:post', args=[forum.course.slug, post.pk])}"
    for part in (text, html):
        assert "Fixed: *allow* the microphone" in part
        assert post_url in part
        assert "carol@example.com" not in part and "Carol White" in part
    assert message["List-Unsubscribe-Post"] == "List-Unsubscribe=One-Click"
    assert header(message, "List-Unsubscribe").startswith(f"<{settings.SITE_URL}/forum/email/unsubscribe/")


def test_at_most_one_email_per_thread_until_the_follower_reads_it(worker, smtp_sink):
    forum = Forum()
    set_email_mode(user=forum.staff, mode="none")
    thread = start_thread(user=forum.alice, board=forum.board, title="Simulcast", body="How many layers?")

    reply(user=forum.bob, thread=thread, body="Three, usually.")
    wait_for(worker, smtp_sink, 1, "the email about the first reply")
    reply(user=forum.carol, thread=thread, body="Or two on mobile.")

    messages = wait_for(worker, smtp_sink, 2, "the email about the second reply")
    assert to(messages) == ["alice@example.com", "bob@example.com"]  # no second one for alice: she has not read

    mark_read(user=forum.alice, thread=thread)
    reply(user=forum.carol, thread=thread, body="Check the SDP for a=simulcast.")

    messages = wait_for(worker, smtp_sink, 3, "the email after alice read the thread")
    assert to(messages) == ["alice@example.com", "alice@example.com", "bob@example.com"]  # bob has not read


def test_staff_are_told_of_a_new_thread_and_a_student_can_unsubscribe_by_the_link(worker, smtp_sink, client):
    forum = Forum()
    second_staff = StaffFactory(email="assistant@example.com", first_name="Sam", last_name="Assist")
    thread = start_thread(user=forum.alice, board=forum.board, title="Grading?", body="How is it graded?")

    messages = wait_for(worker, smtp_sink, 2, "the new-thread emails to staff")
    assert to(messages) == ["assistant@example.com", "teacher@example.com"]
    assert all(header(message, "Subject") == "New thread in WebRTC in practice: “Grading?”" for message in messages)
    assert Subscription.objects.filter(thread=thread, user__in=[forum.staff, second_staff]).count() == 2
    smtp_sink.messages.clear()

    reply(user=forum.staff, thread=thread, body="Not graded.")
    (message,) = wait_for(worker, smtp_sink, 1, "the email about the instructor's answer")
    assert message["To"] == "alice@example.com"
    smtp_sink.messages.clear()
    url = header(message, "List-Unsubscribe").strip("<>").removeprefix(settings.SITE_URL)

    assert client.get(url.replace("/unsubscribe/", "/unsubscribe/x")).status_code == 400
    tampered = client.post(url[:-3] + "abc/")
    assert tampered.status_code == 400 and notifications.INVALID_UNSUBSCRIBE_LINK in tampered.text
    assert Subscription.objects.get(user=forum.alice, thread=thread).is_active
    page = client.get(url)
    assert page.status_code == 200 and "Unsubscribe from this thread" in page.text
    assert Subscription.objects.get(user=forum.alice, thread=thread).is_active  # a GET changes nothing
    done = client.post(url)
    assert done.status_code == 200 and "no more email about" in done.text
    assert not Subscription.objects.get(user=forum.alice, thread=thread).is_active

    mark_read(user=forum.alice, thread=thread)
    mark_read(user=forum.staff, thread=thread)
    reply(user=second_staff, thread=thread, body="Confirmed: no grades.")
    (message,) = wait_for(worker, smtp_sink, 1, "the email to the other staff member")
    assert message["To"] == "teacher@example.com"  # alice unsubscribed


# ---------------------------------------------------------------------------------------------------------
# In-process (eager Celery, the locmem outbox)


def test_the_notification_task_is_safe_to_run_twice(forum, post_now, mailoutbox):
    thread = post_now(start_thread, user=forum.alice, board=forum.board, title="Q", body="?")
    post = post_now(reply, user=forum.bob, thread=thread, body="A.")
    assert to_addresses(mailoutbox) == ["alice@example.com", "teacher@example.com"]

    assert notifications.notify_new_post(post_id=post.pk) == 0
    assert notifications.notify_new_post(post_id=thread.posts.first().pk, new_thread=True) == 0
    assert len(mailoutbox) == 2


def to_addresses(outbox):
    return sorted(message.to[0] for message in outbox)


def test_a_hidden_thread_emails_staff_only(forum, post_now, mailoutbox):
    thread = post_now(start_thread, user=forum.alice, board=forum.board, title="Q", body="?")
    mailoutbox.clear()
    mark_read(user=forum.staff, thread=thread)
    thread.is_hidden = True
    thread.save()

    post_now(reply, user=forum.bob, thread=thread, body="Spam.")

    assert to_addresses(mailoutbox) == ["teacher@example.com"]


def test_digest_mode_gets_no_email_for_each_post(forum, post_now, mailoutbox):
    set_email_mode(user=forum.alice, mode="digest")
    thread = post_now(start_thread, user=forum.alice, board=forum.board, title="Q", body="?")
    mailoutbox.clear()

    post_now(reply, user=forum.bob, thread=thread, body="A.")

    assert mailoutbox == []  # alice waits for her digest; the instructor has not read the new-thread email
    assert ForumSettings.objects.get(user=forum.alice).email_mode == "digest"


def test_the_all_forum_email_link_turns_forum_email_off(forum, client):
    url = reverse("forum_email:unsubscribe", args=[notifications.unsubscribe_token(forum.bob)])

    assert "Unsubscribe from all forum email" in client.get(url).text
    response = client.post(url)

    assert notifications.UNSUBSCRIBED_FROM_ALL in response.text
    assert ForumSettings.objects.get(user=forum.bob).email_mode == "none"


def test_a_token_signed_for_something_else_is_refused(forum, client):
    token = signing.dumps({"u": forum.bob.pk, "t": "all"}, salt="another.purpose")
    response = client.post(reverse("forum_email:unsubscribe", args=[token]))

    assert response.status_code == 400
    assert not ForumSettings.objects.filter(user=forum.bob).exists()


# ---------------------------------------------------------------------------------------------------------
# The daily digest (in-process)


@pytest.fixture
def digest_run():
    """Yesterday 08:00 UTC (inside the students' access window): past 07:00 in UTC, still night in Los Angeles."""
    return (timezone.now() - timedelta(days=1)).replace(hour=8, minute=0, second=0, microsecond=0)


@pytest.fixture
def digest_thread(forum, digest_run):
    """Alice (digest mode) follows a thread; bob and the instructor replied since her last digest."""
    set_email_mode(user=forum.alice, mode="digest")
    ForumSettings.objects.filter(user=forum.alice).update(last_digest_at=digest_run - timedelta(days=1))
    thread = start_thread(user=forum.alice, board=forum.board, title="Jitter buffer", body="How big?",
                          now=digest_run - timedelta(days=2))  # fmt: skip
    reply(user=forum.bob, thread=thread, body="About 50 ms.", now=digest_run - timedelta(hours=5))
    reply(user=forum.staff, thread=thread, body="It adapts <to> the network.", now=digest_run - timedelta(hours=4))
    reply(user=forum.alice, thread=thread, body="Thanks!", now=digest_run - timedelta(hours=3))
    return thread


def test_the_digest_lists_new_posts_in_followed_threads_once_a_day(forum, digest_thread, digest_run, mailoutbox):
    assert notifications.send_digests(now=digest_run) == 1

    (message,) = mailoutbox
    assert message.to == ["alice@example.com"]
    assert message.subject == "Your forum digest: 2 new posts"
    html = message.alternatives[0][0]
    for part in (message.body, html):
        assert "Jitter buffer" in part and "About 50 ms." in part and "Bob Jones" in part
        assert "Thanks!" not in part and "How big?" not in part  # her own post, and one before her last digest
    assert "It adapts <to> the network." in message.body and "It adapts &lt;to&gt; the network." in html
    assert message.extra_headers["List-Unsubscribe-Post"] == "List-Unsubscribe=One-Click"
    assert ForumSettings.objects.get(user=forum.alice).last_digest_at == digest_run

    assert notifications.send_digests(now=digest_run + timedelta(hours=1)) == 0  # once a day
    assert len(mailoutbox) == 1


def test_nothing_new_sends_no_digest(forum, digest_thread, digest_run, mailoutbox):
    notifications.send_digests(now=digest_run)
    mailoutbox.clear()

    assert notifications.send_digests(now=digest_run + timedelta(days=1)) == 0

    assert mailoutbox == []
    assert ForumSettings.objects.get(user=forum.alice).last_digest_at == digest_run + timedelta(days=1)


def test_the_digest_waits_for_seven_in_the_morning_of_the_users_zone(forum, digest_thread, digest_run, mailoutbox):
    forum.alice.timezone = "America/Los_Angeles"
    forum.alice.save()

    assert notifications.send_digests(now=digest_run) == 0
    assert notifications.send_digests(now=digest_run + timedelta(hours=7)) == 1  # 07:00 in Los Angeles

    assert "(America/Los_Angeles)" in mailoutbox[0].body


def test_an_unfollowed_thread_is_left_out_of_the_digest(forum, digest_thread, digest_run, mailoutbox):
    set_subscribed(user=forum.alice, thread=digest_thread, subscribed=False)

    assert notifications.send_digests(now=digest_run) == 0
    assert mailoutbox == []


def test_the_digest_beat_entry_makes_a_real_worker_send_the_digest(forum, digest_thread, workers, smtp_sink):
    # The scene is built first, while tasks still run in-process: the per-post emails go to the locmem outbox.
    # Alice lives where her digest is due now (past 07:00), and not about to slip into tomorrow.
    zones = ("UTC", "Asia/Tokyo", "America/Los_Angeles")  # at any hour, one of them is between 07:00 and 23:00
    hour = {zone: timezone.now().astimezone(ZoneInfo(zone)).hour for zone in zones}
    forum.alice.timezone = next(zone for zone, at in hour.items() if notifications.DIGEST_LOCAL_HOUR <= at < 23)
    forum.alice.save()
    workers.start("w1")

    entry = celery_app.conf.beat_schedule["send-forum-digests"]
    celery_app.send_task(entry["task"], queue=workers.queue)  # by name, as beat sends it
    (message,) = wait_for(workers, smtp_sink, 1, "the digest")

    assert message["To"] == "alice@example.com"
    assert header(message, "Subject") == "Your forum digest: 2 new posts"


# ---------------------------------------------------------------------------------------------------------
# The settings page (in-process)


def test_the_settings_page_needs_a_login(client):
    response = client.get(reverse("forum_email:settings"))

    assert response.status_code == 302 and reverse("account_login") in response["Location"]


def test_a_user_chooses_the_daily_digest(forum, client):
    client.force_login(forum.bob)
    page = client.get(reverse("forum_email:settings"))
    assert page.status_code == 200 and "One daily digest" in page.text

    response = client.post(reverse("forum_email:settings"), {"email_mode": "digest"}, follow=True)

    assert notifications.EMAIL_MODE_SAVED in response.text
    assert ForumSettings.objects.get(user=forum.bob).email_mode == "digest"
    assert client.post(reverse("forum_email:settings"), {"email_mode": "hourly"}).status_code == 200
    assert ForumSettings.objects.get(user=forum.bob).email_mode == "digest"


def test_the_profile_links_to_the_forum_email_settings(forum, client):
    client.force_login(forum.bob)

    assert reverse("forum_email:settings") in client.get(reverse("profile")).text
