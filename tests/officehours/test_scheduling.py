import zoneinfo
from datetime import UTC, date, datetime, time, timedelta
from io import StringIO

import pytest
from django.core.management import CommandError, call_command
from django.db import transaction

from enrollment.window import access_ends_at
from officehours.models import Registration, Session, WeeklySlot
from officehours.scheduling import (
    GenerationResult,
    cancel_session,
    generate_sessions,
    local_start,
    move_session,
    office_hours_window,
)
from tests.factories import OfficeHoursTierFactory, RunFactory, TierFactory, UserFactory

pytestmark = pytest.mark.django_db

MONDAY, WEDNESDAY, THURSDAY, SUNDAY = 0, 2, 3, 6


def utc(*args):
    return datetime(*args, tzinfo=UTC)


def make_run(*, starts_at, months=4, slug=None):
    run = RunFactory(starts_at=starts_at, **({"slug": slug} if slug else {}))
    TierFactory(run=run, months=2)
    OfficeHoursTierFactory(run=run, months=months)
    return run


def add_slot(run, *, weekday, at, zone, **extra):
    return WeeklySlot.objects.create(
        run=run, weekday=weekday, local_time=time.fromisoformat(at), timezone=zone,
        meeting_url="https://meet.example.org/office-hours", **extra,
    )  # fmt: skip


def starts(run, slot):
    return {s.slot_date: s.starts_at for s in Session.objects.filter(run=run, slot=slot)}


@pytest.fixture
def spring_run():
    """A run through the spring changes of 2027: Israel 26 March, EU 28 March, USA 14 March."""
    return make_run(starts_at=utc(2027, 3, 1))


@pytest.fixture
def autumn_run():
    """A run through the autumn changes of 2027: Israel and the EU on 31 October, the USA on 7 November."""
    return make_run(starts_at=utc(2027, 9, 1))


BEFORE_ALL = utc(2026, 1, 1)


def test_slots_keep_their_local_time_across_the_spring_changes_in_each_zone(spring_run):
    jerusalem = add_slot(spring_run, weekday=MONDAY, at="08:00", zone="Asia/Jerusalem")
    new_york = add_slot(spring_run, weekday=THURSDAY, at="18:00", zone="America/New_York")
    berlin = add_slot(spring_run, weekday=WEDNESDAY, at="19:00", zone="Europe/Berlin")

    generate_sessions(run=spring_run, now=BEFORE_ALL)

    at_jerusalem, at_new_york, at_berlin = (
        starts(spring_run, jerusalem),
        starts(spring_run, new_york),
        starts(spring_run, berlin),
    )
    # Jerusalem: IST (UTC+2) until Friday 26 March, then IDT (UTC+3).
    assert at_jerusalem[date(2027, 3, 22)] == utc(2027, 3, 22, 6, 0)
    assert at_jerusalem[date(2027, 3, 29)] == utc(2027, 3, 29, 5, 0)
    # New York: EST (UTC-5) until Sunday 14 March, then EDT (UTC-4), two weeks before Europe.
    assert at_new_york[date(2027, 3, 11)] == utc(2027, 3, 11, 23, 0)
    assert at_new_york[date(2027, 3, 18)] == utc(2027, 3, 18, 22, 0)
    # Berlin: still CET (UTC+1) on 24 March, while New York already changed; CEST (UTC+2) from 28 March.
    assert at_berlin[date(2027, 3, 24)] == utc(2027, 3, 24, 18, 0)
    assert at_berlin[date(2027, 3, 31)] == utc(2027, 3, 31, 17, 0)


