"""manage.py bulk_enroll: a CSV roster is checked whole, then applied in one transaction, or not at all."""

import io
import sys
import threading
import time
from datetime import timedelta

import pytest
from django.contrib.auth import hashers
from django.core.management import CommandError, call_command
from django.db import connection, transaction
from django.utils import timezone

from accounts.models import User
from courseweb.errors import Refusal
from enrollment import bulk, emails
from enrollment.management.commands.bulk_enroll import CANNOT_READ
from enrollment.models import Enrollment, SentEmail, Tier
from enrollment.rules import INACTIVE, NO_DOWNGRADE, WRONG_RUN
from tests.enrollment.helpers import roster_state
from tests.factories import EnrollmentFactory, OfficeHoursTierFactory, RunFactory, TierFactory, UserFactory

pytestmark = pytest.mark.django_db


@pytest.fixture
def run():
    """A run that starts in 30 days: its pre-launch email is not due yet."""
    run = RunFactory(slug="spring", starts_at=timezone.now() + timedelta(days=30))
    TierFactory(run=run)
    OfficeHoursTierFactory(run=run)
    return run


@pytest.fixture
def soon_run():
    """A run that starts tomorrow: with the default two days, its pre-launch email is due."""
    run = RunFactory(slug="soon", starts_at=timezone.now() + timedelta(days=1))
    TierFactory(run=run)
    OfficeHoursTierFactory(run=run)
    return run


def tier(run, kind):
    return Tier.objects.get(run=run, kind=kind)


def bulk_enroll(tmp_path, content, *args):
    """Write `content` (text or bytes) to a file, run the command on it and return what it printed."""
    path = tmp_path / "roster.csv"
    if isinstance(content, str):
        content = content.encode()
    path.write_bytes(content)
    out, err = io.StringIO(), io.StringIO()
    call_command("bulk_enroll", str(path), *args, stdout=out, stderr=err)
    return out.getvalue(), err.getvalue()


def enrollment_of(email, run):
    return Enrollment.objects.select_related("tier", "run").get(user__email=email, run=run)


def error_lines(tmp_path, content, *args):
    """Run the command on a bad file; return its error's lines, after checking it changed nothing."""
    before = roster_state()
    with pytest.raises(CommandError) as raised:
        bulk_enroll(tmp_path, content, *args)
    assert roster_state() == before
    return str(raised.value).splitlines()


# ---------------------------------------------------------------------------------------------------------
# Bad input: every problem reported with its line, and nothing changed


@pytest.fixture
def existing(run):
    """A student already in the run on the standard tier, whom a good row would upgrade."""
    return EnrollmentFactory(user=UserFactory(email="existing@example.com"), run=run, tier=tier(run, "standard"))


