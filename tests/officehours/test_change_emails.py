"""The email about a moved or cancelled session: once per student and change, on real workers too.

The worker tests start real Celery workers (tests/workers.py) on a private Redis queue, against the test
database (Postgres, committed rows) and an aiosmtpd sink, as the enrollment and reminder tests do.
"""

from collections import Counter
from datetime import timedelta

import pytest
from django.db import transaction
from django.db.models import F
from django.urls import reverse
from django.utils import timezone

from courseweb.celery import app as celery_app
from officehours import change_emails
from officehours.change_emails import SWEEP_AFTER
from officehours.models import ChangeEmail, Registration, Session
from officehours.scheduling import cancel_session, move_session
from officehours.tasks import notify_session_changed
from tests.factories import EnrollmentFactory, SessionFactory, StaffFactory, UserFactory
from tests.officehours.helpers import office_hours_run, sign_up_many
from tests.workers import kill_mid_batch, settle

TASK = "officehours.tasks.notify_session_changed"


def beat_sweep_after_the_grace(workers):
    """The beat sweep's next tick once SWEEP_AFTER has passed (the rows are made older instead of waiting)."""
    ChangeEmail.objects.filter(status=ChangeEmail.Status.QUEUED).update(queued_at=F("queued_at") - SWEEP_AFTER)
    entry = celery_app.conf.beat_schedule["send-left-over-change-emails"]
    celery_app.send_task(entry["task"], queue=workers.queue)  # by name, as beat sends it


def upcoming_session():
    run, tier = office_hours_run()
    session = SessionFactory(run=run, title="Office hours", starts_in=timedelta(days=2))
    return session, tier


def sent(**filters):
    return ChangeEmail.objects.filter(status=ChangeEmail.Status.SENT, **filters).count()


# ---------------------------------------------------------------------------------------------------------
# Real workers


def test_the_change_task_run_twice_on_two_workers_mails_each_student_once(workers, smtp_sink):
    session, tier = upcoming_session()
    addresses = sign_up_many(100, session=session, tier=tier)
    smtp_sink.delay = 0.003  # slow enough that both workers are sending at the same time
    workers.route(TASK)
    workers.start("w1", "w2")

    session = move_session(session=session, starts_at=session.starts_at + timedelta(hours=1))  # queues the task
    notify_session_changed.apply_async((session.pk, "moved", session.sequence), queue=workers.queue)  # and again
    workers.wait_until(lambda: sent() == 100, "100 change emails marked sent")
    messages = settle(smtp_sink, seconds=1.5)

    assert Counter(m["To"] for m in messages) == Counter(addresses)
    assert all(m["Subject"].startswith("Office hours moved: Office hours is now on ") for m in messages)

    # A second, real move mails everyone again, once.
    move_session(session=session, starts_at=session.starts_at + timedelta(hours=1))
    workers.wait_until(lambda: sent(sequence=2) == 100, "100 emails about the second move marked sent")
    messages = settle(smtp_sink, seconds=1.0)
    assert Counter(m["To"] for m in messages) == Counter({address: 2 for address in addresses})


def test_a_worker_killed_mid_batch_mails_each_student_one_message(workers, smtp_sink, capsys, record_property):
    session, tier = upcoming_session()
    addresses = sign_up_many(300, session=session, tier=tier)
    smtp_sink.delay = 0.02  # about 6 s for the batch: the kill lands mid-batch, most likely mid-handover
    workers.start("w1")
    workers.route(TASK)

    batch = kill_mid_batch(
        workers, smtp_sink, total=300,
        start=lambda: cancel_session(session=session),  # queues the task on commit (no transaction here: at once)
        restart=lambda: beat_sweep_after_the_grace(workers),
        sent=sent,
        queued_addresses=lambda: set(ChangeEmail.objects.filter(status=ChangeEmail.Status.QUEUED)
                                     .values_list("registration__user__email", flat=True)),
    )  # fmt: skip

    record_property("duplicates_after_sigkill", batch.duplicates)
    with capsys.disabled():
        print("\n" + batch.summary(", session change", 300))
    assert set(batch.received) == addresses
    # SMTP has no exactly-once: the message the server took just before the kill, not yet marked sent, goes
    # again. It goes as the same message (one Message-ID per row), which mailboxes show once.
    assert batch.duplicates <= 1
    assert batch.repeated <= batch.still_queued
    message_ids = batch.message_ids
    assert all(len(ids) == 1 for ids in message_ids.values())
    assert len({ids.pop() for ids in message_ids.values()}) == 300  # and every student's is their own


# ---------------------------------------------------------------------------------------------------------
# In-process (eager Celery)


@pytest.fixture
def signed_up(db):
    session, tier = upcoming_session()
    users = [UserFactory(email=f"{name}@example.com", timezone=zone)
             for name, zone in (("la", "America/Los_Angeles"), ("tokyo", "Asia/Tokyo"))]  # fmt: skip
    for user in users:
        EnrollmentFactory(user=user, run=session.run, tier=tier)
        Registration.objects.create(session=session, user=user)
    return session


def change(service, django_capture_on_commit_callbacks, **kwargs):
    with django_capture_on_commit_callbacks(execute=True):
        return service(**kwargs)


