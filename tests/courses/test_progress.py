"""Marking a lesson complete and remembering the video position."""

from datetime import timedelta

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import timezone

from courses.models import LessonProgress
from courses.services import record_lesson_opened, record_video_position, set_lesson_completed
from courses.views import MARKED_COMPLETE, MARKED_INCOMPLETE
from tests.factories import LessonFactory, SectionFactory

pytestmark = pytest.mark.django_db


@pytest.fixture
def lesson():
    return LessonFactory(slug="lesson-one")


@pytest.fixture
def student(log_in_student, lesson):
    return log_in_student(course=lesson.course)


def complete_url(lesson):
    return reverse("courses:lesson_complete", args=[lesson.course.slug, lesson.slug])


def position_url(lesson):
    return reverse("courses:lesson_position", args=[lesson.course.slug, lesson.slug])


def test_posting_completed_creates_a_completion(client, student, lesson):
    response = client.post(complete_url(lesson), {"completed": "1"}, follow=True)

    progress = LessonProgress.objects.get(user=student, lesson=lesson)
    assert progress.completed_at is not None
    assert response.redirect_chain[-1][0] == lesson.get_absolute_url()
    assert MARKED_COMPLETE in response.content.decode()
    assert "You completed this lesson on" in response.content.decode()


def test_posting_completed_twice_keeps_one_row_and_the_first_time(client, student, lesson):
    client.post(complete_url(lesson), {"completed": "1"})
    first = LessonProgress.objects.get(user=student, lesson=lesson).completed_at

    client.post(complete_url(lesson), {"completed": "1"})

    assert LessonProgress.objects.filter(user=student, lesson=lesson).count() == 1
    assert LessonProgress.objects.get(user=student, lesson=lesson).completed_at == first


def test_posting_not_completed_undoes_the_completion(client, student, lesson):
    client.post(complete_url(lesson), {"completed": "1"})

    response = client.post(complete_url(lesson), {"completed": "0"}, follow=True)

    assert LessonProgress.objects.get(user=student, lesson=lesson).completed_at is None
    assert MARKED_INCOMPLETE in response.content.decode()


def test_completing_keeps_the_video_position(client, student, lesson):
    record_video_position(user=student, lesson=lesson, seconds=33)
    client.post(complete_url(lesson), {"completed": "1"})
    assert LessonProgress.objects.get(user=student, lesson=lesson).video_position == 33


def test_set_lesson_completed_is_idempotent_and_keeps_the_first_time(lesson, student):
    first = timezone.now() - timedelta(days=1)
    set_lesson_completed(user=student, lesson=lesson, completed=True, now=first)
    progress = set_lesson_completed(user=student, lesson=lesson, completed=True, now=first + timedelta(hours=2))
    assert progress.completed_at == first
    assert progress.updated_at == first + timedelta(hours=2)
    assert LessonProgress.objects.count() == 1


def test_position_endpoint_stores_seconds(client, student, lesson):
    response = client.post(position_url(lesson), {"seconds": "61.5"})

    assert response.status_code == 200
    assert response.json() == {"saved": 61.5}
    assert LessonProgress.objects.get(user=student, lesson=lesson).video_position == 61.5

    client.post(position_url(lesson), {"seconds": "90"})
    assert LessonProgress.objects.get(user=student, lesson=lesson).video_position == 90
    assert LessonProgress.objects.filter(user=student, lesson=lesson).count() == 1


@pytest.mark.parametrize("seconds", ["abc", "", "-1", "-0.5", "nan", "inf", "1e400", "86400", "12s", None])
def test_position_endpoint_rejects_bad_seconds_and_changes_nothing(client, student, lesson, seconds):
    record_video_position(user=student, lesson=lesson, seconds=20)
    before = list(LessonProgress.objects.values_list("video_position", "updated_at", "completed_at"))

    response = client.post(position_url(lesson), {} if seconds is None else {"seconds": seconds})

    assert response.status_code == 400
    assert "error" in response.json()
    assert list(LessonProgress.objects.values_list("video_position", "updated_at", "completed_at")) == before


def test_bad_position_creates_no_progress_row(client, student, lesson):
    assert client.post(position_url(lesson), {"seconds": "-5"}).status_code == 400
    assert not LessonProgress.objects.exists()


def test_lesson_page_resumes_at_the_stored_position(client, student, lesson):
    lesson.video_url = "https://www.youtube.com/watch?v=dQw4w9WgXcQ"
    lesson.save()
    record_video_position(user=student, lesson=lesson, seconds=75.9)

    content = client.get(lesson.get_absolute_url()).content.decode()

    assert "youtube-nocookie.com/embed/dQw4w9WgXcQ?rel=0&amp;start=75" in content


def test_progress_of_one_lesson_does_not_touch_another(client, student, lesson):
    other = LessonFactory(section=SectionFactory(course=lesson.course), slug="lesson-two")
    client.post(complete_url(lesson), {"completed": "1"})
    assert not LessonProgress.objects.filter(lesson=other).exists()


def test_furthest_position_only_moves_forward(client, student, lesson):
    for seconds in ("30", "95.5", "12"):
        assert client.post(position_url(lesson), {"seconds": seconds}).status_code == 200

    progress = LessonProgress.objects.get(user=student, lesson=lesson)
    assert (progress.video_position, progress.furthest_position) == (12, 95.5)


def test_record_video_position_returns_the_furthest_point(lesson, student):
    record_video_position(user=student, lesson=lesson, seconds=40)
    progress = record_video_position(user=student, lesson=lesson, seconds=10)

    assert (progress.video_position, progress.furthest_position) == (10, 40)


def test_opening_a_lesson_records_the_first_opening_only(client, student, lesson):
    client.get(lesson.get_absolute_url())
    first = LessonProgress.objects.get(user=student, lesson=lesson)
    client.get(lesson.get_absolute_url())

    again = LessonProgress.objects.get(user=student, lesson=lesson)
    assert (again.pk, again.updated_at, again.completed_at, again.video_position) == (
        first.pk,
        first.updated_at,
        None,
        0,
    )


def test_opening_a_lesson_again_writes_nothing_and_returns_the_students_row(lesson, student, on_postgres):
    first = record_lesson_opened(user=student, lesson=lesson)
    set_lesson_completed(user=student, lesson=lesson, completed=True)
    record_video_position(user=student, lesson=lesson, seconds=42)

    with CaptureQueriesContext(connection) as queries:
        again = record_lesson_opened(user=student, lesson=lesson)

    assert len(queries) == 1
    assert again.pk == first.pk and again.video_position == 42 and again.completed_at is not None
    row = LessonProgress.objects.get(pk=first.pk)
    assert again.updated_at == row.updated_at


def test_the_first_opening_is_one_statement_too(lesson, student, on_postgres, django_assert_num_queries):
    with django_assert_num_queries(1):
        progress = record_lesson_opened(user=student, lesson=lesson)
    assert LessonProgress.objects.get(user=student, lesson=lesson).pk == progress.pk
    assert (progress.completed_at, progress.video_position, progress.furthest_position) == (None, 0, 0)
