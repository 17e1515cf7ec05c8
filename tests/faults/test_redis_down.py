"""Redis stopped while the site serves: pages answer, a payment enrolls, and the emails queued meanwhile go out
once Redis is back, each once.

Real parts: gunicorn with gunicorn.conf.py and the README's production settings (DEBUG off), a redis-server of
the test's own (stopped and started again; the machine's Redis is never touched), the test Postgres database,
real Celery workers and an SMTP sink.
"""

import json
import time
from collections import Counter
from datetime import timedelta

import pytest
from django.db.models import F
from django.test import override_settings
from django.urls import reverse
from django.utils import timezone

from accounts.models import AccountEmail
from courseweb.celery import app as celery_app
from enrollment import announcements
from enrollment.models import AnnouncementEmail, Enrollment, SentEmail
from forum import services as forum
from forum.models import Post, ThreadRead
from officehours.models import ChangeEmail
from officehours.scheduling import move_session
from tests.enrollment.test_stripe_webhook import signature, stripe_event
from tests.factories import (
    AnnouncementFactory,
    EnrollmentFactory,
    OfficeHoursTierFactory,
    RegistrationFactory,
    RunFactory,
    SessionFactory,
    SubscriptionFactory,
    ThreadFactory,
    TierFactory,
    UserFactory,
)
from tests.services import (
    SECRET_KEY,
    WEBHOOK_SECRET,
    Gunicorn,
    RedisServer,
    celery_broker,
    production_env,
    session_cookie,
)
from tests.workers import Workers, database_url, settle

pytestmark = [pytest.mark.faults, pytest.mark.usefixtures("on_postgres", "transactional_db")]

# Every beat job that sends what a task left queued, as beat sends them (by name) once SWEEP_AFTER has passed.
SWEEPS = [
    "send-due-emails",
    "send-left-over-announcement-emails",
    "send-left-over-change-emails",
    "send-left-over-post-notifications",
    "send-left-over-account-emails",
]


@pytest.fixture
def own_redis(tmp_path):
    server = RedisServer(tmp_path).start()
    yield server
    server.stop()


@pytest.fixture
def site(own_redis, smtp_sink, settings, tmp_path):
    """gunicorn in production settings, and this process's Celery, on the test's own Redis."""
    env = production_env(database_url=database_url(settings), redis_url=own_redis.url, smtp_port=smtp_sink.port)
    web = Gunicorn(env, tmp_path, workers=2)
    pool = Workers(redis_url=own_redis.url, database_url=database_url(settings), smtp_port=smtp_sink.port,
                   log_dir=tmp_path, queue="celery", env=env)  # fmt: skip
    with celery_broker(own_redis.url):
        try:
            yield web, pool
        finally:
            web.stop()
            own_redis.start() if own_redis.process is None else None  # for the workers' clean-up
            pool.stop()


def age_outbox(by=timedelta(minutes=5)):
    """Let the sweeps' grace pass: the queued rows are made older instead of waiting for minutes."""
    AnnouncementEmail.objects.filter(status="queued").update(queued_at=F("queued_at") - by)
    ChangeEmail.objects.filter(status="queued").update(queued_at=F("queued_at") - by)
    AccountEmail.objects.filter(status="queued").update(queued_at=F("queued_at") - by)
    Post.objects.filter(notified_at__isnull=True).update(created_at=F("created_at") - by)
    ThreadRead.objects.update(last_read_at=F("last_read_at") - by)  # who read before the post still did


def beat_tick():
    for name in SWEEPS:
        celery_app.send_task(celery_app.conf.beat_schedule[name]["task"])


