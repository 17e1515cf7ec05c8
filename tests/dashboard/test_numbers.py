"""The dashboard's numbers against the hand-built class of conftest.py."""

from datetime import timedelta

import pytest
from django.urls import reverse

from courses.services import record_video_position
from dashboard import selectors
from dashboard.selectors import BEHIND, INACTIVE, NOT_STARTED, Filters

pytestmark = pytest.mark.django_db


def facts_of(klass):
    return selectors.run_facts(klass.run, now=klass.now)


def emails(rows):
    return [row.student_email for row in rows]


def test_released_counts_follow_the_runs_dates(klass):
    facts = facts_of(klass)
    assert (facts.lesson_count, facts.released_now, facts.behind_below, facts.video_seconds) == (4, 3, 2, 1500)


def test_each_students_row_has_the_known_numbers(klass):
    facts = facts_of(klass)
    rows = {row.student_email: row for row in selectors.students(facts)}
    assert sorted(rows) == ["ada@example.com", "bob@example.com", "cy@example.com", "dee@example.com"]
    zone = klass.now.tzinfo
    cells = {email: selectors.student_cells(row, facts=facts, zone=zone) for email, row in rows.items()}
    assert cells["ada@example.com"][6:] == ["2 of 4", "50 %", "50 %"]
    assert cells["bob@example.com"][6:] == ["1 of 4", "25 %", "20 %"]
    assert cells["cy@example.com"][6:] == ["0 of 4", "0 %", "0 %"]
    assert cells["dee@example.com"][5:] == ["never", "0 of 4", "0 %", "0 %"]
    assert cells["bob@example.com"][:3] == ["Bob Tester", "bob@example.com", "With office hours"]
    # Last activity: the latest of progress and forum posts (bob's reply two days ago beats his lesson 20 days ago).
    assert rows["bob@example.com"].last_activity == klass.now - timedelta(days=2)
    assert rows["ada@example.com"].last_activity == klass.now - timedelta(days=1)
    # Access ends: the tier's months from the run's start, or the extension.
    assert rows["bob@example.com"].access_ends == klass.students["bob"].access_ends_at
    assert rows["ada@example.com"].access_ends == klass.students["ada"].access_ends_at


@pytest.mark.parametrize(
    ("show", "expected"),
    [
        ("", ["ada", "bob", "cy", "dee"]),
        (NOT_STARTED, ["dee"]),
        (BEHIND, ["bob", "cy", "dee"]),
        (INACTIVE, ["cy", "dee"]),
    ],
)
def test_filters_pick_the_right_students(klass, show, expected):
    rows = selectors.students(facts_of(klass), Filters(show=show))
    assert emails(rows) == [f"{name}@example.com" for name in expected]


def test_tier_filter(klass):
    rows = selectors.students(facts_of(klass), Filters(tier=klass.office_hours.pk))
    assert emails(rows) == ["bob@example.com"]


@pytest.mark.parametrize(
    ("sort", "expected"),
    [
        ("-percent", ["ada", "bob", "cy", "dee"]),
        ("percent", ["cy", "dee", "bob", "ada"]),
        ("-watched", ["ada", "bob", "cy", "dee"]),
        ("-last_activity", ["ada", "bob", "cy", "dee"]),
        ("last_activity", ["dee", "cy", "bob", "ada"]),
        ("-tier", ["bob", "ada", "cy", "dee"]),
        ("-email", ["dee", "cy", "bob", "ada"]),
    ],
)
def test_sorting(klass, sort, expected):
    facts = facts_of(klass)
    filters = selectors.parse_filters({"sort": sort}, facts=facts)
    assert emails(selectors.students(facts, filters)) == [f"{name}@example.com" for name in expected]


def test_unknown_filters_fall_back_to_everyone_by_name(klass):
    facts = facts_of(klass)
    filters = selectors.parse_filters({"sort": "-password", "show": "drop table", "tier": "99999"}, facts=facts)
    assert filters == Filters()


def test_behind_waits_two_weeks_after_a_lesson_opens(klass):
    """Lesson 3 opened 10 days ago: completing 2 lessons is not behind yet; in 5 days it will be."""
    facts = selectors.run_facts(klass.run, now=klass.now + timedelta(days=5))
    assert facts.behind_below == 3
    assert "ada@example.com" in emails(selectors.students(facts, Filters(show=BEHIND)))
    assert "ada@example.com" not in emails(selectors.students(facts_of(klass), Filters(show=BEHIND)))


def test_lesson_funnel_and_drop_off(klass):
    stats = selectors.lesson_stats(facts_of(klass))
    l1, l2, l3, l4 = stats
    assert [(s.students, s.opened, s.completed) for s in stats] == [(4, 3, 2), (4, 1, 1), (4, 0, 0), (4, 0, 0)]
    assert (l1.opened_percent, l1.completed_percent, l1.watched_percent) == (75, 50, 50)
    assert (l2.watched_percent, l3.watched_percent, l4.watched_percent) == (50, None, 0)
    # L1 is 600 s: all three reached 0 %, ada and bob (300 s) half of it, only ada the end.
    assert l1.reached == [3, 2, 2, 2, 2, 2, 1, 1, 1, 1, 1]
    assert l2.reached == [1, 1, 1, 1, 1, 1, 0, 0, 0, 0, 0]
    assert not l3.has_video and l3.reached == []


def test_video_positions_raise_the_drop_off(klass):
    cy = klass.students["cy"].user
    record_video_position(user=cy, lesson=klass.lessons[0], seconds=590)
    record_video_position(user=cy, lesson=klass.lessons[0], seconds=20)  # went back: the furthest point stays
    l1 = selectors.lesson_stats(facts_of(klass))[0]
    assert l1.reached == [3, 3, 3, 3, 3, 3, 2, 2, 2, 2, 1]


def test_activity_per_day(klass):
    days = selectors.activity(facts_of(klass))
    assert len(days) == selectors.ACTIVITY_DAYS
    today = days[-1].day
    counts = {(today - day.day).days: day.students for day in days if day.students}
    # bob and cy 20 days ago; ada 10, 3 (her thread) and 1 day ago; bob's reply 2 days ago; eve (refunded) never.
    assert counts == {20: 2, 10: 1, 3: 1, 2: 1, 1: 1}


def test_pages_show_the_numbers(client, klass):
    client.force_login(klass.staff)
    table = client.get(reverse("dashboard:students", args=[klass.run.slug]), {"show": "behind", "sort": "-percent"})
    content = table.content.decode()
    assert content.index("bob@example.com") < content.index("cy@example.com") < content.index("dee@example.com")
    assert "ada@example.com" not in content
    assert "3 students match these filters" in content
    lessons = client.get(reverse("dashboard:lessons", args=[klass.run.slug])).content.decode()
    assert "3 (75 %)" in lessons and "2 (50 %)" in lessons
    assert 'role="img"' in lessons and '<title id="funnel-title">' in lessons
    assert "Lesson 1: opened 75 %, completed 50 %, watched 50 % of the video on average." in lessons
    activity = client.get(reverse("dashboard:activity", args=[klass.run.slug])).content.decode()
    assert "The busiest day was" in activity and "with 2 students" in activity
