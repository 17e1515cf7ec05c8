"""A Celery worker SIGKILLed mid-batch, for the kinds of email whose own tests do not do it already (pre-launch:
tests/enrollment/test_email_delivery.py; announcements: test_announcement_delivery.py; release digests:
test_release_digest_delivery.py; office-hours changes: tests/officehours/test_change_emails.py).

Each batch: 200 students, a slow SMTP sink, the worker killed once 80 messages arrived, a new worker and the
task sent again (as its retry, or the beat's next tick). Nothing lost; at most the one message in flight twice.
"""

from dataclasses import dataclass
from datetime import timedelta
from zoneinfo import ZoneInfo

import pytest
from django.utils import timezone

from enrollment.models import SentEmail
from enrollment.tasks import deliver_emails
from forum.models import ForumSettings, Post, Subscription
from forum.tasks import notify_new_post, send_forum_digests
from officehours.models import Registration, Reminder
from officehours.tasks import send_office_hours_reminders
from tests.factories import (
    OfficeHoursTierFactory,
    PostFactory,
    RunFactory,
    SessionFactory,
    StaffFactory,
    ThreadFactory,
    enrolled_students,
)
from tests.workers import kill_mid_batch

pytestmark = pytest.mark.faults

TOTAL = 200


@dataclass
class Batch:
    task: object
    args: tuple
    sent: object  # () -> rows marked sent
    queued_addresses: object  # () -> addresses not yet marked sent


def current_run():
    run = RunFactory(starts_at=timezone.now() - timedelta(days=3))
    return run, OfficeHoursTierFactory(run=run)


def welcome():
    run, tier = current_run()
    users = enrolled_students(TOTAL, run=run, tier=tier)
    SentEmail.objects.bulk_create(SentEmail(enrollment=enrollment, kind=SentEmail.Kind.WELCOME)
                                  for enrollment in run.enrollments.all())  # fmt: skip
    assert len(users) == TOTAL
    rows = SentEmail.objects.filter(kind=SentEmail.Kind.WELCOME)
    queued = rows.filter(status="queued")
    return Batch(deliver_emails, (), lambda: rows.filter(status="sent").count(),
                 lambda: set(queued.values_list("enrollment__user__email", flat=True)))  # fmt: skip


def forum_reply():
    run, tier = current_run()
    staff = StaffFactory()
    thread = ThreadFactory(course=run.course, author=staff)
    Subscription.objects.bulk_create(Subscription(user=user, thread=thread)
                                     for user in enrolled_students(TOTAL, run=run, tier=tier))  # fmt: skip
    post = PostFactory(thread=thread, author=staff, notified_at=None)
    told = Subscription.objects.filter(thread=thread).exclude(user=staff)
    return Batch(notify_new_post, (post.pk,), lambda: told.filter(notified_since_read=True).count(),
                 lambda: set(told.filter(notified_since_read=False).values_list("user__email", flat=True)))  # fmt: skip


def forum_digest():
    run, tier = current_run()
    # A zone where it is midday now: every digest is due (they go after 07:00 local).
    offset = 12 - timezone.now().hour
    zone = f"Etc/GMT{-offset:+d}"
    assert timezone.now().astimezone(ZoneInfo(zone)).hour == 12
    staff = StaffFactory()
    thread = ThreadFactory(course=run.course, author=staff)
    PostFactory(thread=thread, author=staff)
    users = enrolled_students(TOTAL, run=run, tier=tier)
    for user in users:
        user.timezone = zone
    type(users[0]).objects.bulk_update(users, ["timezone"])
    Subscription.objects.bulk_create(Subscription(user=user, thread=thread) for user in users)
    ForumSettings.objects.bulk_create(ForumSettings(user=user, email_mode=ForumSettings.EmailMode.DIGEST)
                                      for user in users)  # fmt: skip
    rows = ForumSettings.objects.filter(user__in=users)
    waiting = rows.filter(last_digest_at__isnull=True)
    return Batch(send_forum_digests, (), lambda: rows.filter(last_digest_at__isnull=False).count(),
                 lambda: set(waiting.values_list("user__email", flat=True)))  # fmt: skip


def office_hours_reminder():
    run, tier = current_run()
    session = SessionFactory(run=run, title="Office hours", starts_in=timedelta(minutes=40))
    Registration.objects.bulk_create(Registration(session=session, user=user)
                                     for user in enrolled_students(TOTAL, run=run, tier=tier))  # fmt: skip
    waiting = Registration.objects.filter(session=session, reminders__isnull=True)
    sent = Reminder.objects.filter(registration__session=session)
    return Batch(send_office_hours_reminders, (), sent.count,
                 lambda: set(waiting.values_list("user__email", flat=True)))  # fmt: skip


KINDS = {"welcome": welcome, "forum-reply": forum_reply, "forum-digest": forum_digest,
         "office-hours-reminder": office_hours_reminder}  # fmt: skip


@pytest.mark.parametrize("kind", list(KINDS))
def test_a_worker_killed_mid_batch_loses_nothing_and_repeats_at_most_the_message_in_flight(
    kind, workers, smtp_sink, capsys, record_property
):
    batch = KINDS[kind]()
    smtp_sink.delay = 0.02  # about 4 s for the batch: the kill lands mid-batch
    workers.start("w1")

    def send():
        batch.task.apply_async(batch.args, queue=workers.queue)

    result = kill_mid_batch(workers, smtp_sink, total=TOTAL, start=send, restart=send, sent=batch.sent,
                            queued_addresses=batch.queued_addresses, kill_after=80)  # fmt: skip

    record_property(f"duplicates_after_sigkill_{kind}", result.duplicates)
    with capsys.disabled():
        print("\n" + result.summary(f" ({kind})", TOTAL))
    assert len(set(result.received)) == TOTAL  # nothing lost
    assert result.duplicates <= 1
    assert result.repeated <= result.still_queued  # only the message the server had taken at the kill
    if kind == "forum-reply":
        assert not Post.objects.filter(notified_at__isnull=True).exists()