def test_with_redis_stopped_pages_answer_a_payment_enrolls_and_the_emails_go_once_redis_is_back(site, own_redis,
                                                                                               smtp_sink):  # fmt: skip
    web, workers = site
    run = RunFactory(starts_at=timezone.now() - timedelta(days=3), enrollment_open=True)
    course, tier = run.course, OfficeHoursTierFactory(run=run)
    ada = EnrollmentFactory(run=run, tier=tier, user=UserFactory(email="ada@example.com", first_name="Ada")).user
    bob = EnrollmentFactory(run=run, tier=tier, user=UserFactory(email="bob@example.com", first_name="Bob")).user
    thread = ThreadFactory(course=course, author=ada, title="Codecs")
    SubscriptionFactory(user=ada, thread=thread)
    session = SessionFactory(run=run, title="Office hours")
    RegistrationFactory(session=session, user=ada)
    announcement = AnnouncementFactory(run=run, title="Week 2")
    new_run = RunFactory(course=course, slug="autumn", enrollment_open=True,
                         starts_at=timezone.now() + timedelta(days=20))  # fmt: skip
    new_tier = TierFactory(run=new_run, price="240.00")

    pages = [(reverse("courses:landing", args=[course.slug]), None),
             (reverse("courses:home", args=[course.slug]), session_cookie(ada)),
             (reverse("forum:thread", args=[course.slug, thread.pk]), session_cookie(ada))]  # fmt: skip
    for path, cookie in pages * 2:  # the site is serving: each worker has loaded its URLs and templates
        assert web.get(path, headers={"Cookie": cookie} if cookie else None)[0] == 200

    own_redis.stop()

    # Pages answer: anonymous, and a student's (the session lives in Postgres; the cache misses quietly).
    for path, cookie in pages:
        started = time.monotonic()
        status, _, body = web.get(path, headers={"Cookie": cookie} if cookie else None)
        assert status == 200, (path, body[:2000], web.output())
        assert time.monotonic() - started < 5, path

    # A payment enrolls: the signed webhook is answered 200 and the buyer has a seat.
    with override_settings(SECRET_KEY=SECRET_KEY):  # the site signs its sessions' metadata with its own key
        payload = json.dumps(stripe_event("checkout_session_completed.json", tier=new_tier))
    status, _, body = web.request("POST", "/payments/stripe/webhook/", body=payload, headers={
        "Content-Type": "application/json", "Stripe-Signature": signature(payload, secret=WEBHOOK_SECRET)})  # fmt: skip
    assert status == 200, (body[:2000], web.output())
    buyer = Enrollment.objects.get(run=new_run).user
    assert buyer.email == "jane.buyer@example.com"

    # The site's other writes while Redis is down: queueing their task fails, the request does not.
    forum.reply(user=bob, thread=thread, body="Opus, at 48 kHz.")
    assert announcements.publish(announcement=announcement) == 2
    move_session(session=session, starts_at=session.starts_at + timedelta(hours=1))
    time.sleep(1)
    assert smtp_sink.messages == []

    own_redis.start()
    workers.start("w1")
    age_outbox()
    beat_tick()
    # The buyer's welcome; the students' "how to log in" (queued by their enrolment), the announcement, and
    # for Ada the reply in the thread she follows and the move of her session.
    expected = Counter({"jane.buyer@example.com": 1, "ada@example.com": 4, "bob@example.com": 2})
    workers.wait_until(lambda: len(smtp_sink.messages) >= expected.total(), "the emails queued while Redis was down")
    messages = settle(smtp_sink, seconds=1.5)

    assert Counter(m["To"] for m in messages) == expected, "\n".join(f"{m['To']}: {m['Subject']}" for m in messages)
    kinds = {(m["To"], m["X-Courseweb-Email"] or m["Subject"]) for m in messages}
    assert ("ada@example.com", f"forum-reply:{Post.objects.latest('pk').pk}") in kinds
    assert SentEmail.objects.filter(enrollment__user=buyer, status="sent").count() == 1
    assert not AnnouncementEmail.objects.filter(status="queued").exists()
    assert not ChangeEmail.objects.filter(status="queued").exists()
    assert not Post.objects.filter(notified_at__isnull=True).exists()

    # A second tick finds nothing left to send.
    beat_tick()
    assert len(settle(smtp_sink, seconds=2)) == expected.total()
