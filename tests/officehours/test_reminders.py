"""Office-hours reminders: a day and an hour before, exactly once each, on real workers and a real SMTP server.

The worker tests start real Celery workers (tests/workers.py) on a private Redis
queue, against the test database (Postgres, committed rows) and an aiosmtpd sink.
"""

from collections import Counter
from datetime import UTC, datetime, timedelta

import pytest
from django.utils import timezone

from courseweb.celery import app as celery_app
from enrollment.models import Enrollment
from officehours import reminders
from officehours.models import Registration, Reminder, Session
from officehours.tasks import send_office_hours_reminders
from tests.factories import (
    EnrollmentFactory,
    OfficeHoursTierFactory,
    RunFactory,
    SessionFactory,
    TierFactory,
    UserFactory,
)
from tests.officehours.helpers import office_hours_run, sign_up_many
from tests.workers import free_port, sender_pid, settle

HEADER = "X-Courseweb-Email"


def make_session(run, *, starts_at, **fields):
    return SessionFactory(run=run, starts_at=starts_at, meeting_url="https://meet.example.com/room", **fields)


def kinds(messages):
    return Counter(message[HEADER].split(":")[0] for message in messages)


# ---------------------------------------------------------------------------------------------------------
# Real workers


def reminder_scene():
    """Due now: 30 hour-before (session in 30 min) and 30 day-before (session in 10 h); plus what must get none."""
    now = timezone.now()
    run, tier = office_hours_run()
    soon = make_session(run, starts_at=now + timedelta(minutes=30))
    tomorrow = make_session(run, starts_at=now + timedelta(hours=10))
    hour_addresses = sign_up_many(30, session=soon, tier=tier)
    day_addresses = sign_up_many(30, session=tomorrow, tier=tier)
    cancelled = make_session(run, starts_at=now + timedelta(minutes=40), status=Session.Status.CANCELLED)
    sign_up_many(5, session=cancelled, tier=tier)
    later = make_session(run, starts_at=now + timedelta(days=3))
    sign_up_many(5, session=later, tier=tier)
    not_registered = EnrollmentFactory(run=run, tier=tier).user
    return hour_addresses, day_addresses, not_registered.email


def test_reminders_go_exactly_once_each_when_the_beat_task_runs_twice(workers, smtp_sink):
    hour_addresses, day_addresses, not_registered = reminder_scene()
    workers.start("w1")

    send_office_hours_reminders.apply_async(queue=workers.queue)
    send_office_hours_reminders.apply_async(queue=workers.queue)
    workers.wait_until(lambda: Reminder.objects.count() == 60, "60 reminders recorded")
    # The second run must have finished too before counting: a third, queued after both, runs last.
    send_office_hours_reminders.apply_async(queue=workers.queue)
    messages = settle(smtp_sink, seconds=1.5)

    assert len(messages) == 60
    by_kind = {kind: sorted(m["To"] for m in messages if m[HEADER].split(":")[0] == kind) for kind in kinds(messages)}
    assert sorted(by_kind["officehours-hour"]) == sorted(hour_addresses)
    assert sorted(by_kind["officehours-day"]) == sorted(day_addresses)
    assert not_registered not in {m["To"] for m in messages}
    assert Reminder.objects.filter(kind=Reminder.Kind.HOUR_BEFORE).count() == 30
    assert Reminder.objects.filter(kind=Reminder.Kind.DAY_BEFORE).count() == 30
    assert not Reminder.objects.filter(registration__session__status=Session.Status.CANCELLED).exists()


def test_two_workers_running_the_task_at_once_send_each_reminder_once(workers, smtp_sink):
    now = timezone.now()
    run, tier = office_hours_run()
    soon = make_session(run, starts_at=now + timedelta(minutes=45))
    tomorrow = make_session(run, starts_at=now + timedelta(hours=20))
    addresses = sign_up_many(100, session=soon, tier=tier) | sign_up_many(100, session=tomorrow, tier=tier)
    smtp_sink.delay = 0.003  # slow enough that both workers are sending at the same time
    first, second = workers.start("w1", "w2")

    for _ in range(4):
        send_office_hours_reminders.apply_async(queue=workers.queue)
    workers.wait_until(lambda: Reminder.objects.count() == 200, "200 reminders recorded")
    messages = settle(smtp_sink, seconds=1.5)

    assert len(messages) == 200
    assert Counter(m["To"] for m in messages) == Counter(addresses)
    assert kinds(messages) == {"officehours-hour": 100, "officehours-day": 100}
    by_worker = {pid: sum(1 for m in messages if sender_pid(m) == pid) for pid in (first.pid, second.pid)}
    assert all(by_worker.values()), f"both workers should have sent some: {by_worker}"


# ---------------------------------------------------------------------------------------------------------
# In-process (any database): the windows, the content, one SMTP connection

START = datetime(2031, 1, 16, 18, 0, tzinfo=UTC)  # Thursday 18:00 UTC: 10:00 in Los Angeles (PST)