def test_slots_keep_their_local_time_across_the_autumn_changes_in_each_zone(autumn_run):
    jerusalem = add_slot(autumn_run, weekday=MONDAY, at="08:00", zone="Asia/Jerusalem")
    new_york = add_slot(autumn_run, weekday=THURSDAY, at="18:00", zone="America/New_York")
    berlin = add_slot(autumn_run, weekday=WEDNESDAY, at="19:00", zone="Europe/Berlin")

    generate_sessions(run=autumn_run, now=BEFORE_ALL)

    at_jerusalem, at_new_york, at_berlin = (
        starts(autumn_run, jerusalem),
        starts(autumn_run, new_york),
        starts(autumn_run, berlin),
    )
    assert at_jerusalem[date(2027, 10, 25)] == utc(2027, 10, 25, 5, 0)
    assert at_jerusalem[date(2027, 11, 1)] == utc(2027, 11, 1, 6, 0)
    assert at_berlin[date(2027, 10, 27)] == utc(2027, 10, 27, 17, 0)
    assert at_berlin[date(2027, 11, 3)] == utc(2027, 11, 3, 18, 0)
    # New York changes a week after Europe: still EDT on Thursday 4 November.
    assert at_new_york[date(2027, 11, 4)] == utc(2027, 11, 4, 22, 0)
    assert at_new_york[date(2027, 11, 11)] == utc(2027, 11, 11, 23, 0)


def test_every_session_is_at_the_slots_local_time_and_weekday(spring_run):
    slot = add_slot(spring_run, weekday=THURSDAY, at="18:00", zone="America/New_York", duration_minutes=90)
    generate_sessions(run=spring_run, now=BEFORE_ALL)

    zone = zoneinfo.ZoneInfo("America/New_York")
    sessions = list(Session.objects.filter(slot=slot))
    assert len(sessions) == 17  # every Thursday from 4 March to 24 June 2027
    for session in sessions:
        local = session.starts_at.astimezone(zone)
        assert (local.weekday(), local.time(), local.date()) == (THURSDAY, time(18, 0), session.slot_date)
        assert session.ends_at - session.starts_at == timedelta(minutes=90)


def test_a_local_time_skipped_by_the_spring_change_moves_forward_by_the_gap():
    # 02:30 does not exist in New York on 14 March 2027 (02:00 EST → 03:00 EDT): it becomes 03:30 EDT.
    assert local_start(on=date(2027, 3, 14), at=time(2, 30), zone=zoneinfo.ZoneInfo("America/New_York")) == utc(
        2027, 3, 14, 7, 30
    )


def test_a_local_time_repeated_by_the_autumn_change_is_its_first_occurrence():
    # 01:30 happens twice in New York on 7 November 2027; the first is EDT (UTC-4).
    assert local_start(on=date(2027, 11, 7), at=time(1, 30), zone=zoneinfo.ZoneInfo("America/New_York")) == utc(
        2027, 11, 7, 5, 30
    )


def test_sessions_copy_the_slot_details(spring_run):
    slot = add_slot(spring_run, weekday=MONDAY, at="08:00", zone="Asia/Jerusalem", title="Monday office hours",
                    duration_minutes=45, capacity=20)  # fmt: skip
    generate_sessions(run=spring_run, now=BEFORE_ALL)

    session = Session.objects.filter(slot=slot).first()
    assert (session.title, session.duration_minutes, session.capacity, session.meeting_url) == (
        "Monday office hours", 45, 20, "https://meet.example.org/office-hours",
    )  # fmt: skip
    assert session.status == Session.Status.SCHEDULED
    assert session.sequence == 0


def test_the_window_ends_where_the_office_hours_tier_access_ends():
    run = make_run(starts_at=utc(2027, 3, 1), months=4)
    slot = add_slot(run, weekday=THURSDAY, at="18:00", zone="America/New_York")
    generate_sessions(run=run, now=BEFORE_ALL)

    window_end = access_ends_at(starts_at=run.starts_at, months=4)
    assert office_hours_window(run) == (run.starts_at, window_end)
    sessions = Session.objects.filter(slot=slot).order_by("starts_at")
    assert sessions.first().starts_at == utc(2027, 3, 4, 23, 0)
    assert sessions.last().starts_at == utc(2027, 6, 24, 22, 0)  # 1 July, the next Thursday, is past the window
    assert all(run.starts_at <= s.starts_at < window_end for s in sessions)


