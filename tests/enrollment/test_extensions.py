"""Extending access from the admin: an intermediate page asks the date; the students see it and are emailed once."""

import html
from collections import Counter
from datetime import UTC, date, datetime, timedelta

import pytest
from django.contrib.admin.helpers import ACTION_CHECKBOX_NAME
from django.urls import reverse

from enrollment import emails
from enrollment.models import Enrollment, Extension
from enrollment.services import EXTEND_NOT_LATER, EXTEND_TO_THE_PAST, ExtensionRefused, extend_access
from enrollment.tasks import deliver_extension_emails
from tests.factories import EnrollmentFactory, LessonFactory, RunFactory, StaffFactory, TierFactory, UserFactory
from tests.workers import settle

pytestmark = pytest.mark.django_db

CHANGELIST = reverse("admin:enrollment_enrollment_changelist")


@pytest.fixture
def admin_client(client):
    client.force_login(StaffFactory(is_superuser=True))
    return client


@pytest.fixture
def students(settings):
    settings.TIME_ZONE = "UTC"
    # Started 10 days ago, two months of access: ends in about 50 days at 09:00 UTC.
    nine = datetime.now(UTC).replace(hour=9, minute=0, second=0, microsecond=0)
    run = RunFactory(starts_at=nine - timedelta(days=10))
    tier = TierFactory(run=run, months=2)
    LessonFactory(section__course=run.course)
    return [
        EnrollmentFactory(run=run, tier=tier, user=UserFactory(email="ada@example.com", timezone="Asia/Tokyo")),
        EnrollmentFactory(run=run, tier=tier, user=UserFactory(email="bob@example.com", timezone="America/Lima")),
    ]


def far_day():
    return date(datetime.now(UTC).year + 1, 6, 30)


def extend(client, enrollments, day, **extra):
    data = {"action": "extend_access", ACTION_CHECKBOX_NAME: [e.pk for e in enrollments], "until": day, **extra}
    return client.post(CHANGELIST, data, follow=True)


def ends(enrollments):
    return [Enrollment.objects.get(pk=e.pk).access_ends_at for e in enrollments]


def test_the_action_asks_for_the_date_on_an_intermediate_page(admin_client, students):
    response = admin_client.post(CHANGELIST, {"action": "extend_access",
                                              ACTION_CHECKBOX_NAME: [e.pk for e in students]})  # fmt: skip
    page = response.content.decode()
    assert response.status_code == 200
    assert "ada@example.com" in page and "bob@example.com" in page and 'type="date"' in page
    assert not Extension.objects.exists()


def test_the_action_extends_every_chosen_student_and_emails_each_once(
    admin_client, students, client, mailoutbox, django_capture_on_commit_callbacks
):
    day = far_day()
    with django_capture_on_commit_callbacks(execute=True):
        response = extend(admin_client, students, day.isoformat(), extend="Extend access")

    assert "Access extended to" in response.content.decode()
    assert ends(students) == [datetime(day.year, 6, 30, 9, tzinfo=UTC)] * 2
    assert sorted(m.to[0] for m in mailoutbox) == ["ada@example.com", "bob@example.com"]
    by_address = {m.to[0]: m for m in mailoutbox}
    assert f"30 June {day.year}, 18:00 (Asia/Tokyo)" in by_address["ada@example.com"].body
    assert f"30 June {day.year}, 04:00 (America/Lima)" in by_address["bob@example.com"].body
    assert set(Extension.objects.values_list("status", flat=True)) == {"sent"}

    assert emails.deliver_extensions() == 0  # delivered exactly once
    assert len(mailoutbox) == 2

    client.force_login(students[0].user)
    page = client.get(reverse("courses:home", args=[students[0].run.course.slug])).content.decode()
    assert f"30 June {day.year}, 18:00" in page


@pytest.mark.parametrize("when", ["today", "before the current end"])
def test_a_date_before_today_or_the_current_end_is_refused_and_changes_nothing(
    admin_client, students, mailoutbox, when
):
    before = ends(students)
    day = datetime.now(UTC).date() if when == "today" else before[0].date()
    response = extend(admin_client, students, day.isoformat(), extend="Extend access")
    page = html.unescape(response.content.decode())

    expected = "Choose a date after today" if when == "today" else "Access already lasts until then or later for"
    assert expected in page
    assert ends(students) == before and not Extension.objects.exists() and mailoutbox == []


def test_the_service_refuses_as_a_whole(students):
    day = far_day()
    extend_access(enrollments=[students[0]], until=day)
    with pytest.raises(ExtensionRefused) as refused:
        extend_access(enrollments=students, until=day)
    assert refused.value.message == EXTEND_NOT_LATER.format(students="ada@example.com")
    assert Enrollment.objects.get(pk=students[1].pk).extended_until is None
    with pytest.raises(ExtensionRefused) as refused:
        extend_access(enrollments=students, until=date(2000, 1, 1))
    assert refused.value.message.startswith(EXTEND_TO_THE_PAST.split("(")[0])


def test_a_second_extension_is_a_second_email_and_the_first_if_still_queued_is_skipped(students, mailoutbox):
    year = far_day().year
    extend_access(enrollments=[students[0]], until=date(year, 6, 30))
    extend_access(enrollments=[students[0]], until=date(year, 7, 31))
    assert emails.deliver_extensions() == 1
    assert "31 July" in mailoutbox[0].subject
    assert sorted(Extension.objects.values_list("status", flat=True)) == ["sent", "skipped"]


# ---------------------------------------------------------------------------------------------------------
# A real worker and an SMTP sink


def test_a_real_worker_mails_each_extended_student_once_even_when_the_task_runs_twice(workers, smtp_sink):
    run = RunFactory(starts_at=datetime.now(UTC) - timedelta(days=3))
    tier = TierFactory(run=run)
    enrollments = [EnrollmentFactory(run=run, tier=tier) for _ in range(20)]
    workers.route("enrollment.tasks.deliver_extension_emails")
    workers.start("w1", "w2")

    extend_access(enrollments=enrollments, until=far_day())  # its task goes on commit
    deliver_extension_emails.apply_async(queue=workers.queue)  # and once more, on the other worker
    workers.wait_until(lambda: Extension.objects.filter(status="sent").count() == 20, "20 extensions sent")
    messages = settle(smtp_sink, seconds=1.0)

    assert Counter(m["To"] for m in messages) == Counter(e.user.email for e in enrollments)
    assert all("your access now lasts until 30 June" in m["Subject"] for m in messages)


def test_the_extensions_list_shows_what_was_sent(admin_client, students):
    extend_access(enrollments=students, until=far_day())
    page = admin_client.get(reverse("admin:enrollment_extension_changelist")).content.decode()
    assert "ada@example.com" in page and "bob@example.com" in page
