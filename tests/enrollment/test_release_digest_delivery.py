"""The release digest goes once to each student on real Celery workers, also when one is killed mid-batch.

Real worker processes (tests/workers.py) on a private Redis queue, against the test database (Postgres,
committed rows) and an aiosmtpd sink. The beat job is sent by name, as beat sends it, with the real clock:
the class's lessons opened three days ago, so every student's latest morning digest is due, whatever their zone.
"""

from collections import Counter
from datetime import timedelta

from django.utils import timezone

from courseweb.celery import app as celery_app
from enrollment import course_email
from enrollment.models import Enrollment, ReleaseDigest
from tests.factories import (
    CourseFactory,
    LessonFactory,
    OfficeHoursTierFactory,
    RunFactory,
    SectionFactory,
    TierFactory,
    enrolled_students,
)
from tests.workers import kill_mid_batch, settle

BEAT_ENTRY = "send-release-digests"


def a_class(count):
    """A run that started 30 days ago whose lessons 1 to 3 opened 3 days ago: `count` students who get them.

    Also some who get nothing: standard-tier students of a run whose two months are over, a refunded and an
    opted-out student, and the students of an unpublished course.
    """
    now = timezone.now()
    course = CourseFactory(title="WebRTC in practice")
    section = SectionFactory(course=course, title="ICE")
    LessonFactory(section=section, title="Welcome")  # open from the start: not news
    for n in (1, 2, 3):
        LessonFactory(section=section, title=f"Lesson {n}", release_after_days=27)
    run = RunFactory(course=course, starts_at=now - timedelta(days=30))
    office_hours = OfficeHoursTierFactory(run=run)
    addresses = {user.email for user in enrolled_students(count, run=run, tier=office_hours)}
    refunded, opted_out = enrolled_students(2, run=run, tier=office_hours)
    Enrollment.objects.filter(user=refunded).update(status=Enrollment.Status.REFUNDED)
    course_email.set_wanted(user=opted_out, kind=course_email.Kind.DIGESTS, wanted=False)

    old_run = RunFactory(course=course, starts_at=now - timedelta(days=90))  # its lessons 1 to 3 opened too
    ended = enrolled_students(3, run=old_run, tier=TierFactory(run=old_run))  # 2 months: over

    hidden = CourseFactory(title="Unpublished", is_published=False)
    LessonFactory(section=SectionFactory(course=hidden), release_after_days=27)
    hidden_run = RunFactory(course=hidden, starts_at=now - timedelta(days=30))
    unpublished = enrolled_students(2, run=hidden_run, tier=OfficeHoursTierFactory(run=hidden_run))

    Enrollment.objects.update(enrolled_at=now - timedelta(days=100))  # everyone enrolled before anything opened
    left_out = {user.email for user in (*ended, refunded, opted_out, *unpublished)}
    return addresses, left_out


def send_beat_job(workers):
    entry = celery_app.conf.beat_schedule[BEAT_ENTRY]
    celery_app.send_task(entry["task"], queue=workers.queue)  # by name, as beat sends it


def sent():
    return ReleaseDigest.objects.filter(status=ReleaseDigest.Status.SENT).count()


def test_the_beat_job_mails_each_student_one_digest_with_two_workers_at_once(workers, smtp_sink):
    addresses, left_out = a_class(100)
    smtp_sink.delay = 0.003  # slow enough that both workers are sending at the same time
    workers.start("w1", "w2")

    send_beat_job(workers)
    send_beat_job(workers)  # a second tick while the first is still sending
    workers.wait_until(lambda: sent() == 100, "100 release digests marked sent")
    send_beat_job(workers)  # and a third once they are all sent: nothing more
    messages = settle(smtp_sink, seconds=2)

    assert Counter(m["To"] for m in messages) == Counter(addresses)
    assert not left_out & {m["To"] for m in messages}
    assert all(m["Subject"] == "WebRTC in practice: 3 new lessons open" for m in messages)
    assert all(m["List-Unsubscribe-Post"] == "List-Unsubscribe=One-Click" for m in messages)
    assert ReleaseDigest.objects.count() == 100  # one per student and day; nobody left out was even queued
    assert len({m["Message-ID"] for m in messages}) == 100


def test_a_worker_killed_mid_batch_mails_each_student_one_digest(workers, smtp_sink, capsys, record_property):
    addresses, left_out = a_class(300)
    smtp_sink.delay = 0.02  # about 6 s for the batch: the kill lands mid-batch, most likely mid-handover
    workers.start("w1")

    batch = kill_mid_batch(
        workers, smtp_sink, total=300,
        start=lambda: send_beat_job(workers),
        restart=lambda: send_beat_job(workers),  # the next tick
        sent=sent,
        queued_addresses=lambda: set(ReleaseDigest.objects.filter(status=ReleaseDigest.Status.QUEUED)
                                     .values_list("enrollment__user__email", flat=True)),
    )  # fmt: skip

    record_property("duplicates_after_sigkill", batch.duplicates)
    with capsys.disabled():
        print("\n" + batch.summary(", release digest", 300))
    assert set(batch.received) == addresses
    assert not left_out & set(batch.received)
    assert ReleaseDigest.objects.count() == 300  # the second tick queued nothing new
    # SMTP has no exactly-once: the message the server took just before the kill, not yet marked sent, goes
    # again. It goes as the same message (one Message-ID per student and day), shown once.
    assert batch.duplicates <= 1
    assert batch.repeated <= batch.still_queued
    message_ids = batch.message_ids
    assert all(len(ids) == 1 for ids in message_ids.values())
    assert len({ids.pop() for ids in message_ids.values()}) == 300  # and every student's is their own