def test_a_run_without_an_office_hours_tier_gets_no_sessions():
    run = RunFactory(starts_at=utc(2027, 3, 1))
    TierFactory(run=run, months=2)
    add_slot(run, weekday=MONDAY, at="08:00", zone="Asia/Jerusalem")

    assert generate_sessions(run=run, now=BEFORE_ALL) == GenerationResult(created=0, existing=0)
    assert not Session.objects.filter(run=run).exists()


def test_sessions_that_would_start_before_now_are_not_generated(spring_run):
    slot = add_slot(spring_run, weekday=THURSDAY, at="18:00", zone="America/New_York")
    generate_sessions(run=spring_run, now=utc(2027, 6, 1))

    assert sorted(starts(spring_run, slot).values()) == [utc(2027, 6, d, 22, 0) for d in (3, 10, 17, 24)]


def test_generating_again_creates_nothing_and_leaves_moved_and_cancelled_sessions_alone(spring_run):
    slot = add_slot(spring_run, weekday=THURSDAY, at="18:00", zone="America/New_York")
    first = generate_sessions(run=spring_run, now=BEFORE_ALL)
    moved = Session.objects.get(slot=slot, slot_date=date(2027, 3, 18))
    move_session(session=moved, starts_at=utc(2027, 3, 19, 15, 0))
    cancelled = cancel_session(session=Session.objects.get(slot=slot, slot_date=date(2027, 3, 25)))
    Session.objects.get(slot=slot, slot_date=date(2027, 4, 1)).delete()

    again = generate_sessions(run=spring_run, now=BEFORE_ALL)

    assert (first.created, first.existing) == (17, 0)
    assert (again.created, again.existing) == (1, 16)
    assert generate_sessions(run=spring_run, now=BEFORE_ALL) == GenerationResult(created=0, existing=17)
    assert Session.objects.filter(slot=slot).count() == 17
    moved.refresh_from_db()
    cancelled.refresh_from_db()
    assert (moved.starts_at, moved.sequence, moved.status) == (utc(2027, 3, 19, 15, 0), 1, Session.Status.SCHEDULED)
    assert (cancelled.starts_at, cancelled.sequence, cancelled.status) == (
        utc(2027, 3, 25, 22, 0), 1, Session.Status.CANCELLED,
    )  # fmt: skip
    assert not Session.objects.filter(slot=slot, starts_at=utc(2027, 3, 18, 22, 0)).exists()


def test_generation_result_counts(spring_run):
    add_slot(spring_run, weekday=MONDAY, at="08:00", zone="Asia/Jerusalem")
    add_slot(spring_run, weekday=THURSDAY, at="18:00", zone="America/New_York")

    first = generate_sessions(run=spring_run, now=BEFORE_ALL)
    second = generate_sessions(run=spring_run, now=BEFORE_ALL)

    assert first.created == Session.objects.filter(run=spring_run).count() > 0
    assert (second.created, second.existing) == (0, first.created)


def test_command_generates_and_reports_counts(spring_run):
    add_slot(spring_run, weekday=THURSDAY, at="18:00", zone="America/New_York")
    spring_run.starts_at = utc(2099, 3, 1)  # in the future, so the command's "now" cuts nothing
    spring_run.save()
    out = StringIO()

    call_command("generate_office_hours", "--run", spring_run.slug, stdout=out)
    call_command("generate_office_hours", "--run", spring_run.slug, stdout=out)

    lines = out.getvalue().splitlines()
    assert lines[0].startswith(f"{spring_run.slug}: 17 sessions created, 0 already existed")
    assert lines[1].startswith(f"{spring_run.slug}: 0 sessions created, 17 already existed")


def test_command_refuses_an_unknown_run():
    with pytest.raises(CommandError, match="No run with the slug 'no-such-run'"):
        call_command("generate_office_hours", "--run", "no-such-run")


