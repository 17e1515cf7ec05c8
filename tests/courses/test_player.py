"""The course player: the outline beside a lesson, "Complete and continue", "Next", and the 90 % video rule."""

import re
from datetime import UTC, datetime, time, timedelta
from zoneinfo import ZoneInfo

import pytest
from django.contrib.auth.models import AnonymousUser
from django.contrib.messages import get_messages
from django.urls import reverse

from courses.models import LessonProgress
from courses.views import MARKED_COMPLETE, NEXT_OPENS, NO_LESSON_LEFT
from enrollment.access import course_access
from tests.factories import EnrollmentFactory, LessonFactory, RunFactory, SectionFactory, StaffFactory, UserFactory

from .test_access_matrix import USERS, build_world
from .test_queries import build_course, count_queries

pytestmark = pytest.mark.django_db

TOKYO = ZoneInfo("Asia/Tokyo")


@pytest.fixture
def course(settings):
    """A run that started 3 days ago; section one: first, second (locked), third; section two: fourth (locked)."""
    settings.TIME_ZONE = "UTC"
    run = RunFactory()
    one = SectionFactory(course=run.course, title="One", order=0)
    two = SectionFactory(course=run.course, title="Two", order=1)
    lessons = {
        "first": LessonFactory(section=one, slug="first", title="First", order=0),
        "second": LessonFactory(
            section=one, slug="second", title="Second", order=1, release_after_days=10, release_time=time(3, 30)
        ),
        "third": LessonFactory(section=one, slug="third", title="Third", order=2),
        "fourth": LessonFactory(
            section=two, slug="fourth", title="Fourth", order=0, release_after_days=20, release_time=time(3, 30)
        ),
    }
    return run, lessons


@pytest.fixture
def student(client, course):
    run, _ = course
    user = EnrollmentFactory(run=run, user=UserFactory(timezone="Asia/Tokyo")).user
    client.force_login(user)
    return user


def opens(run, days):
    return datetime.combine(run.starts_at.date() + timedelta(days=days), time(3, 30), tzinfo=UTC)


def in_tokyo(when, fmt="%B %Y, %H:%M"):
    local = when.astimezone(TOKYO)
    return f"{local.day} {local:{fmt}}"


def complete_url(lesson):
    return reverse("courses:lesson_complete", args=[lesson.course.slug, lesson.slug])


def position_url(lesson):
    return reverse("courses:lesson_position", args=[lesson.course.slug, lesson.slug])


def completed(user, lesson):
    return LessonProgress.objects.filter(user=user, lesson=lesson, completed_at__isnull=False).exists()


def test_complete_and_continue_skips_locked_lessons(client, course, student):
    _, lessons = course

    response = client.post(complete_url(lessons["first"]), {"completed": "1", "continue": "1"})

    assert response.status_code == 302
    assert response["Location"] == lessons["third"].get_absolute_url()
    assert completed(student, lessons["first"])
    page = client.get(response["Location"]).content.decode()
    assert MARKED_COMPLETE in page
    assert "<h1>Third</h1>" in page


def test_complete_and_continue_twice_gives_the_same_answer_and_one_completion(client, course, student):
    _, lessons = course
    first = client.post(complete_url(lessons["first"]), {"continue": "1"})
    when = LessonProgress.objects.get(user=student, lesson=lessons["first"]).completed_at

    again = client.post(complete_url(lessons["first"]), {"continue": "1"})

    assert first["Location"] == again["Location"] == lessons["third"].get_absolute_url()
    assert LessonProgress.objects.filter(user=student, lesson=lessons["first"]).count() == 1
    assert LessonProgress.objects.get(user=student, lesson=lessons["first"]).completed_at == when


def test_complete_and_continue_at_the_last_open_lesson_goes_home_and_says_what_opens_next(client, course, student):
    run, lessons = course

    response = client.post(complete_url(lessons["third"]), {"continue": "1"})

    assert response["Location"] == reverse("courses:home", args=[run.course.slug])
    assert completed(student, lessons["third"])
    expected = NO_LESSON_LEFT + " " + NEXT_OPENS.format(title="Fourth", when=in_tokyo(opens(run, 20)))
    assert [str(message) for message in get_messages(response.wsgi_request)] == [expected]


