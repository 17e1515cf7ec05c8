"""Enrollment emails: what they say (in-process) and that each goes out once (real workers, Redis and SMTP).

The delivery tests start real Celery worker processes (`celery -A courseweb worker --pool=solo`) on a
private Redis queue, pointed at the test database and at a real SMTP server on 127.0.0.1 (aiosmtpd).
They need Postgres (SKIP LOCKED) and Redis, and commit their rows (transactional_db) so that the
workers see them.
"""

import email
import email.policy
import smtplib
from datetime import UTC, datetime, time, timedelta

import pytest
from django.db import connection, connections
from django.urls import reverse
from django.utils import timezone

from accounts.models import User
from courseweb.celery import app as celery_app
from enrollment import currency, emails
from enrollment.models import Enrollment, Payment, SentEmail
from enrollment.services import enroll
from enrollment.tasks import deliver_emails, send_due_emails
from tests.factories import (
    CourseFactory,
    OfficeHoursTierFactory,
    RunFactory,
    SectionFactory,
    StaffFactory,
    TierFactory,
    UserFactory,
    WeeklySlotFactory,
    enrolled_students,
)
from tests.workers import free_port, kill_mid_batch, sender_pid, settle

SECTION_TITLES = ["Getting started", "Media & codecs", "Networks"]

# Thursday 24 October 2030, 16:00 UTC: 09:00 in Los Angeles (PDT), 18:00 in Berlin (CEST).
START = datetime(2030, 10, 24, 16, 0, tzinfo=UTC)


# ---------------------------------------------------------------------------------------------------------
# Data


def due_run(*, title="WebRTC in practice", starts_in=timedelta(days=1), days=2, office_hours=False):
    """A run whose pre-launch email is due (it starts in a day; the email goes 2 days before)."""
    course = CourseFactory(title=title, instructor_name="Ada Teacher")
    for order, section_title in enumerate(SECTION_TITLES):
        SectionFactory(course=course, title=section_title, order=order)
    run = RunFactory(course=course, title="Autumn cohort", starts_at=timezone.now() + starts_in,
                     prelaunch_email_days=days)  # fmt: skip
    tier = OfficeHoursTierFactory(run=run) if office_hours else TierFactory(run=run)
    return run, tier


def enroll_many(count, *, run, tier):
    """Create `count` students without passwords, enrolled in the run; return their addresses."""
    return {user.email for user in enrolled_students(count, run=run, tier=tier)}


def recipients(sink):
    return [message["To"] for message in sink.messages]


# ---------------------------------------------------------------------------------------------------------
# Real Celery workers


def sent_count():
    return SentEmail.objects.filter(status=SentEmail.Status.SENT).count()


# ---------------------------------------------------------------------------------------------------------
# Delivery through real workers


def test_300_due_emails_reach_smtp_exactly_once_through_a_worker(workers, smtp_sink):
    run, tier = due_run()
    addresses = enroll_many(300, run=run, tier=tier)
    workers.start("w1")

    send_due_emails.apply_async(queue=workers.queue)
    workers.wait_until(lambda: sent_count() == 300, "300 emails marked sent")

    messages = settle(smtp_sink)
    assert len(messages) == 300
    assert set(recipients(smtp_sink)) == addresses
    assert SentEmail.objects.filter(kind=SentEmail.Kind.PRELAUNCH, status=SentEmail.Status.SENT).count() == 300
    assert not SentEmail.objects.exclude(status=SentEmail.Status.SENT).exists()


def test_two_workers_on_the_same_batch_send_each_email_once(workers, smtp_sink):
    run, tier = due_run()
    addresses = enroll_many(300, run=run, tier=tier)
    smtp_sink.delay = 0.002  # a little slower, so that both workers are surely sending at the same time
    first, second = workers.start("w1", "w2")

    for _ in range(2):
        send_due_emails.apply_async(queue=workers.queue)
        deliver_emails.apply_async(queue=workers.queue)
    workers.wait_until(lambda: sent_count() == 300, "300 emails marked sent")

    messages = settle(smtp_sink)
    assert len(messages) == 300
    assert set(recipients(smtp_sink)) == addresses
    by_worker = {pid: sum(1 for m in messages if sender_pid(m) == pid) for pid in (first.pid, second.pid)}
    assert all(by_worker.values()), f"both workers should have sent some: {by_worker}"


