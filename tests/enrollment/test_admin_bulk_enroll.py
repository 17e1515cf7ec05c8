"""Bulk enrolment from the admin: the command's dry-run report first, nothing written until confirmed."""

import html
import re

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.urls import reverse

from enrollment.models import Enrollment
from tests.enrollment.helpers import roster_state
from tests.factories import (
    EnrollmentFactory,
    OfficeHoursTierFactory,
    RunFactory,
    StaffFactory,
    TierFactory,
    UserFactory,
)

pytestmark = pytest.mark.django_db

URL = reverse("admin:enrollment_bulk_enroll")
ROSTER = "email,first_name,last_name,tier\nada@example.com,Ada,Lovelace,\nBob@Example.com,Bob,,office-hours\n"


@pytest.fixture
def admin_client(client):
    client.force_login(StaffFactory(is_superuser=True))
    return client


@pytest.fixture
def run():
    run = RunFactory(slug="webrtc-next", title="Next cohort")
    TierFactory(run=run)
    OfficeHoursTierFactory(run=run)
    return run


def upload(client, run, text, **fields):
    data = {"run": run.pk, "tier": "", "send_email": "on",
            "file": SimpleUploadedFile("students.csv", text.encode(), content_type="text/csv")}  # fmt: skip
    return client.post(URL, data | fields)


def payload(response):
    return html.unescape(re.search(r'name="payload" value="([^"]+)"', response.content.decode()).group(1))


def test_the_changelist_links_to_the_upload(admin_client):
    page = admin_client.get(reverse("admin:enrollment_enrollment_changelist")).content.decode()
    assert URL in page and "Enrol from a CSV file" in page
    assert admin_client.get(URL).status_code == 200


def test_bad_rows_show_their_line_errors_and_change_nothing(admin_client, run):
    before = roster_state()
    response = upload(admin_client, run, "email,tier\nnot-an-address,\nok@example.com,gold\n")

    page = html.unescape(response.content.decode())
    assert response.status_code == 200
    assert "Nothing was changed. Fix these 2 problem(s) in students.csv" in page
    assert "line 2: 'not-an-address' is not a valid email address" in page
    assert "line 3: unknown tier 'gold'; the tiers of this run are: standard, office-hours" in page
    assert 'name="confirm"' not in page
    assert roster_state() == before


def test_the_dry_run_shows_the_commands_report_and_writes_nothing(
    admin_client, run, django_capture_on_commit_callbacks
):
    EnrollmentFactory(user=UserFactory(email="bob@example.com"), run=run, tier=run.tiers.get(kind="standard"))
    before = roster_state()
    with django_capture_on_commit_callbacks(execute=True) as callbacks:
        response = upload(admin_client, run, ROSTER)

    page = html.unescape(response.content.decode())
    assert "Dry run: nothing was saved. This is what the file would do:" in page
    assert "Next cohort (webrtc-next): 2 rows" in page
    assert "users created:             1" in page and "enrollments created:       1" in page
    assert "upgraded:                  1" in page
    assert roster_state() == before and callbacks == []


def test_confirm_writes_and_a_second_confirm_changes_nothing(admin_client, run, mailoutbox):
    checked = payload(upload(admin_client, run, ROSTER))

    response = admin_client.post(URL, {"confirm": "1", "payload": checked}, follow=True)

    page = html.unescape(response.content.decode())
    assert "enrollments created:       2" in page
    assert set(Enrollment.objects.filter(run=run).values_list("user__email", "tier__kind")) == {
        ("ada@example.com", "standard"), ("bob@example.com", "office-hours"),
    }  # fmt: skip
    after = roster_state()
    response = admin_client.post(URL, {"confirm": "1", "payload": checked}, follow=True)
    assert "unchanged:                 2" in html.unescape(response.content.decode())
    assert roster_state() == after


def test_a_tampered_payload_is_refused_and_writes_nothing(admin_client, run):
    before = roster_state()
    response = admin_client.post(URL, {"confirm": "1", "payload": "forged"}, follow=True)
    assert "has expired or was altered" in response.content.decode()
    assert roster_state() == before


def test_no_email_and_the_default_tier_are_the_commands_options(admin_client, run):
    response = upload(admin_client, run, "email\nzoe@example.com\n", tier="office-hours", send_email="")
    admin_client.post(URL, {"confirm": "1", "payload": payload(response)})
    enrollment = Enrollment.objects.get(user__email="zoe@example.com")
    assert enrollment.tier.kind == "office-hours"
    assert list(enrollment.emails.values_list("status", flat=True)) == ["skipped"]

