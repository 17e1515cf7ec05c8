"""The course home: syllabus with ticks, progress numbers, coming-soon dates, days left, where to continue."""

import math
import re
from datetime import UTC, datetime, time, timedelta
from zoneinfo import ZoneInfo

import pytest
from django.urls import reverse
from django.utils import timezone

from courses.models import LessonProgress
from enrollment.window import access_ends_at
from tests.factories import LessonFactory, RunFactory, SectionFactory, StaffFactory, TierFactory

pytestmark = pytest.mark.django_db

CONTINUE_LINK = re.compile(r'href="([^"]+)">(Continue where you left off|Start the course)</a>')


@pytest.fixture
def now():
    return timezone.now()


@pytest.fixture
def course_setup(now, settings):
    """Two sections of three lessons; the fifth lesson is coming soon (03:30 UTC, ten days ahead)."""
    settings.TIME_ZONE = "UTC"
    first = SectionFactory(title="First section", order=0)
    course = first.course
    second = SectionFactory(course=course, title="Second section", order=1)
    # Started three days ago, an hour later than now's hour, so "days left" does not hinge on seconds.
    run = RunFactory(course=course, starts_at=now - timedelta(days=3) + timedelta(hours=1))
    tier = TierFactory(run=run, months=2)
    release_at = datetime.combine(run.starts_at.date() + timedelta(days=13), time(3, 30), tzinfo=UTC)
    lessons = {}
    for position, slug in enumerate(["a", "b", "c"]):
        lessons[slug] = LessonFactory(section=first, slug=slug, title=f"Lesson {slug.upper()}", order=position)
    for position, slug in enumerate(["d", "e", "f"]):
        lessons[slug] = LessonFactory(
            section=second,
            slug=slug,
            title=f"Lesson {slug.upper()}",
            order=position,
            release_after_days=13 if slug == "e" else None,
            release_time=time(3, 30) if slug == "e" else None,  # in the site's zone, UTC here
        )
    return {"course": course, "lessons": lessons, "run": run, "tier": tier, "release_at": release_at}


@pytest.fixture
def student(log_in_student, course_setup):
    return log_in_student(run=course_setup["run"], tier=course_setup["tier"])


def home(client, course):
    response = client.get(reverse("courses:home", args=[course.slug]))
    assert response.status_code == 200
    return response.content.decode()


def touch(user, lesson, *, minutes_ago, completed=False):
    when = timezone.now() - timedelta(minutes=minutes_ago)
    return LessonProgress.objects.create(
        user=user, lesson=lesson, updated_at=when, completed_at=when if completed else None
    )


def continue_target(content):
    match = CONTINUE_LINK.search(content)
    assert match, "no continue/start button"
    return match.group(1), match.group(2)


def test_course_home_ticks_each_completed_lesson(client, student, course_setup):
    lessons = course_setup["lessons"]
    touch(student, lessons["a"], minutes_ago=30, completed=True)
    touch(student, lessons["d"], minutes_ago=20, completed=True)
    touch(student, lessons["b"], minutes_ago=10)  # started, not finished: no tick

    content = home(client, course_setup["course"])

    assert content.count('class="tick"') == 2
    rows = re.findall(r'<li class="lesson-row.*?</li>', content, flags=re.S)
    ticked = [row for row in rows if 'class="tick"' in row]
    assert len(ticked) == 2
    assert "Lesson A" in ticked[0] and "Lesson D" in ticked[1]


def test_course_home_shows_section_and_overall_progress(client, student, course_setup):
    lessons = course_setup["lessons"]
    touch(student, lessons["a"], minutes_ago=30, completed=True)
    touch(student, lessons["b"], minutes_ago=25, completed=True)
    touch(student, lessons["d"], minutes_ago=20, completed=True)

    content = home(client, course_setup["course"])

    assert "Your progress: <strong>3 of 6 lessons</strong> (50%)" in content
    assert 'aria-valuenow="50"' in content
    assert "2 of 3 done (67%)" in content
    assert "1 of 3 done (33%)" in content