BAD_FILES = [
    pytest.param(
        "email,first_name\nnew@example.com,Ann\nnot-an-email,Bob\nexisting@example.com\n",
        [(3, bulk.BAD_EMAIL.format(email="not-an-email"))],
        id="bad-email",
    ),
    pytest.param(
        "email,tier\nnew@example.com,standard\nexisting@example.com,gold\n",
        [(3, bulk.UNKNOWN_TIER.format(tier="gold", tiers="standard, office-hours"))],
        id="unknown-tier",
    ),
    pytest.param(
        "email,tier\nnew@example.com,standard\nexisting@example.com,office-hours\nNEW@example.com,office-hours\n",
        [(4, bulk.CONFLICTING_TIER.format(email="new@example.com", line=2, other="standard"))],
        id="same-email-two-tiers",
    ),
    pytest.param(
        "new@example.com,Ann,Lee\nexisting@example.com,Bob,Ray\n",
        [(1, bulk.MISSING_HEADER)],
        id="no-header",
    ),
    pytest.param(
        "name,tier\nAnn,standard\n",
        [(1, bulk.MISSING_EMAIL_COLUMN.format(columns="name, tier"))],
        id="no-email-column",
    ),
    pytest.param(
        "email,Email\nnew@example.com,new@example.com\n",
        [(1, bulk.DUPLICATE_COLUMN.format(column="email"))],
        id="email-column-twice",
    ),
    pytest.param(
        "email,first_name\nnew@example.com,Ann\n,Bob\n",
        [(3, bulk.NO_EMAIL)],
        id="row-without-email",
    ),
    pytest.param(
        "email,first_name\nnew@example.com,Ann,Lee\n",
        [(2, bulk.TOO_MANY_VALUES.format(count=3, columns=2))],
        id="too-many-values",
    ),
    pytest.param(
        f"email,first_name\nnew@example.com,{'A' * 151}\nx@example.com,Bo\x07b\n",
        [
            (2, bulk.NAME_TOO_LONG.format(column="first name", limit=150)),
            (3, bulk.CONTROL_CHARACTER.format(column="first name")),
        ],
        id="bad-names",
    ),
    pytest.param(
        f"email\n{'a' * 250}@example.com\n",
        [(2, bulk.EMAIL_TOO_LONG.format(limit=254))],
        id="email-too-long",
    ),
    pytest.param(
        "email,first_name\nnew@example.com,Ann\ncafé@example.com,Zoë\n".encode("latin-1"),
        [(3, bulk.NOT_UTF8.format(detail="byte 0xe9"))],
        id="not-utf8",
    ),
    pytest.param(
        # Every bad row is reported, not just the first; a quoted value may span lines.
        "email,tier,first_name\n"
        'one@example.com,standard,"Ann\nMarie"\n'
        "two@,standard,Bob\n"
        "\n"
        "three@example.com,platinum,Cy\n"
        "four@example.com,office-hours,Di\n"
        "ONE@example.com,office-hours,Ann\n",
        [
            (4, bulk.BAD_EMAIL.format(email="two@")),
            (6, bulk.UNKNOWN_TIER.format(tier="platinum", tiers="standard, office-hours")),
            (8, bulk.CONFLICTING_TIER.format(email="one@example.com", line=2, other="standard")),
        ],
        id="many-bad-rows",
    ),
]


@pytest.mark.parametrize(("content", "expected"), BAD_FILES)
def test_bad_file_names_every_bad_line_and_changes_nothing(tmp_path, run, existing, content, expected):
    lines = error_lines(tmp_path, content, "--run", run.slug, "--tier", "office-hours")
    assert lines[0] == bulk.PROBLEMS.format(count=len(expected), name=tmp_path / "roster.csv")
    assert lines[1:] == [f"  line {line}: {reason}" for line, reason in expected]


@pytest.mark.parametrize("content", ["", "\ufeff", "\r\n\r\n", " , \n"])
def test_empty_file_is_refused(tmp_path, run, existing, content):
    lines = error_lines(tmp_path, content, "--run", run.slug)
    assert lines[1:] == [f"  {bulk.EMPTY_FILE}"]


def test_unknown_run_is_refused(tmp_path, run, existing):
    lines = error_lines(tmp_path, "email\nnew@example.com\n", "--run", "no-such-run")
    assert lines[1:] == [f"  {bulk.UNKNOWN_RUN.format(slug='no-such-run')}"]


def test_tier_option_that_the_run_lacks_is_refused(tmp_path, existing):
    run = RunFactory(slug="plain")
    TierFactory(run=run)
    lines = error_lines(tmp_path, "email,tier\nnew@example.com,standard\n", "--run", "plain", "--tier", "office-hours")
    assert lines[1:] == [f"  {bulk.RUN_HAS_NO_TIER.format(run=run, kind='office-hours', tiers='standard')}"]


def test_row_without_tier_in_a_run_without_standard_tier_is_refused(tmp_path, existing):
    run = RunFactory(slug="premium-only")
    OfficeHoursTierFactory(run=run)
    lines = error_lines(tmp_path, "email,tier\na@example.com,office-hours\nb@example.com,\n", "--run", run.slug)
    assert lines[1:] == [f"  line 3: {bulk.NO_TIER}"]