def test_worker_killed_mid_batch_loses_nothing_and_repeats_at_most_one(workers, smtp_sink, capsys, record_property):
    run, tier = due_run()
    addresses = enroll_many(300, run=run, tier=tier)
    assert emails.queue_due_prelaunch() == 300
    smtp_sink.delay = 0.02  # about 6 s for the batch: the kill lands mid-batch, most likely mid-handover
    workers.start("w1")

    batch = kill_mid_batch(
        workers, smtp_sink, total=300,
        start=lambda: deliver_emails.apply_async(queue=workers.queue),
        restart=lambda: deliver_emails.apply_async(queue=workers.queue),
        sent=sent_count,
        queued_addresses=lambda: set(SentEmail.objects.filter(status=SentEmail.Status.QUEUED)
                                     .values_list("enrollment__user__email", flat=True)),
    )  # fmt: skip

    record_property("duplicates_after_sigkill", batch.duplicates)
    with capsys.disabled():
        print("\n" + batch.summary("", 300))
    assert set(batch.received) == addresses
    assert batch.duplicates <= 1
    assert batch.repeated <= batch.still_queued  # only the one the server had taken when the worker died, unconfirmed


def test_a_worker_killed_beside_another_leaves_its_claims_to_it_and_repeats_at_most_one(workers, smtp_sink):
    run, tier = due_run()
    addresses = enroll_many(300, run=run, tier=tier)
    assert emails.queue_due_prelaunch() == 300
    smtp_sink.delay = 0.01  # about 3 s for the batch: the kill lands while w1 holds a claim of several rows
    workers.start("w1", "w2")

    for _ in range(2):
        deliver_emails.apply_async(queue=workers.queue)
    workers.wait_until(lambda: len(smtp_sink.messages) >= 100, "100 messages at the SMTP server")
    workers.kill("w1")
    deliver_emails.apply_async(queue=workers.queue)  # the next sweep, on the worker still alive
    workers.wait_until(lambda: sent_count() == 300, "300 emails marked sent by the other worker")

    received = [message["To"] for message in settle(smtp_sink)]
    assert set(received) == addresses
    assert len(received) - len(set(received)) <= 1


def test_retried_delivery_after_a_temporary_smtp_failure_sends_the_rest_once(workers, smtp_sink):
    run, tier = due_run()
    addresses = enroll_many(60, run=run, tier=tier)
    assert emails.queue_due_prelaunch() == 60
    smtp_sink.fail_at = {25}  # the 26th message is refused with 451 once: the task fails and is retried
    workers.start("w1")

    deliver_emails.apply_async(queue=workers.queue)
    workers.wait_until(lambda: sent_count() == 60, "60 emails marked sent after the retry")

    messages = settle(smtp_sink)
    assert smtp_sink.fail_at == set()  # the failure happened
    assert len(messages) == 60
    assert set(recipients(smtp_sink)) == addresses
    assert len(set(smtp_sink.session_of)) == 2  # the first attempt's connection, then the retry's


# ---------------------------------------------------------------------------------------------------------
# One SMTP connection per batch (in-process, real SMTP server; any database)


@pytest.fixture
def smtp_settings(settings, smtp_sink):
    settings.EMAIL_BACKEND = "django.core.mail.backends.smtp.EmailBackend"
    settings.EMAIL_HOST = "127.0.0.1"
    settings.EMAIL_PORT = smtp_sink.port
    return settings


@pytest.mark.django_db
def test_a_batch_of_20_emails_uses_one_smtp_connection(smtp_settings, smtp_sink):
    run, tier = due_run()
    addresses = enroll_many(20, run=run, tier=tier)
    emails.queue_due_prelaunch()

    assert emails.deliver_queued() == 20

    assert smtp_sink.sessions == 1
    assert len(smtp_sink.messages) == 20
    assert set(recipients(smtp_sink)) == addresses


@pytest.mark.django_db
def test_a_server_that_ends_the_session_early_gets_the_rest_over_a_new_connection(smtp_settings, smtp_sink):
    run, tier = due_run()
    addresses = enroll_many(20, run=run, tier=tier)
    emails.queue_due_prelaunch()
    smtp_sink.max_per_session = 7

    assert emails.deliver_queued() == 20

    assert smtp_sink.sessions == 3
    assert sorted(recipients(smtp_sink)) == sorted(addresses)