def test_course_home_without_progress_shows_zero(client, student, course_setup):
    content = home(client, course_setup["course"])
    assert "Your progress: <strong>0 of 6 lessons</strong> (0%)" in content
    assert content.count("0 of 3 done (0%)") == 2
    assert 'class="tick"' not in content


def test_progress_in_another_course_does_not_count(client, student, course_setup):
    elsewhere = LessonFactory()
    touch(student, elsewhere, minutes_ago=1, completed=True)
    assert "0 of 6 lessons" in home(client, course_setup["course"])


def test_unreleased_lesson_shows_coming_soon_with_its_date_in_utc(client, student, course_setup):
    release_at = course_setup["release_at"]
    content = home(client, course_setup["course"])

    assert f"Coming soon: {release_at.day} {release_at:%b %Y}, 03:30" in content
    # Not a link: the lesson cannot be opened yet.
    assert f'href="{course_setup["lessons"]["e"].get_absolute_url()}"' not in content


def test_coming_soon_date_is_shown_in_the_users_time_zone(client, student, course_setup):
    student.timezone = "America/Los_Angeles"
    student.save()
    release_at = course_setup["release_at"]
    local = release_at.astimezone(ZoneInfo("America/Los_Angeles"))
    assert local.day != release_at.day  # 03:30 UTC is the evening before in Los Angeles

    content = home(client, course_setup["course"])

    assert f"Coming soon: {local.day} {local:%b %Y, %H:%M}" in content
    assert f"Coming soon: {release_at.day} {release_at:%b %Y}, 03:30" not in content
    assert "America/Los_Angeles" in content  # the footer names the zone


def test_course_home_shows_days_of_access_left(client, student, course_setup, now):
    run = course_setup["run"]
    ends_at = access_ends_at(starts_at=run.starts_at, months=course_setup["tier"].months)
    days = math.ceil((ends_at - now).total_seconds() / 86400)

    content = home(client, course_setup["course"])

    assert f'<span data-testid="days-left">{days} days left</span>' in content
    assert f"{timezone.localtime(ends_at):%H:%M}" in content


def test_new_student_is_offered_the_first_lesson(client, student, course_setup):
    href, label = continue_target(home(client, course_setup["course"]))
    assert href == course_setup["lessons"]["a"].get_absolute_url()
    assert label == "Start the course"


def test_continue_goes_to_the_last_touched_unfinished_lesson(client, student, course_setup):
    lessons = course_setup["lessons"]
    touch(student, lessons["a"], minutes_ago=60, completed=True)
    touch(student, lessons["d"], minutes_ago=5)  # the last one worked on, not finished
    touch(student, lessons["b"], minutes_ago=30)

    href, label = continue_target(home(client, course_setup["course"]))

    assert href == lessons["d"].get_absolute_url()
    assert label == "Continue where you left off"


def test_continue_goes_to_the_next_unfinished_lesson_after_a_completed_one(client, student, course_setup):
    lessons = course_setup["lessons"]
    touch(student, lessons["a"], minutes_ago=60, completed=True)
    touch(student, lessons["b"], minutes_ago=5, completed=True)

    href, label = continue_target(home(client, course_setup["course"]))

    assert href == lessons["c"].get_absolute_url()
    assert label == "Continue where you left off"


def test_continue_skips_a_lesson_that_is_not_released_yet(client, student, course_setup):
    lessons = course_setup["lessons"]
    touch(student, lessons["d"], minutes_ago=5, completed=True)  # next is "e", coming soon

    href, _label = continue_target(home(client, course_setup["course"]))

    assert href == lessons["f"].get_absolute_url()


def test_continue_wraps_to_an_earlier_unfinished_lesson(client, student, course_setup):
    lessons = course_setup["lessons"]
    touch(student, lessons["f"], minutes_ago=5, completed=True)  # the last lesson; "a" is still open

    href, _label = continue_target(home(client, course_setup["course"]))

    assert href == lessons["a"].get_absolute_url()


def test_staff_see_the_course_home_without_an_enrollment(client, course_setup):
    client.force_login(StaffFactory())
    content = home(client, course_setup["course"])
    assert "You see every lesson as staff." in content
    assert "days left" not in content
