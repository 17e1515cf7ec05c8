"""When a lesson opens for a run: computed here and nowhere else.

A lesson opens `release_after_days` days after its run starts, at `release_time` (or the run's own time of
day) on the site's calendar (settings.TIME_ZONE, the calendar the access window is counted on too); a lesson
without days is open from the run's start. A run's ReleaseOverride for a lesson beats both. So every run
gets its own dates, and the next cohort's "coming soon" lessons are in its own future.
"""

import functools
import zoneinfo
from dataclasses import dataclass, field
from datetime import UTC, datetime, time, timedelta

from django.conf import settings

from courses.content import built, content_version

from .models import ReleaseOverride, Run


def opens_at(lesson, *, run, override: datetime | None = None) -> datetime | None:
    """Return when the lesson opens for the run's students, or None when it is open from the run's start."""
    if override is not None:
        return override
    if lesson.release_after_days is None:
        return None
    return _opening(run.starts_at, lesson.release_after_days, lesson.release_time, settings.TIME_ZONE)


@functools.lru_cache(maxsize=8192)
def _opening(starts_at: datetime, days: int, at: time | None, zone_name: str) -> datetime:
    """The moment `days` after `starts_at` on the calendar of `zone_name`, at `at` (else the start's time of day).

    Remembered: an outline asks it for every lesson of the course on every lesson page.
    """
    zone = zoneinfo.ZoneInfo(zone_name)
    local_start = starts_at.astimezone(zone)
    day = local_start.date() + timedelta(days=days)
    moment = datetime.combine(day, at or local_start.time(), tzinfo=zone)
    return moment.astimezone(UTC)


@dataclass(frozen=True)
class ReleaseSchedule:
    """The release dates of one run (None: a course without runs, whose lessons wait for no date)."""

    run: Run | None
    overrides: dict[int, datetime] = field(default_factory=dict)

    def opens_at(self, lesson) -> datetime | None:
        if self.run is None:
            return None
        return opens_at(lesson, run=self.run, override=self.overrides.get(lesson.pk))

    def is_released(self, lesson, *, at: datetime) -> bool:
        when = self.opens_at(lesson)
        return when is None or when <= at


def schedule_for(run: Run | None) -> ReleaseSchedule:
    """Return the run's release dates (its overrides: one query, then cached under the course's content version,
    which a saved override or run changes)."""
    if run is None:
        return ReleaseSchedule(run=None)
    overrides = built(
        f"release-overrides:{run.pk}",
        lambda: dict(ReleaseOverride.objects.filter(run=run).values_list("lesson_id", "opens_at")),
        version=content_version(run.course_id),
    )
    return ReleaseSchedule(run=run, overrides=overrides)