def test_unreadable_path_is_refused(tmp_path, run):
    path = tmp_path / "missing.csv"
    with pytest.raises(CommandError) as raised:
        call_command("bulk_enroll", str(path), "--run", run.slug, stdout=io.StringIO())
    assert str(raised.value) == CANNOT_READ.format(file=path, reason="No such file or directory")


# ---------------------------------------------------------------------------------------------------------
# What spreadsheets export


def test_spreadsheet_export_with_bom_crlf_spaces_and_upper_case_is_accepted(tmp_path, run):
    bob = UserFactory(email="bob@example.com", first_name="Robert")
    content = (
        "\ufeff Email , First Name ,LAST_NAME, Tier \r\n"
        "  ALICE@Example.COM , Alice ,  Liddell ,  Office Hours \r\n"
        "BOB@EXAMPLE.COM,Bob,Builder,standard\r\n"
        "\r\n"
        "alice@example.com,,,office-hours\r\n"
    ).encode()
    out, _ = bulk_enroll(tmp_path, content, "--run", run.slug)
    alice = User.objects.get(email="alice@example.com")
    assert (alice.first_name, alice.last_name) == ("Alice", "Liddell")
    assert enrollment_of("alice@example.com", run).tier.kind == Tier.Kind.OFFICE_HOURS
    assert enrollment_of("bob@example.com", run).tier.kind == Tier.Kind.STANDARD
    assert User.objects.filter(email__iexact="bob@example.com").get() == bob
    bob.refresh_from_db()
    assert bob.first_name == "Robert"  # an existing account keeps its name
    assert "users created:             1" in out
    assert "enrollments created:       2" in out


def test_semicolon_separated_export_is_accepted(tmp_path, run):
    bulk_enroll(tmp_path, "email;first_name\r\nann@example.com;Ann\r\n", "--run", run.slug)
    assert User.objects.get(email="ann@example.com").first_name == "Ann"


def test_file_from_standard_input(run, monkeypatch):
    monkeypatch.setattr(sys, "stdin", io.TextIOWrapper(io.BytesIO(b"\xef\xbb\xbfemail\r\nANN@example.com\r\n")))
    call_command("bulk_enroll", "-", "--run", run.slug, stdout=io.StringIO())
    assert enrollment_of("ann@example.com", run).source == Enrollment.Source.BULK


def test_text_standard_input(run, monkeypatch):
    monkeypatch.setattr(sys, "stdin", io.StringIO("email\nann@example.com\n"))
    call_command("bulk_enroll", "-", "--run", run.slug, stdout=io.StringIO())
    assert enrollment_of("ann@example.com", run)


def test_new_students_get_no_usable_password_and_no_hashing(tmp_path, run, monkeypatch):
    def no_hashing(*args, **kwargs):
        raise AssertionError("bulk_enroll must not hash a password per row")

    monkeypatch.setattr(hashers, "get_hasher", no_hashing)
    bulk_enroll(tmp_path, "email\na@example.com\nb@example.com\n", "--run", run.slug)
    users = User.objects.filter(email__in=["a@example.com", "b@example.com"])
    assert len(users) == 2
    assert not any(user.has_usable_password() for user in users)
    assert users[0].password != users[1].password


# ---------------------------------------------------------------------------------------------------------
# Tiers: the row's, else --tier, else standard; upgrade, never downgrade


def test_row_tier_beats_tier_option(tmp_path, run):
    content = "email,tier\nrow-standard@example.com,standard\nno-tier@example.com,\n"
    bulk_enroll(tmp_path, content, "--run", run.slug, "--tier", "office-hours")
    assert enrollment_of("row-standard@example.com", run).tier.kind == Tier.Kind.STANDARD
    assert enrollment_of("no-tier@example.com", run).tier.kind == Tier.Kind.OFFICE_HOURS


def test_without_tier_students_get_the_standard_tier(tmp_path, run):
    bulk_enroll(tmp_path, "email\nann@example.com\n", "--run", run.slug)
    assert enrollment_of("ann@example.com", run).tier.kind == Tier.Kind.STANDARD