def test_a_repeated_task_mails_nobody_twice_and_a_second_move_mails_again(
    signed_up, mailoutbox, django_capture_on_commit_callbacks
):
    session = change(move_session, django_capture_on_commit_callbacks, session=signed_up,
                     starts_at=signed_up.starts_at + timedelta(hours=1))  # fmt: skip
    assert sorted(m.to[0] for m in mailoutbox) == ["la@example.com", "tokyo@example.com"]

    assert notify_session_changed.delay(session.pk, "moved", session.sequence).get() == 0  # a retry, a duplicate
    assert len(mailoutbox) == 2

    change(move_session, django_capture_on_commit_callbacks, session=session,
           starts_at=session.starts_at + timedelta(hours=1))  # fmt: skip
    assert sorted(m.to[0] for m in mailoutbox) == ["la@example.com"] * 2 + ["tokyo@example.com"] * 2
    assert sorted(ChangeEmail.objects.values_list("registration__user__email", "sequence", "change", "status")) == [
        ("la@example.com", 1, "moved", "sent"), ("la@example.com", 2, "moved", "sent"),
        ("tokyo@example.com", 1, "moved", "sent"), ("tokyo@example.com", 2, "moved", "sent"),
    ]  # fmt: skip


def test_a_task_queued_without_a_sequence_tells_the_current_change_once(signed_up, mailoutbox):
    Session.objects.filter(pk=signed_up.pk).update(status=Session.Status.CANCELLED, sequence=3)

    assert notify_session_changed.delay(signed_up.pk, "cancelled").get() == 2
    assert notify_session_changed.delay(signed_up.pk, "cancelled", 3).get() == 0

    assert set(ChangeEmail.objects.values_list("sequence", flat=True)) == {3}
    assert all("cancelled" in m.subject for m in mailoutbox) and len(mailoutbox) == 2


def test_one_bad_recipient_never_stops_the_others(signed_up, settings, smtp_sink, django_capture_on_commit_callbacks):
    settings.EMAIL_BACKEND = "django.core.mail.backends.smtp.EmailBackend"
    settings.EMAIL_HOST, settings.EMAIL_PORT = "127.0.0.1", smtp_sink.port
    refused = UserFactory(email="gone@example.com")
    malformed = UserFactory(email="placeholder@example.com")
    for user in (refused, malformed):
        Registration.objects.create(session=signed_up, user=user)
    type(malformed).objects.filter(pk=malformed.pk).update(email="bad@example.com\nBcc: all@example.com")
    smtp_sink.unknown_recipients = {"gone@example.com"}

    change(cancel_session, django_capture_on_commit_callbacks, session=signed_up)

    assert sorted(m["To"] for m in smtp_sink.messages) == ["la@example.com", "tokyo@example.com"]
    statuses = dict(ChangeEmail.objects.values_list("registration__user_id", "status"))
    assert statuses[refused.pk] == ChangeEmail.Status.SKIPPED  # refused for good: not tried again
    assert statuses[malformed.pk] == ChangeEmail.Status.QUEUED
    assert smtp_sink.sessions == 1


def test_the_admin_lists_the_change_emails_read_only(signed_up, client, django_capture_on_commit_callbacks):
    change(cancel_session, django_capture_on_commit_callbacks, session=signed_up)
    client.force_login(StaffFactory(is_superuser=True))

    page = client.get(reverse("admin:officehours_changeemail_changelist"))

    assert page.status_code == 200 and "tokyo@example.com" in page.text and "Cancelled" in page.text
    assert client.get(reverse("admin:officehours_changeemail_add")).status_code == 403


def test_a_change_queues_its_emails_with_it_and_a_rolled_back_change_queues_none(signed_up, mailoutbox):
    with pytest.raises(RuntimeError), transaction.atomic():
        move_session(session=signed_up, starts_at=signed_up.starts_at + timedelta(hours=1))
        raise RuntimeError("the admin's save failed after the move")
    assert not ChangeEmail.objects.exists()

    cancel_session(session=signed_up)  # its task never ran (the broker was down, say)

    assert sorted(ChangeEmail.objects.values_list("registration__user__email", "status")) == [
        ("la@example.com", "queued"), ("tokyo@example.com", "queued"),
    ]  # fmt: skip
    assert mailoutbox == []


def test_the_beat_sweep_sends_what_a_task_left_once_its_task_had_time(signed_up, mailoutbox):
    cancel_session(session=signed_up)  # inside the test's transaction: its on-commit task never runs
    queued_at = ChangeEmail.objects.values_list("queued_at", flat=True).first()

    assert change_emails.deliver_left_over(now=queued_at + timedelta(seconds=30)) == 0  # left to its task
    assert change_emails.deliver_left_over(now=queued_at + SWEEP_AFTER) == 2
    assert change_emails.deliver_left_over(now=queued_at + SWEEP_AFTER * 2) == 0

    assert sorted(m.to[0] for m in mailoutbox) == ["la@example.com", "tokyo@example.com"]
    assert all(m.subject.startswith("Office hours cancelled:") for m in mailoutbox)


def test_the_sweep_skips_an_email_a_newer_change_or_the_end_of_the_session_made_moot(signed_up, mailoutbox):
    moved = move_session(session=signed_up, starts_at=signed_up.starts_at + timedelta(hours=1))
    move_session(session=moved, starts_at=moved.starts_at + timedelta(hours=1))  # again: sequence 2
    later = timezone.now() + SWEEP_AFTER

    assert change_emails.deliver_left_over(now=later) == 2  # the second move's, telling the session as it is
    assert sorted(ChangeEmail.objects.values_list("sequence", "status")) == [
        (1, "skipped"), (1, "skipped"), (2, "sent"), (2, "sent"),
    ]  # fmt: skip

    cancel_session(session=moved)
    assert change_emails.deliver_left_over(now=moved.ends_at + timedelta(hours=2)) == 0  # over: nothing to tell
    assert ChangeEmail.objects.filter(sequence=3, status="skipped").count() == 2
    assert len(mailoutbox) == 2
