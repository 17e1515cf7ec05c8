"""Migrating absolute release dates into days after the current run's start changes no opening instant for
that run's students; other runs then get dates of their own."""

from datetime import UTC, datetime, time, timedelta

import pytest
from django.db import connection
from django.db.migrations.executor import MigrationExecutor
from django.utils import timezone

from courses.content import every_content_changed
from courses.models import Lesson
from enrollment.models import ReleaseOverride, Run
from enrollment.releases import schedule_for

BEFORE = [("courses", "0001_initial"), ("enrollment", "0002_payments_stripe_events_sent_emails")]


def migrate(targets):
    executor = MigrationExecutor(connection)
    executor.loader.build_graph()
    executor.migrate(targets)
    every_content_changed()  # as `manage.py migrate` does (post_migrate): the rows changed without signals
    return executor.loader.project_state(targets).apps


def latest():
    return MigrationExecutor(connection).loader.graph.leaf_nodes()


@pytest.fixture
def old_apps(settings):
    settings.TIME_ZONE = "Europe/London"
    apps = migrate(BEFORE)
    yield apps
    migrate(latest())


def build(apps, *, slug, runs, releases):
    """A course with runs (start, months of the longest tier) and lessons (slug: release_at) in the old schema."""
    Course, Section, Lesson = (apps.get_model("courses", name) for name in ("Course", "Section", "Lesson"))
    Run, Tier = apps.get_model("enrollment", "Run"), apps.get_model("enrollment", "Tier")
    course = Course.objects.create(title=slug, slug=slug)
    section = Section.objects.create(course=course, title="Section")
    for position, (lesson_slug, release_at) in enumerate(releases.items()):
        Lesson.objects.create(course=course, section=section, title=lesson_slug, slug=lesson_slug, order=position,
                              release_at=release_at)  # fmt: skip
    for number, (starts_at, months) in enumerate(runs):
        run = Run.objects.create(course=course, title=f"{slug} {number}", slug=f"{slug}-{number}", starts_at=starts_at)
        Tier.objects.create(run=run, kind="standard", name="Standard", price="100.00", months=months)


@pytest.mark.django_db(transaction=True)
def test_every_opening_instant_of_the_current_run_is_unchanged(old_apps):
    now = timezone.now().replace(microsecond=0)
    current_start = (now - timedelta(days=20)).replace(hour=9, minute=0, second=0)
    before_current = current_start - timedelta(days=3)
    releases = {
        "open": None,
        "ahead": current_start + timedelta(days=25, hours=9, minutes=15),  # day 25 at 18:15
        "passed": current_start + timedelta(days=5, hours=-2),  # day 5 at 07:00
        "before-start": before_current,  # opened before the run began: open from its start
    }
    build(old_apps, slug="webrtc", releases=releases, runs=[
        (current_start - timedelta(days=200), 2),  # ended
        (current_start, 2),  # current
        (now + timedelta(days=30), 4),  # next, on sale
    ])  # fmt: skip
    # No run has started: the first run is the current one; a preview that opens before it must still do so.
    upcoming_start = now + timedelta(days=10)
    build(old_apps, slug="upcoming", releases={"teaser": now + timedelta(days=2)}, runs=[(upcoming_start, 2)])
    # 01:30 on 25 October 2026 happens twice in London; this is the second (GMT), which days and a time
    # of day alone would name as the first.
    repeat = datetime(2026, 10, 25, 1, 30, tzinfo=UTC)
    build(old_apps, slug="autumn", releases={"repeat": repeat}, runs=[(datetime(2026, 10, 1, 8, tzinfo=UTC), 4)])

    migrate(latest())

    current, next_run = Run.objects.get(slug="webrtc-1"), Run.objects.get(slug="webrtc-2")
    lessons = {lesson.slug: lesson for lesson in Lesson.objects.all()}
    schedule = schedule_for(current)
    assert schedule.opens_at(lessons["open"]) is None
    assert schedule.opens_at(lessons["ahead"]) == releases["ahead"]
    assert schedule.opens_at(lessons["passed"]) == releases["passed"]
    assert schedule.opens_at(lessons["before-start"]) is None  # open from the start, as it was for them
    assert (lessons["ahead"].release_after_days, lessons["ahead"].release_time) == (25, time(18, 15))
    assert schedule_for(Run.objects.get(slug="upcoming-0")).opens_at(lessons["teaser"]) == now + timedelta(days=2)
    assert schedule_for(Run.objects.get(slug="autumn-0")).opens_at(lessons["repeat"]) == repeat
    # Exact dates only where days could not say it.
    assert set(ReleaseOverride.objects.values_list("lesson__slug", flat=True)) == {"teaser", "repeat"}
    # The next cohort gets its own dates: day 25 at 18:15 London time after its own start.
    local_next = next_run.starts_at.astimezone(timezone.get_default_timezone())
    expected = datetime.combine(local_next.date() + timedelta(days=25), time(18, 15), tzinfo=local_next.tzinfo)
    assert schedule_for(next_run).opens_at(lessons["ahead"]) == expected
    assert expected > next_run.starts_at > now


@pytest.mark.django_db(transaction=True)
def test_migrating_back_restores_the_current_runs_dates(old_apps):
    now = timezone.now().replace(microsecond=0)
    start = now - timedelta(days=10)
    ahead = start + timedelta(days=12, hours=3)
    build(old_apps, slug="back", releases={"ahead": ahead, "open": None}, runs=[(start, 2)])
    migrate(latest())

    apps = migrate(BEFORE)

    OldLesson = apps.get_model("courses", "Lesson")
    assert dict(OldLesson.objects.values_list("slug", "release_at")) == {"ahead": ahead, "open": None}