def test_same_email_twice_with_same_tier_is_one_student(tmp_path, run):
    out, _ = bulk_enroll(tmp_path, "email,last_name\nann@example.com,\nAnn@Example.com,Lee\n", "--run", run.slug)
    assert Enrollment.objects.filter(run=run).count() == 1
    assert User.objects.get(email="ann@example.com").last_name == "Lee"
    assert "enrollments created:       1" in out


def test_upgrade_to_office_hours_grows_the_access_window(tmp_path, run):
    before = EnrollmentFactory(user=UserFactory(email="ann@example.com"), run=run, tier=tier(run, "standard"))
    ends_before = before.access_ends_at
    out, _ = bulk_enroll(tmp_path, "email,tier\nANN@example.com,office-hours\n", "--run", run.slug)
    after = enrollment_of("ann@example.com", run)
    assert after.pk == before.pk
    assert after.tier.kind == Tier.Kind.OFFICE_HOURS
    assert after.access_ends_at > ends_before
    assert "upgraded:                  1" in out


def test_downgrade_is_skipped_with_its_reason(tmp_path, run):
    office_hours = tier(run, "office-hours")
    EnrollmentFactory(user=UserFactory(email="ann@example.com"), run=run, tier=office_hours)
    out, _ = bulk_enroll(
        tmp_path, "email,tier\nnew@example.com,standard\nann@example.com,standard\n", "--run", run.slug
    )
    assert enrollment_of("ann@example.com", run).tier == office_hours
    assert "skipped:                   1" in out
    assert f"line 3: ann@example.com: {NO_DOWNGRADE.format(current=office_hours.name)}" in out


@pytest.mark.parametrize("status", [Enrollment.Status.REFUNDED, Enrollment.Status.CANCELLED])
def test_refunded_or_cancelled_enrollment_is_skipped_with_its_reason(tmp_path, run, status):
    EnrollmentFactory(user=UserFactory(email="ann@example.com"), run=run, tier=tier(run, "standard"), status=status)
    out, _ = bulk_enroll(tmp_path, "email,tier\nann@example.com,office-hours\n", "--run", run.slug)
    enrollment = enrollment_of("ann@example.com", run)
    assert (enrollment.status, enrollment.tier.kind) == (status, Tier.Kind.STANDARD)
    assert f"line 2: ann@example.com: {INACTIVE.format(status=status.label.lower())}" in out


def test_enrollment_in_another_run_is_left_alone(tmp_path, run):
    other = EnrollmentFactory(user=UserFactory(email="ann@example.com"))
    bulk_enroll(tmp_path, "email\nann@example.com\n", "--run", run.slug)
    assert Enrollment.objects.filter(user__email="ann@example.com").count() == 2
    assert Enrollment.objects.get(pk=other.pk).run_id == other.run_id


# ---------------------------------------------------------------------------------------------------------
# Repeats, dry runs, emails


ROSTER = "email,first_name,tier\nann@example.com,Ann,standard\nbob@example.com,Bob,office-hours\n"


def test_second_run_of_the_same_file_changes_and_sends_nothing(
    tmp_path, soon_run, mailoutbox, eager_celery, django_capture_on_commit_callbacks
):
    with django_capture_on_commit_callbacks(execute=True):
        bulk_enroll(tmp_path, ROSTER, "--run", soon_run.slug)
    assert sorted(message.to[0] for message in mailoutbox) == ["ann@example.com", "bob@example.com"]
    before = roster_state()
    with django_capture_on_commit_callbacks(execute=True) as callbacks:
        out, _ = bulk_enroll(tmp_path, ROSTER, "--run", soon_run.slug)
    assert roster_state() == before
    assert callbacks == []
    assert len(mailoutbox) == 2
    assert "unchanged:                 2" in out
    for label in ("users created", "enrollments created", "upgraded", "skipped"):
        assert f"{label + ':':<21}      0" in out