@pytest.mark.django_db
def test_an_address_the_server_refuses_for_good_is_skipped_and_the_rest_go(smtp_settings, smtp_sink):
    run, tier = due_run()
    addresses = enroll_many(5, run=run, tier=tier)
    refused = sorted(addresses)[2]
    smtp_sink.unknown_recipients = {refused}
    emails.queue_due_prelaunch()

    assert emails.deliver_queued() == 4

    assert set(recipients(smtp_sink)) == addresses - {refused}
    assert SentEmail.objects.get(enrollment__user__email=refused).status == SentEmail.Status.SKIPPED
    assert smtp_sink.sessions == 1


@pytest.mark.django_db
def test_a_message_the_server_rejects_stays_queued_and_the_rest_go(smtp_settings, smtp_sink):
    run, tier = due_run()
    addresses = enroll_many(5, run=run, tier=tier)
    rejected = sorted(addresses)[1]
    smtp_sink.rejected_content = {rejected}
    emails.queue_due_prelaunch()

    assert emails.deliver_queued() == 4

    assert set(recipients(smtp_sink)) == addresses - {rejected}
    assert SentEmail.objects.get(enrollment__user__email=rejected).status == SentEmail.Status.QUEUED


@pytest.mark.django_db
def test_a_server_that_rejects_every_message_stops_the_batch(smtp_settings, smtp_sink):
    run, tier = due_run()
    addresses = enroll_many(6, run=run, tier=tier)
    smtp_sink.rejected_content = addresses
    emails.queue_due_prelaunch()

    with pytest.raises(smtplib.SMTPDataError):
        emails.deliver_queued()

    assert SentEmail.objects.filter(status=SentEmail.Status.QUEUED).count() == 6


def advisory_claims_held():
    """The claims (advisory locks) this test's database session holds."""
    with connection.cursor() as cursor:
        cursor.execute("SELECT count(*) FROM pg_locks WHERE locktype = 'advisory' AND pid = pg_backend_pid()")
        return cursor.fetchone()[0]


@pytest.mark.django_db
def test_a_row_another_worker_has_claimed_is_passed_by_and_goes_once_released(on_postgres, smtp_settings, smtp_sink):
    run, tier = due_run()
    addresses = enroll_many(30, run=run, tier=tier)
    emails.queue_due_prelaunch()
    held = SentEmail.objects.order_by("pk")[12]
    other_worker = connections.create_connection("default")
    try:
        with other_worker.cursor() as cursor:
            cursor.execute("SELECT pg_advisory_lock(%s, %s)", [emails.CLAIM_LOCK, held.pk])

        assert emails.deliver_queued() == 29
        assert held.enrollment.user.email not in recipients(smtp_sink)
        held.refresh_from_db()
        assert held.status == SentEmail.Status.QUEUED
    finally:
        other_worker.close()  # its session ends, and its claim with it

    assert emails.deliver_queued() == 1
    assert sorted(recipients(smtp_sink)) == sorted(addresses)


@pytest.mark.django_db
def test_a_pass_ends_holding_no_claim_when_it_succeeds_or_fails(on_postgres, smtp_settings, smtp_sink):
    run, tier = due_run()
    enroll_many(45, run=run, tier=tier)
    emails.queue_due_prelaunch()
    first_three = SentEmail.objects.order_by("pk").values_list("enrollment__user__email", flat=True)[:3]
    smtp_sink.rejected_content = set(first_three)  # three in a row rejected: the server refuses everything

    with pytest.raises(smtplib.SMTPDataError):
        emails.deliver_queued()
    assert advisory_claims_held() == 0

    smtp_sink.rejected_content = set()
    assert emails.deliver_queued() == 45
    assert advisory_claims_held() == 0


@pytest.mark.django_db
def test_a_sweep_with_nothing_to_send_does_not_connect(smtp_settings, smtp_sink):
    assert emails.deliver_queued() == 0
    assert smtp_sink.sessions == 0


# ---------------------------------------------------------------------------------------------------------
# What the emails say, and when they are queued (in-process: Celery eager (the eager_celery fixture of
# tests/conftest.py), the locmem outbox)


@pytest.fixture
def site(settings):
    settings.SITE_URL = "https://courses.example.com"
    settings.TIME_ZONE = "UTC"
    return settings


def prelaunch_for(user, *, office_hours=False, title="WebRTC in practice"):
    run, tier = due_run(title=title, office_hours=office_hours)
    run.starts_at = START
    run.save()
    Enrollment.objects.create(user=user, run=run, tier=tier)
    assert emails.queue_due_prelaunch(now=START - timedelta(days=1)) == 1
    return run


