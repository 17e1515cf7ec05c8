"""Office-hours scheduling: sessions generated from weekly slots, and single sessions moved or cancelled.

A slot's time is a wall-clock time in the slot's own zone, so a Monday 08:00 Asia/Jerusalem session
stays at 08:00 in Jerusalem across daylight-saving changes, and its UTC instant moves by the hour.
"""

import zoneinfo
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta

from django.db import transaction
from django.db.models import Max
from django.utils import timezone

from enrollment.models import Run
from enrollment.window import access_ends_at

from . import change_emails
from .models import Session, WeeklySlot
from .tasks import notify_session_changed

MOVED = "moved"
CANCELLED = "cancelled"


@dataclass(frozen=True)
class GenerationResult:
    created: int
    existing: int


def office_hours_window(run: Run) -> tuple[datetime, datetime] | None:
    """Return (start, end) of the run's office hours: its start to the end of its office-hours tier's access.

    None when no tier of the run includes office hours.
    """
    months = run.tiers.filter(includes_office_hours=True).aggregate(months=Max("months"))["months"]
    if not months:
        return None
    return run.starts_at, access_ends_at(starts_at=run.starts_at, months=months)


def local_start(*, on: date, at: time, zone: zoneinfo.ZoneInfo) -> datetime:
    """Return the UTC instant of wall-clock time `at` on date `on` in `zone`.

    An ambiguous time (the repeated hour when clocks go back) is its first occurrence (fold=0). A time
    that does not exist (the skipped hour when clocks go forward) is read with the offset in force
    before the change, as zoneinfo does for fold=0, which lands it the length of the gap later:
    02:30 America/New_York on a spring-forward day is 07:30 UTC, i.e. 03:30 EDT.
    """
    return datetime.combine(on, at, tzinfo=zone).astimezone(UTC)


def occurrences(*, slot: WeeklySlot, starts_at: datetime, ends_at: datetime) -> list[tuple[date, datetime]]:
    """Return (local date, UTC start) of each session of the slot that starts in [starts_at, ends_at)."""
    zone = zoneinfo.ZoneInfo(slot.timezone)
    day = starts_at.astimezone(zone).date()
    day += timedelta(days=(slot.weekday - day.weekday()) % 7)
    last_day = ends_at.astimezone(zone).date()
    found = []
    while day <= last_day:
        start = local_start(on=day, at=slot.local_time, zone=zone)
        if starts_at <= start < ends_at:
            found.append((day, start))
        day += timedelta(days=7)
    return found


def generate_sessions(*, run: Run, now: datetime | None = None) -> GenerationResult:
    """Create the missing sessions of every weekly slot of the run, within its office-hours window.

    Sessions that start before `now` are not created: a slot added mid-run gets no past sessions.
    Existing sessions, moved or cancelled ones too, are left as they are: a session is found by its
    slot and the slot's local date (unique together), not by its time.
    """
    now = now or timezone.now()
    window = office_hours_window(run)
    if window is None:
        return GenerationResult(created=0, existing=0)
    starts_at, ends_at = max(window[0], now), window[1]
    wanted = []
    for slot in run.office_hour_slots.all():
        for day, start in occurrences(slot=slot, starts_at=starts_at, ends_at=ends_at):
            wanted.append(
                Session(
                    run=run,
                    slot=slot,
                    slot_date=day,
                    title=slot.title,
                    starts_at=start,
                    ends_at=start + timedelta(minutes=slot.duration_minutes),
                    duration_minutes=slot.duration_minutes,
                    meeting_url=slot.meeting_url,
                    capacity=slot.capacity,
                )
            )
    with transaction.atomic():
        before = Session.objects.filter(run=run, slot__isnull=False).count()
        Session.objects.bulk_create(wanted, ignore_conflicts=True)
        created = Session.objects.filter(run=run, slot__isnull=False).count() - before
    return GenerationResult(created=created, existing=len(wanted) - created)


def _notify_after_commit(session: Session, change: str) -> None:
    """Queue the change's email to each signed-up student with the change, and deliver them once it commits."""
    session_id, sequence = session.pk, session.sequence
    change_emails.queue(session=session, change=change, sequence=sequence)
    transaction.on_commit(lambda: notify_session_changed.delay(session_id, change, sequence), robust=True)


def move_session(*, session: Session, starts_at: datetime) -> Session:
    """Move the session to `starts_at` (aware), bump its calendar sequence and email its students.

    Locks the session row; moving it to the time it has already changes nothing and sends nothing.
    """
    if timezone.is_naive(starts_at):
        raise ValueError("starts_at must be an aware datetime.")
    with transaction.atomic():
        locked = Session.objects.select_for_update().get(pk=session.pk)
        if locked.starts_at == starts_at:
            return locked
        locked.starts_at = starts_at
        locked.sequence += 1
        locked.save(update_fields=["starts_at", "ends_at", "sequence"])
        _notify_after_commit(locked, MOVED)
    session.starts_at, session.ends_at, session.sequence = locked.starts_at, locked.ends_at, locked.sequence
    return locked


def cancel_session(*, session: Session) -> Session:
    """Cancel the session, bump its calendar sequence and email its students. Locks the session row.

    Cancelling a cancelled session changes nothing and sends nothing.
    """
    with transaction.atomic():
        locked = Session.objects.select_for_update().get(pk=session.pk)
        if locked.status == Session.Status.CANCELLED:
            return locked
        locked.status = Session.Status.CANCELLED
        locked.sequence += 1
        locked.save(update_fields=["status", "ends_at", "sequence"])
        _notify_after_commit(locked, CANCELLED)
    session.status, session.sequence = locked.status, locked.sequence
    return locked


def revise_session(*, session: Session) -> Session:
    """Bump the calendar sequence after a change calendar apps must see but students need no email for.

    A new title or length, or a cancelled session scheduled again. Locks the session row.
    """
    with transaction.atomic():
        locked = Session.objects.select_for_update().get(pk=session.pk)
        locked.sequence += 1
        locked.save(update_fields=["sequence"])
    session.sequence = locked.sequence
    return locked