def test_dry_run_changes_nothing_and_counts_what_it_would_do(
    tmp_path, soon_run, mailoutbox, eager_celery, django_capture_on_commit_callbacks
):
    EnrollmentFactory(user=UserFactory(email="bob@example.com"), run=soon_run, tier=tier(soon_run, "standard"))
    before = roster_state()
    with django_capture_on_commit_callbacks(execute=True) as callbacks:
        out, _ = bulk_enroll(tmp_path, ROSTER, "--run", soon_run.slug, "--dry-run")
    assert roster_state() == before
    assert callbacks == []
    assert mailoutbox == []
    assert out.startswith("Dry run: nothing was saved.")
    assert "users created:             1" in out
    assert "enrollments created:       1" in out
    assert "upgraded:                  1" in out


def test_prelaunch_email_is_queued_and_sent_when_due(
    tmp_path, soon_run, mailoutbox, eager_celery, django_capture_on_commit_callbacks
):
    with django_capture_on_commit_callbacks(execute=True):
        out, _ = bulk_enroll(tmp_path, ROSTER, "--run", soon_run.slug)
    rows = SentEmail.objects.filter(enrollment__run=soon_run)
    assert sorted(rows.values_list("kind", "status")) == [(SentEmail.Kind.PRELAUNCH, SentEmail.Status.SENT)] * 2
    assert sorted(message.to[0] for message in mailoutbox) == ["ann@example.com", "bob@example.com"]
    assert "pre-launch emails queued for sending: 2" in out


def test_no_prelaunch_email_before_it_is_due(
    tmp_path, run, mailoutbox, eager_celery, django_capture_on_commit_callbacks
):
    with django_capture_on_commit_callbacks(execute=True) as callbacks:
        bulk_enroll(tmp_path, ROSTER, "--run", run.slug)
    assert callbacks == []
    assert mailoutbox == []
    assert not SentEmail.objects.exists()
    # The periodic job sends it when its time comes.
    assert emails.queue_due_prelaunch(now=run.prelaunch_email_at) == 2


def test_no_email_sends_nothing_and_records_the_email_as_skipped(
    tmp_path, soon_run, mailoutbox, eager_celery, django_capture_on_commit_callbacks
):
    with django_capture_on_commit_callbacks(execute=True) as callbacks:
        out, _ = bulk_enroll(tmp_path, ROSTER, "--run", soon_run.slug, "--no-email")
    assert callbacks == []
    assert mailoutbox == []
    statuses = SentEmail.objects.filter(enrollment__run=soon_run).values_list("kind", "status")
    assert sorted(statuses) == [(SentEmail.Kind.PRELAUNCH, SentEmail.Status.SKIPPED)] * 2
    assert emails.queue_due_prelaunch(now=timezone.now()) == 0
    assert "recorded as skipped" in out


def test_no_email_before_the_prelaunch_time_keeps_the_periodic_job_from_sending_it_later(tmp_path, run, mailoutbox):
    bulk_enroll(tmp_path, ROSTER, "--run", run.slug, "--no-email")
    assert SentEmail.objects.filter(status=SentEmail.Status.SKIPPED).count() == 2
    assert emails.queue_due_prelaunch(now=run.prelaunch_email_at + timedelta(hours=1)) == 0
    assert emails.deliver_queued() == 0
    assert mailoutbox == []


def test_upgrade_sends_no_second_prelaunch_email(
    tmp_path, soon_run, mailoutbox, eager_celery, django_capture_on_commit_callbacks
):
    with django_capture_on_commit_callbacks(execute=True):
        bulk_enroll(tmp_path, "email\nann@example.com\n", "--run", soon_run.slug)
    with django_capture_on_commit_callbacks(execute=True):
        bulk_enroll(tmp_path, "email,tier\nann@example.com,office-hours\n", "--run", soon_run.slug)
    assert len(mailoutbox) == 1
    assert SentEmail.objects.count() == 1


# ---------------------------------------------------------------------------------------------------------
# Large files


