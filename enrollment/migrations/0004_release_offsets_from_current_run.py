"""Turn each lesson's absolute release_at into days and a time of day after its course's current run starts.

The current run: the latest started whose window (its longest tier) contains now, else the latest started, else
the first. Its students see exactly what they saw: where days and a time of day cannot name the same instant
(a release before the run's first day that is still ahead, or a daylight-saving repeat), the run gets a
ReleaseOverride with the old instant. Other runs get dates of their own from the offsets. A course without
runs has no students; its lessons are open from the start.
"""

import zoneinfo
from datetime import UTC, datetime, timedelta

from django.conf import settings
from django.db import migrations
from django.db.models import Max
from django.utils import timezone

from enrollment.window import access_ends_at


def current_run(Run, course, now):
    runs = list(Run.objects.filter(course=course).annotate(longest=Max('tiers__months')).order_by('starts_at', 'pk'))
    started = [run for run in runs if run.starts_at <= now]
    running = [
        run for run in started if run.longest and access_ends_at(starts_at=run.starts_at, months=run.longest) > now
    ]
    if running or started:
        return (running or started)[-1]
    return runs[0] if runs else None


def opens_at(days, time_of_day, run, zone):
    """As enrollment.releases.opens_at (copied: a migration keeps the rule of its day)."""
    if days is None:
        return None
    local_start = run.starts_at.astimezone(zone)
    moment = datetime.combine(local_start.date() + timedelta(days=days), time_of_day or local_start.time(), tzinfo=zone)
    return moment.astimezone(UTC)


def offsets_from_current_run(apps, schema_editor, now=None):
    Course = apps.get_model('courses', 'Course')
    Lesson = apps.get_model('courses', 'Lesson')
    Run = apps.get_model('enrollment', 'Run')
    ReleaseOverride = apps.get_model('enrollment', 'ReleaseOverride')
    now = now or timezone.now()
    zone = zoneinfo.ZoneInfo(settings.TIME_ZONE)
    for course in Course.objects.all():
        lessons = list(Lesson.objects.filter(course=course, release_at__isnull=False))
        if not lessons:
            continue
        run = current_run(Run, course, now)
        for lesson in lessons:
            lesson.release_after_days = lesson.release_time = None
            if run is not None:
                local_release = lesson.release_at.astimezone(zone)
                days = (local_release.date() - run.starts_at.astimezone(zone).date()).days
                if days >= 0:
                    # As stored: a time column keeps no fold, so a repeated hour's second pass needs the override.
                    lesson.release_after_days, lesson.release_time = days, local_release.time().replace(fold=0)
                computed = opens_at(lesson.release_after_days, lesson.release_time, run, zone)
                # None is "open"; it matches a release that has passed.
                matches = lesson.release_at <= now if computed is None else computed == lesson.release_at
                if not matches:
                    ReleaseOverride.objects.update_or_create(
                        run=run, lesson=lesson, defaults={'opens_at': lesson.release_at}
                    )
            lesson.save(update_fields=['release_after_days', 'release_time'])


def release_at_from_current_run(apps, schema_editor):
    """Back: each lesson's release_at is when it opens for its course's current run."""
    Course = apps.get_model('courses', 'Course')
    Lesson = apps.get_model('courses', 'Lesson')
    Run = apps.get_model('enrollment', 'Run')
    ReleaseOverride = apps.get_model('enrollment', 'ReleaseOverride')
    now = timezone.now()
    zone = zoneinfo.ZoneInfo(settings.TIME_ZONE)
    for course in Course.objects.all():
        run = current_run(Run, course, now)
        if run is None:
            continue
        overrides = dict(ReleaseOverride.objects.filter(run=run).values_list('lesson_id', 'opens_at'))
        for lesson in Lesson.objects.filter(course=course):
            when = overrides.get(lesson.pk) or opens_at(lesson.release_after_days, lesson.release_time, run, zone)
            if when is not None:
                Lesson.objects.filter(pk=lesson.pk).update(release_at=when)


class Migration(migrations.Migration):

    dependencies = [
        ('courses', '0002_lesson_release_offsets_course_is_published'),
        ('enrollment', '0003_releaseoverride'),
    ]

    operations = [
        migrations.RunPython(offsets_from_current_run, release_at_from_current_run),
    ]