def parts(message):
    return message.body, next(content for content, mimetype in message.alternatives if mimetype == "text/html")


@pytest.mark.django_db
def test_prelaunch_email_gives_the_start_in_the_students_own_zone(site, mailoutbox):
    prelaunch_for(UserFactory(email="la@example.com", first_name="Lee", timezone="America/Los_Angeles"))
    prelaunch_for(UserFactory(email="berlin@example.com", timezone="Europe/Berlin"))

    assert emails.deliver_queued() == 2

    la, berlin = sorted(mailoutbox, key=lambda m: m.to[0] != "la@example.com")
    assert la.subject == "WebRTC in practice starts on 24 October 2030"
    for part in parts(la):
        assert "Thursday 24 October 2030, 09:00 (America/Los_Angeles)" in part
        assert "Lee" in part
    for part in parts(berlin):
        assert "Thursday 24 October 2030, 18:00 (Europe/Berlin)" in part


@pytest.mark.django_db
def test_prelaunch_email_tells_a_student_without_password_how_to_log_in(site, mailoutbox):
    user = User.objects.create_user(email="nopass@example.com", password=None)
    prelaunch_for(user)

    emails.deliver_queued()

    text, html = parts(mailoutbox[0])
    login_code_url = f"https://courses.example.com{reverse('account_request_login_code')}"
    reset_url = f"https://courses.example.com{reverse('account_reset_password')}"
    assert login_code_url in text and f'href="{login_code_url}"' in html
    assert reset_url in text and f'href="{reset_url}"' in html
    assert "we send you a code" in text and "we send you a code" in html
    assert "nopass@example.com" in text and "nopass@example.com" in html


@pytest.mark.django_db
def test_prelaunch_email_lists_the_sections_and_the_end_of_access(site, mailoutbox):
    prelaunch_for(UserFactory())

    emails.deliver_queued()

    text, html = parts(mailoutbox[0])
    for title in SECTION_TITLES:
        assert title in text
    assert "Media &amp; codecs" in html and "Media & codecs" not in html
    assert "24 December 2030" in text and "24 December 2030" in html  # standard tier: two months


SCHEDULE = "Office hours: Mondays 08:00 Asia/Jerusalem and Thursdays 18:00 America/New_York"


def two_slots(run):
    WeeklySlotFactory(run=run, weekday=3, local_time=time(18, 0), timezone="America/New_York")
    WeeklySlotFactory(run=run, weekday=0, local_time=time(8, 0), timezone="Asia/Jerusalem")


@pytest.mark.django_db
def test_each_prelaunch_email_sent_in_a_batch_is_the_one_rendered_for_that_student_alone(site, mailoutbox):
    run, tier = due_run(title="Media <&> codecs", office_hours=True)
    two_slots(run)
    standard = TierFactory(run=run)
    students = [
        (UserFactory(first_name="Ana", timezone="Asia/Tokyo"), tier),
        (UserFactory(first_name="Bo <i>&\"'", timezone="Asia/Tokyo"), tier),
        (UserFactory(first_name="", timezone="Asia/Tokyo"), tier),
        (UserFactory(first_name="Zoë", timezone="Europe/Berlin"), standard),
        (User.objects.create_user(email="nopass@example.com", password=None, first_name="Ana"), standard),
        (UserFactory(first_name="Ana", timezone="Asia/Tokyo", email="ana.long." + "x" * 60 + "@example.com"), tier),
    ]
    for user, their_tier in students:
        Enrollment.objects.create(user=user, run=run, tier=their_tier)
    emails.queue_due_prelaunch()

    assert emails.deliver_queued() == len(students)

    sections = emails.course_sections(run.course)
    for sent in mailoutbox:
        row = SentEmail.objects.select_related("enrollment__user", "enrollment__run__course", "enrollment__tier").get(
            enrollment__user__email=sent.to[0]
        )
        alone = emails.build_message(row, sections=sections)
        assert (sent.subject, sent.to, sent.body, sent.alternatives) == (
            alone.subject, alone.to, alone.body, alone.alternatives
        )  # fmt: skip
        assert decoded_parts(sent) == decoded_parts(alone)


def decoded_parts(message):
    parsed = email.message_from_bytes(message.message().as_bytes(linesep="\r\n"), policy=email.policy.default)
    return [str(parsed[name]) for name in ("Subject", "To", "X-Courseweb-Email")], [
        (part.get_content_type(), part["Content-Transfer-Encoding"], part.get_content()) for part in parsed.iter_parts()
    ]