def test_large_file_shows_progress_and_runs_a_bounded_number_of_queries(tmp_path, run, django_assert_max_num_queries):
    rows = [f"student{n}@example.com,Student,{n},{'office-hours' if n % 5 == 0 else 'standard'}" for n in range(2500)]
    existing = [UserFactory(email=f"STUDENT{n}@example.com") for n in range(0, 2500, 250)]
    content = "email,first_name,last_name,tier\n" + "\n".join(rows) + "\n"
    # A few queries per chunk of rows, never one per row (SQLite inserts in batches of 999 parameters).
    with django_assert_max_num_queries(100):
        out, err = bulk_enroll(tmp_path, content, "--run", run.slug, "--no-email")
    assert "validated 1,000 of 2,500 rows" in err
    assert "validated 2,000 of 2,500 rows" in err
    assert "wrote 2,500 of 2,500 students" in err
    assert Enrollment.objects.filter(run=run).count() == 2500
    assert User.objects.count() == 2500
    assert Enrollment.objects.filter(run=run, tier__kind=Tier.Kind.OFFICE_HOURS).count() == 500
    assert Enrollment.objects.filter(user__in=existing).count() == len(existing)
    assert f"users created:          {2500 - len(existing)}" in out


def test_small_file_shows_no_progress(tmp_path, run):
    _, err = bulk_enroll(tmp_path, "email\nann@example.com\n", "--run", run.slug)
    assert err == ""


@pytest.mark.django_db(transaction=True)
def test_student_created_by_someone_else_meanwhile_rolls_everything_back(tmp_path, run, on_postgres):
    """Another process creates ann (not committed yet) while bulk_enroll runs: its insert waits, then fails."""
    holding, release = threading.Event(), threading.Event()

    def someone_else():
        try:
            with transaction.atomic():
                UserFactory(email="ann@example.com")
                holding.set()
                release.wait(timeout=30)
        finally:
            connection.close()

    outcome = {}

    def command():
        try:
            bulk_enroll(tmp_path, "email\nbob@example.com\nann@example.com\n", "--run", run.slug)
        except CommandError as error:
            outcome["error"] = str(error)
        finally:
            connection.close()

    before = roster_state()
    other = threading.Thread(target=someone_else)
    other.start()
    assert holding.wait(timeout=30)
    running = threading.Thread(target=command)
    running.start()
    _wait_for_a_lock_wait()  # bulk_enroll's insert of ann waits on the other's uncommitted row
    release.set()
    other.join(timeout=30)
    running.join(timeout=30)

    assert outcome == {"error": bulk.CONCURRENT_CHANGE}
    after = roster_state()
    assert [user[0] for user in after.pop("users")] == [user[0] for user in before.pop("users")] + ["ann@example.com"]
    assert after == before  # only the other process's ann: nothing of the file was written


def _wait_for_a_lock_wait(timeout=30):
    deadline = time.monotonic() + timeout
    with connection.cursor() as cursor:
        while time.monotonic() < deadline:
            cursor.execute("SELECT count(*) FROM pg_stat_activity WHERE wait_event_type = 'Lock'")
            if cursor.fetchone()[0]:
                return
            time.sleep(0.02)
    pytest.fail("bulk_enroll never waited for the other transaction")


def test_a_roster_error_is_a_refusal_whose_message_lists_every_problem(run):
    with pytest.raises(Refusal) as refused:
        bulk.parse_roster("email,tier\nnot-an-email,standard\nb@example.com,gold\n", run=run)
    assert isinstance(refused.value, bulk.RosterError)
    assert refused.value.message.splitlines() == [str(error) for error in refused.value.errors]
    assert len(refused.value.errors) == 2
    assert not User.objects.exists()


def test_a_roster_with_a_tier_of_another_run_is_refused_and_changes_nothing(run, existing):
    before = roster_state()
    other = TierFactory(run=RunFactory())
    roster = bulk.Roster(run=run, rows=[bulk.RosterRow(2, "new@example.com", "", "", other)], lines=1)
    with pytest.raises(bulk.RosterError) as refused:
        bulk.apply_roster(roster=roster)
    assert refused.value.message == f"line 2: {WRONG_RUN.format(tier=other)}"
    assert roster_state() == before