def test_mark_complete_without_continue_stays_on_the_lesson(client, course, student):
    _, lessons = course
    response = client.post(complete_url(lessons["first"]), {"completed": "1"})
    assert response["Location"] == lessons["first"].get_absolute_url()


def test_complete_and_continue_is_refused_for_a_lesson_the_user_may_not_open(client, course, student):
    run, lessons = course
    locked = client.post(complete_url(lessons["second"]), {"continue": "1"})
    assert locked.status_code == 403
    assert not LessonProgress.objects.filter(lesson=lessons["second"]).exists()

    client.force_login(UserFactory())  # not enrolled
    stranger = client.post(complete_url(lessons["first"]), {"continue": "1"})
    assert stranger.status_code == 403
    assert not LessonProgress.objects.filter(lesson=lessons["first"]).exists()


def test_next_never_points_at_a_locked_lesson(client, course, student):
    run, lessons = course
    page = client.get(lessons["first"].get_absolute_url()).content.decode()

    next_links = re.findall(r'<a href="([^"]+)" rel="next"', page)
    assert next_links == [lessons["third"].get_absolute_url()]
    assert f"Coming later: “Second” opens on {in_tokyo(opens(run, 10))}." in page

    last = client.get(lessons["third"].get_absolute_url()).content.decode()
    assert 'rel="next"' not in last
    assert f"Next: “Fourth” opens on {in_tokyo(opens(run, 20))}." in last
    assert re.findall(r'<a href="([^"]+)" rel="prev"', last) == [lessons["first"].get_absolute_url()]


def test_outline_shows_ticks_the_current_lesson_and_locks_with_their_dates(client, course, student):
    run, lessons = course
    client.post(complete_url(lessons["first"]), {"completed": "1"})

    page = client.get(lessons["third"].get_absolute_url()).content.decode()
    outline = page[page.index('id="course-outline"') : page.index("</nav>", page.index('class="outline"'))]

    rows = dict(re.findall(r'data-lesson="([a-z]+)">(.*?)</li>', outline, re.S))
    assert "Completed:" in rows["first"] and "Completed:" not in rows["third"]
    assert 'aria-current="page"' in rows["third"] and 'aria-current="page"' not in rows["first"]
    for slug, days in (("second", 10), ("fourth", 20)):
        assert "Locked:" in rows[slug]
        assert "<a " not in rows[slug]  # not a link
        assert f"Opens {in_tokyo(opens(run, days), '%b %Y, %H:%M')}" in rows[slug]
    assert lessons["second"].get_absolute_url() not in page
    assert "1 of 4 lessons done" in re.sub(r"<[^>]+>", "", outline)
    assert 'data-bs-target="#course-outline"' in page  # the phone's drawer button


def test_staff_outline_links_locked_lessons_too(client, course):
    _, lessons = course
    client.force_login(StaffFactory())
    page = client.get(lessons["first"].get_absolute_url()).content.decode()
    assert f'href="{lessons["second"].get_absolute_url()}"' in page


def test_lesson_page_with_outline_costs_a_fixed_number_of_queries(client, django_assert_max_num_queries):
    student = UserFactory()
    _, small_lesson = build_course("small-course", sections=3, lessons_per_section=3, student=student)
    _, large_lesson = build_course("large-course", sections=40, lessons_per_section=25, student=student)
    client.force_login(student)
    small = count_queries(client, small_lesson.get_absolute_url())
    # The outline is cached per content version and run; the student's ticks are one query (their passed quizzes
    # one more when the course has published ones).
    assert small <= 6
    client.get(large_lesson.get_absolute_url())
    with django_assert_max_num_queries(small):
        response = client.get(large_lesson.get_absolute_url())
    content = response.content.decode()
    # A large course's outline lists the lessons of the current lesson's section; the 39 others are headings
    # that load theirs on demand (test_outline_sections.py).
    assert content.count('class="outline-lesson') == 25
    assert content.count('class="section-toggle"') == 40