def test_command_refuses_a_run_without_office_hours():
    run = RunFactory()
    TierFactory(run=run)
    with pytest.raises(CommandError, match="no tier with office hours"):
        call_command("generate_office_hours", "--run", run.slug)


@pytest.fixture
def session(spring_run):
    slot = add_slot(spring_run, weekday=THURSDAY, at="18:00", zone="America/New_York")
    generate_sessions(run=spring_run, now=BEFORE_ALL)
    return Session.objects.get(slot=slot, slot_date=date(2027, 3, 18))  # 22:00 UTC


@pytest.fixture
def students(session):
    los_angeles = UserFactory(email="la@example.com", timezone="America/Los_Angeles")
    tokyo = UserFactory(email="tokyo@example.com", timezone="Asia/Tokyo")
    UserFactory(email="not-signed-up@example.com")
    for user in (los_angeles, tokyo):
        Registration.objects.create(session=session, user=user)
    return los_angeles, tokyo


def test_moving_a_session_bumps_its_sequence_and_emails_its_students_in_their_zones(
    session, students, mailoutbox, django_capture_on_commit_callbacks
):
    with django_capture_on_commit_callbacks(execute=True):
        move_session(session=session, starts_at=utc(2027, 3, 19, 16, 0))

    session.refresh_from_db()
    assert (session.starts_at, session.ends_at, session.sequence) == (
        utc(2027, 3, 19, 16, 0), utc(2027, 3, 19, 17, 0), 1,
    )  # fmt: skip
    by_address = {m.to[0]: m for m in mailoutbox}
    assert set(by_address) == {"la@example.com", "tokyo@example.com"}
    la, tokyo = by_address["la@example.com"], by_address["tokyo@example.com"]
    assert "moved" in la.subject
    # 16:00 UTC is 09:00 PDT in Los Angeles and 01:00 the next day in Tokyo.
    assert "Friday 19 March 2027, 09:00 to 10:00 (America/Los_Angeles)" in la.body
    assert "Saturday 20 March 2027, 01:00 to 02:00 (Asia/Tokyo)" in tokyo.body
    assert "Saturday 20 March 2027, 01:00 to 02:00 (Asia/Tokyo)" in tokyo.alternatives[0][0]


def test_cancelling_a_session_bumps_its_sequence_and_emails_its_students(
    session, students, mailoutbox, django_capture_on_commit_callbacks
):
    with django_capture_on_commit_callbacks(execute=True):
        cancel_session(session=session)

    session.refresh_from_db()
    assert (session.status, session.sequence) == (Session.Status.CANCELLED, 1)
    assert sorted(m.to[0] for m in mailoutbox) == ["la@example.com", "tokyo@example.com"]
    la = next(m for m in mailoutbox if m.to == ["la@example.com"])
    assert "cancelled" in la.subject
    assert "Thursday 18 March 2027, 15:00 (America/Los_Angeles)" in la.body


def test_cancelling_twice_or_moving_to_the_same_time_changes_and_sends_nothing_more(
    session, students, mailoutbox, django_capture_on_commit_callbacks
):
    with django_capture_on_commit_callbacks(execute=True):
        move_session(session=session, starts_at=session.starts_at)
    assert mailoutbox == []
    with django_capture_on_commit_callbacks(execute=True):
        cancel_session(session=session)
        cancel_session(session=session)
    session.refresh_from_db()
    assert session.sequence == 1
    assert len(mailoutbox) == 2


def test_no_email_is_sent_when_the_change_is_rolled_back(session, students, mailoutbox,
                                                         django_capture_on_commit_callbacks):  # fmt: skip
    with django_capture_on_commit_callbacks(execute=True) as callbacks:
        with pytest.raises(RuntimeError), transaction.atomic():
            cancel_session(session=session)
            raise RuntimeError
    assert callbacks == []
    assert mailoutbox == []


def test_moving_needs_an_aware_time(session):
    with pytest.raises(ValueError):
        move_session(session=session, starts_at=datetime(2027, 3, 19, 16, 0))  # noqa: DTZ001