@pytest.fixture
def signed_up(db):
    run = RunFactory(starts_at=START - timedelta(days=10))
    tier = OfficeHoursTierFactory(run=run)
    session = make_session(run, starts_at=START, title="Office hours")
    user = UserFactory(email="ana@example.com", timezone="America/Los_Angeles", first_name="Ana")
    EnrollmentFactory(user=user, run=run, tier=tier)
    return Registration.objects.create(session=session, user=user)


def test_day_then_hour_reminder_exactly_once_each_over_the_day(signed_up, mailoutbox):
    sweeps = [START - timedelta(hours=h) for h in (30, 24, 23, 12, 2)] + [
        START - timedelta(minutes=m) for m in (60, 30, 1)
    ]
    sent = [reminders.send_due_reminders(now=now) for now in sweeps for _ in range(2)]

    assert sum(sent) == 2
    assert [m.extra_headers[HEADER].split(":")[0] for m in mailoutbox] == ["officehours-day", "officehours-hour"]
    assert reminders.send_due_reminders(now=START + timedelta(minutes=1)) == 0


def test_no_reminder_for_a_session_that_started(signed_up, mailoutbox):
    assert reminders.send_due_reminders(now=START + timedelta(seconds=1)) == 0
    assert mailoutbox == []


def test_reminder_shows_the_time_in_the_students_zone_and_links_the_page_and_ics(signed_up, mailoutbox, settings):
    settings.SITE_URL = "https://courses.example"
    reminders.send_due_reminders(now=START - timedelta(hours=20))

    [message] = mailoutbox
    assert message.to == ["ana@example.com"]
    assert "10:00" in message.subject and "America/Los_Angeles" in message.subject
    assert "Thursday 16 January 2031, 10:00 to 11:00 (America/Los_Angeles)" in message.body
    course = signed_up.session.run.course
    assert f"https://courses.example/courses/{course.slug}/office-hours/" in message.body
    assert f"https://courses.example/calendar/{course.slug}/sessions/{signed_up.session.pk}.ics" in message.body
    assert "meet.example.com" not in message.body
    html = message.alternatives[0][0]
    assert "10:00" in html and "America/Los_Angeles" in html


def test_no_reminder_for_a_cancelled_session(signed_up, mailoutbox):
    Session.objects.filter(pk=signed_up.session_id).update(status=Session.Status.CANCELLED)

    assert reminders.send_due_reminders(now=START - timedelta(minutes=30)) == 0
    assert mailoutbox == []


def test_no_reminder_for_a_student_who_lost_office_hours(signed_up, mailoutbox):
    standard = TierFactory(run=signed_up.session.run)
    Enrollment.objects.filter(user=signed_up.user).update(tier=standard)

    assert reminders.send_due_reminders(now=START - timedelta(minutes=30)) == 0


def test_a_batch_of_reminders_uses_one_smtp_connection(db, settings, smtp_sink):
    settings.EMAIL_BACKEND = "django.core.mail.backends.smtp.EmailBackend"
    settings.EMAIL_HOST = "127.0.0.1"
    settings.EMAIL_PORT = smtp_sink.port
    run, tier = office_hours_run()
    session = make_session(run, starts_at=timezone.now() + timedelta(minutes=20))
    sign_up_many(15, session=session, tier=tier)

    assert reminders.send_due_reminders() == 15
    assert smtp_sink.sessions == 1
    assert len(smtp_sink.messages) == 15


def test_a_failed_send_leaves_the_reminder_due(signed_up, settings, smtp_sink):
    settings.EMAIL_BACKEND = "django.core.mail.backends.smtp.EmailBackend"
    settings.EMAIL_HOST, settings.EMAIL_PORT, settings.EMAIL_TIMEOUT = "127.0.0.1", free_port(), 2  # nobody there
    with pytest.raises(OSError):
        reminders.send_due_reminders(now=START - timedelta(minutes=30))
    assert not Reminder.objects.exists()

    settings.EMAIL_PORT = smtp_sink.port  # the server is back: the next sweep sends it
    assert reminders.send_due_reminders(now=START - timedelta(minutes=29)) == 1
    assert [m["To"] for m in smtp_sink.messages] == ["ana@example.com"]


def test_the_reminder_beat_entry_makes_a_real_worker_send_the_due_reminder(workers, smtp_sink):
    run, tier = office_hours_run()
    session = make_session(run, starts_at=timezone.now() + timedelta(minutes=30))
    addresses = sign_up_many(1, session=session, tier=tier)
    workers.start("w1")

    entry = celery_app.conf.beat_schedule["send-office-hours-reminders"]
    celery_app.send_task(entry["task"], queue=workers.queue)  # by name, as beat sends it
    workers.wait_until(lambda: smtp_sink.messages, "the hour-before reminder")

    [message] = settle(smtp_sink)
    assert message["To"] in addresses
    assert kinds([message]) == {"officehours-hour": 1}