# The 90 % rule: the server completes a lesson once the furthest point reached is 90 % of the video.


@pytest.fixture
def video_lesson(course):
    _, lessons = course
    return lessons["first"]


def test_watching_less_than_90_percent_does_not_complete(client, student, video_lesson):
    response = client.post(position_url(video_lesson), {"seconds": "53", "duration": "60"})
    assert response.json() == {"saved": 53.0, "completed": False}
    assert not completed(student, video_lesson)


def test_reaching_90_percent_completes_the_lesson_once(client, student, video_lesson):
    response = client.post(position_url(video_lesson), {"seconds": "54", "duration": "60"})
    assert response.json() == {"saved": 54.0, "completed": True}
    when = LessonProgress.objects.get(user=student, lesson=video_lesson).completed_at
    assert when is not None

    client.post(position_url(video_lesson), {"seconds": "60", "duration": "60"})
    assert LessonProgress.objects.get(user=student, lesson=video_lesson).completed_at == when


def test_the_furthest_point_counts_not_the_last_one(client, student, video_lesson):
    client.post(position_url(video_lesson), {"seconds": "57"})  # no duration: nothing completes
    assert not completed(student, video_lesson)

    response = client.post(position_url(video_lesson), {"seconds": "12", "duration": "60"})

    assert response.json()["completed"] is True
    assert completed(student, video_lesson)


@pytest.mark.parametrize("duration", ["", "abc", "0", "-60", "nan", "inf", "86400"])
def test_a_bad_duration_is_refused_and_changes_nothing(client, student, video_lesson, duration):
    client.post(position_url(video_lesson), {"seconds": "20"})
    before = list(LessonProgress.objects.values_list("video_position", "furthest_position", "completed_at"))

    response = client.post(position_url(video_lesson), {"seconds": "59", "duration": duration})

    assert response.status_code == 400
    assert "duration" in response.json()["error"]
    assert list(LessonProgress.objects.values_list("video_position", "furthest_position", "completed_at")) == before


def test_watching_to_the_end_is_refused_for_a_user_who_may_not_open_the_lesson(client, course, student):
    _, lessons = course
    locked = client.post(position_url(lessons["second"]), {"seconds": "60", "duration": "60"})
    assert locked.status_code == 403
    client.force_login(UserFactory())
    stranger = client.post(position_url(lessons["first"]), {"seconds": "60", "duration": "60"})
    assert stranger.status_code == 403
    assert not LessonProgress.objects.exists()


def test_a_completed_lesson_stays_completed_whatever_the_video_says(client, student, video_lesson):
    client.post(complete_url(video_lesson), {"completed": "1"})
    when = LessonProgress.objects.get(user=student, lesson=video_lesson).completed_at

    response = client.post(position_url(video_lesson), {"seconds": "3", "duration": "60"})

    assert response.json()["completed"] is True
    assert LessonProgress.objects.get(user=student, lesson=video_lesson).completed_at == when


def test_a_completed_lesson_offers_to_continue_to_the_next_open_lesson(client, course, student):
    _, lessons = course
    client.post(complete_url(lessons["first"]), {"completed": "1"})

    page = client.get(lessons["first"].get_absolute_url()).content.decode()

    assert "Complete and continue" not in page
    assert "Mark as not complete" in page
    assert f'<a class="btn btn-primary" href="{lessons["third"].get_absolute_url()}">Continue' in page


@pytest.mark.parametrize("user_kind", USERS)
def test_may_open_agrees_with_the_lesson_policy_for_every_visitor(user_kind):
    world = build_world(user_kind)
    access = course_access(world.user or AnonymousUser(), world.course)
    may_open = access.may_open()
    for lesson in world.lessons.values():
        assert may_open(lesson) == bool(access.lesson(lesson)), (user_kind, lesson.slug)