@pytest.mark.django_db
def test_only_the_office_hours_tier_is_told_how_office_hours_work(site, mailoutbox):
    two_slots(prelaunch_for(UserFactory(email="standard@example.com")))
    two_slots(prelaunch_for(UserFactory(email="oh@example.com"), office_hours=True))

    emails.deliver_queued()

    by_address = {message.to[0]: message for message in mailoutbox}
    for part in parts(by_address["oh@example.com"]):
        assert SCHEDULE in part and "twice a week" not in part
    for part in parts(by_address["standard@example.com"]):
        assert "office hours" not in part.lower()


@pytest.mark.django_db
def test_an_office_hours_tier_of_a_run_without_slots_is_told_nothing_about_office_hours(site, mailoutbox):
    prelaunch_for(UserFactory(email="oh@example.com"), office_hours=True)

    emails.deliver_queued()

    for part in parts(mailoutbox[0]):
        assert "office hours" not in part.lower().replace("with office hours", "")


@pytest.mark.django_db
def test_email_html_is_escaped_and_accessible_and_the_text_part_reads_plainly(site, mailoutbox):
    prelaunch_for(UserFactory(), title="Rock & Roll <script>alert(1)</script>")

    emails.deliver_queued()

    message = mailoutbox[0]
    text, html = parts(message)
    assert "<script>" not in html and "Rock &amp; Roll &lt;script&gt;" in html
    assert "Rock & Roll <script>alert(1)</script> starts soon" in text
    assert html.startswith("<!DOCTYPE html>") and '<html lang="en">' in html and "<h1" in html and "<h2" in html
    assert "<img" not in html


@pytest.mark.django_db
def test_welcome_email_is_a_receipt_and_says_when_and_how(site, mailoutbox):
    user = User.objects.create_user(email="buyer@example.com", password=None, timezone="Europe/Berlin")
    run, tier = due_run(office_hours=True)
    run.starts_at = START
    run.save()
    two_slots(run)
    enrollment = Enrollment.objects.create(user=user, run=run, tier=tier, source=Enrollment.Source.STRIPE)
    Payment.objects.create(reference="pi_123", checkout_session_id="cs_123", enrollment=enrollment,
                           email=user.email, amount_total=40000, currency="EUR",
                           paid_at=datetime(2030, 9, 30, 23, 30, tzinfo=UTC))  # fmt: skip
    emails.queue(enrollments=[enrollment], kind=SentEmail.Kind.WELCOME)

    assert emails.deliver_queued() == 1

    message = mailoutbox[0]
    assert message.subject == "Welcome to WebRTC in practice: your enrolment is confirmed"
    for part in parts(message):
        assert "400.00 EUR" in part
        assert "With office hours" in part and "Autumn cohort" in part
        assert "1 October 2030" in part  # paid just before midnight UTC: already 1 October in Berlin
        assert "Thursday 24 October 2030, 18:00 (Europe/Berlin)" in part
        assert reverse("account_request_login_code") in part
        assert SCHEDULE in part


def test_amounts_are_shown_in_the_currencys_units():
    assert currency.format_amount(40000, "usd") == "400.00 USD"
    assert currency.format_amount(123456789, "EUR") == "1,234,567.89 EUR"
    assert currency.format_amount(5000, "JPY") == "5,000 JPY"


@pytest.mark.django_db
def test_refunded_enrollments_queued_email_is_skipped(site, mailoutbox):
    prelaunch_for(UserFactory())
    Enrollment.objects.update(status=Enrollment.Status.REFUNDED)

    assert emails.deliver_queued() == 0

    assert mailoutbox == []
    assert SentEmail.objects.get().status == SentEmail.Status.SKIPPED


@pytest.mark.django_db
def test_a_run_30_days_away_queues_nothing(eager_celery, mailoutbox):
    run, tier = due_run(starts_in=timedelta(days=30))
    enroll_many(3, run=run, tier=tier)

    send_due_emails.delay()

    assert mailoutbox == []
    assert not SentEmail.objects.exists()


@pytest.mark.django_db
def test_the_sweep_sends_each_due_email_once_however_often_it_runs(eager_celery, mailoutbox):
    run, tier = due_run()
    addresses = enroll_many(5, run=run, tier=tier)

    send_due_emails.delay()
    send_due_emails.delay()
    deliver_emails.delay()

    assert sorted(message.to[0] for message in mailoutbox) == sorted(addresses)
    assert SentEmail.objects.filter(status=SentEmail.Status.SENT).count() == 5


