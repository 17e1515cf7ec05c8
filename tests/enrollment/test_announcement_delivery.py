"""An announcement's email goes once to each student on real Celery workers, also when one is killed mid-batch.

Real worker processes (tests/workers.py) on a private Redis queue, against the test database (Postgres,
committed rows) and an aiosmtpd sink, as the enrollment and office-hours delivery tests do.
"""

from collections import Counter
from datetime import timedelta

from django.db.models import F
from django.utils import timezone

from courseweb.celery import app as celery_app
from enrollment import announcements, course_email
from enrollment.announcement_emails import SWEEP_AFTER
from enrollment.models import AnnouncementEmail, Enrollment
from enrollment.tasks import deliver_announcement
from tests.factories import AnnouncementFactory, OfficeHoursTierFactory, RunFactory, TierFactory, enrolled_students
from tests.workers import kill_mid_batch, settle

TASK = "enrollment.tasks.deliver_announcement"


def beat_sweep_after_the_grace(workers):
    """The beat sweep's next tick once SWEEP_AFTER has passed (the rows are made older instead of waiting)."""
    AnnouncementEmail.objects.filter(status=AnnouncementEmail.Status.QUEUED).update(
        queued_at=F("queued_at") - SWEEP_AFTER
    )
    entry = celery_app.conf.beat_schedule["send-left-over-announcement-emails"]
    celery_app.send_task(entry["task"], queue=workers.queue)  # by name, as beat sends it


def a_class(count):
    """A run that started 90 days ago: `count` current office-hours students, and some who get nothing."""
    run = RunFactory(starts_at=timezone.now() - timedelta(days=90))
    office_hours = OfficeHoursTierFactory(run=run)
    addresses = {user.email for user in enrolled_students(count, run=run, tier=office_hours)}
    ended = enrolled_students(3, run=run, tier=TierFactory(run=run))  # 2 months: over
    refunded, opted_out = enrolled_students(2, run=run, tier=office_hours)
    Enrollment.objects.filter(user=refunded).update(status=Enrollment.Status.REFUNDED)
    course_email.set_wanted(user=opted_out, kind=course_email.Kind.ANNOUNCEMENTS, wanted=False)
    left_out = {user.email for user in (*ended, refunded, opted_out)}
    return run, addresses, left_out


def sent():
    return AnnouncementEmail.objects.filter(status=AnnouncementEmail.Status.SENT).count()


def test_publishing_mails_each_student_once_with_two_workers_on_the_batch(workers, smtp_sink):
    run, addresses, left_out = a_class(100)
    smtp_sink.delay = 0.003  # slow enough that both workers are sending at the same time
    workers.route(TASK)
    workers.start("w1", "w2")
    announcement = AnnouncementFactory(run=run, title="Office hours move to Thursday")

    announcements.publish(announcement=announcement)  # queues the task on commit (no transaction here: at once)
    deliver_announcement.apply_async((announcement.pk,), queue=workers.queue)  # and again
    workers.wait_until(lambda: sent() == 100, "100 announcement emails marked sent")
    messages = settle(smtp_sink, seconds=1.5)

    assert Counter(m["To"] for m in messages) == Counter(addresses)
    assert not left_out & {m["To"] for m in messages}
    assert all(m["Subject"].endswith(": Office hours move to Thursday") for m in messages)
    assert all(m["List-Unsubscribe-Post"] == "List-Unsubscribe=One-Click" for m in messages)
    assert AnnouncementEmail.objects.count() == 100  # nobody left out was even queued
    assert len({m["Message-ID"] for m in messages}) == 100
    assert smtp_sink.sessions <= 2  # one SMTP connection per batch: one per task run


def test_a_worker_killed_mid_batch_mails_each_student_one_message(workers, smtp_sink, capsys, record_property):
    run, addresses, left_out = a_class(300)
    smtp_sink.delay = 0.02  # about 6 s for the batch: the kill lands mid-batch, most likely mid-handover
    workers.start("w1")
    workers.route(TASK)
    announcement = AnnouncementFactory(run=run)

    batch = kill_mid_batch(
        workers, smtp_sink, total=300,
        start=lambda: announcements.publish(announcement=announcement),  # its task is queued at once (no transaction)
        restart=lambda: beat_sweep_after_the_grace(workers),
        sent=sent,
        queued_addresses=lambda: set(AnnouncementEmail.objects.filter(status=AnnouncementEmail.Status.QUEUED)
                                     .values_list("enrollment__user__email", flat=True)),
    )  # fmt: skip

    record_property("duplicates_after_sigkill", batch.duplicates)
    with capsys.disabled():
        print("\n" + batch.summary(", announcement", 300))
    assert set(batch.received) == addresses
    assert not left_out & set(batch.received)
    # SMTP has no exactly-once: the message the server took just before the kill, not yet marked sent, goes
    # again. It goes as the same message (one Message-ID per announcement and student), shown once.
    assert batch.duplicates <= 1
    assert batch.repeated <= batch.still_queued
    message_ids = batch.message_ids
    assert all(len(ids) == 1 for ids in message_ids.values())
    assert len({ids.pop() for ids in message_ids.values()}) == 300  # and every student's is their own