@pytest.mark.django_db
def test_a_student_enrolled_after_the_prelaunch_point_gets_it_at_once(
    eager_celery, mailoutbox, django_capture_on_commit_callbacks
):
    run, tier = due_run()
    user = UserFactory(email="late@example.com")

    with django_capture_on_commit_callbacks(execute=True):
        enroll(user=user, run=run, tier=tier, source=Enrollment.Source.ADMIN)

    assert [message.to for message in mailoutbox] == [["late@example.com"]]
    assert SentEmail.objects.get().status == SentEmail.Status.SENT


@pytest.mark.django_db
def test_a_student_enrolled_after_the_start_is_told_it_has_begun(
    eager_celery, mailoutbox, django_capture_on_commit_callbacks
):
    run, tier = due_run(starts_in=-timedelta(days=1))

    with django_capture_on_commit_callbacks(execute=True):
        enroll(user=UserFactory(), run=run, tier=tier, source=Enrollment.Source.ADMIN)

    (message,) = mailoutbox
    assert message.subject.startswith("WebRTC in practice started on ")
    for part in parts(message):
        assert "has started" in part and "begin right away" in part and "starts soon" not in part


@pytest.mark.django_db
def test_a_student_enrolled_before_the_prelaunch_point_waits_for_the_sweep(
    eager_celery, mailoutbox, django_capture_on_commit_callbacks
):
    run, tier = due_run(starts_in=timedelta(days=10))

    with django_capture_on_commit_callbacks(execute=True):
        enroll(user=UserFactory(), run=run, tier=tier, source=Enrollment.Source.ADMIN)

    assert mailoutbox == [] and not SentEmail.objects.exists()


@pytest.mark.django_db
def test_one_broken_row_does_not_hold_up_the_others(site, mailoutbox):
    run, tier = due_run()
    good = enroll_many(2, run=run, tier=tier)
    broken = UserFactory(email="broken@example.com\nBcc: everyone@example.com")
    Enrollment.objects.create(user=broken, run=run, tier=tier)
    emails.queue_due_prelaunch()

    assert emails.deliver_queued() == 2

    assert {message.to[0] for message in mailoutbox} == good
    assert SentEmail.objects.get(enrollment__user=broken).status == SentEmail.Status.QUEUED


@pytest.mark.django_db
def test_in_process_delivery_with_smtp_down_leaves_the_rows_queued(eager_celery, settings):
    settings.EMAIL_BACKEND = "django.core.mail.backends.smtp.EmailBackend"
    settings.EMAIL_HOST, settings.EMAIL_PORT, settings.EMAIL_TIMEOUT = "127.0.0.1", free_port(), 2
    run, tier = due_run()
    enroll_many(2, run=run, tier=tier)
    emails.queue_due_prelaunch()

    assert deliver_emails.delay().get() == 0  # no retry storm inside the request that enrolled someone
    assert SentEmail.objects.filter(status=SentEmail.Status.QUEUED).count() == 2
    with pytest.raises((OSError, smtplib.SMTPException)):
        emails.deliver_queued()


@pytest.mark.django_db
def test_admin_lists_the_sent_emails(site, client, mailoutbox):
    prelaunch_for(UserFactory(email="listed@example.com"))
    emails.deliver_queued()
    client.force_login(StaffFactory(is_superuser=True))

    response = client.get(reverse("admin:enrollment_sentemail_changelist"))

    assert response.status_code == 200
    assert "listed@example.com" in response.text
    assert "Sent" in response.text


def test_every_beat_entry_is_a_task_of_a_real_worker_and_the_due_emails_entry_sends_them(workers, smtp_sink):
    run, tier = due_run()
    addresses = enroll_many(3, run=run, tier=tier)
    workers.start("w1")

    replies = celery_app.control.inspect(timeout=2).registered() or {}
    [registered] = [names for node, names in replies.items() if workers.queue in node]
    assert {entry["task"] for entry in celery_app.conf.beat_schedule.values()} <= set(registered)
    entry = celery_app.conf.beat_schedule["send-due-emails"]
    celery_app.send_task(entry["task"], queue=workers.queue)  # by name, as beat sends it
    workers.wait_until(lambda: sent_count() == 3, "3 emails marked sent")

    settle(smtp_sink)
    assert sorted(recipients(smtp_sink)) == sorted(addresses)
