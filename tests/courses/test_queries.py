"""Page queries do not grow with the size of the course."""

from datetime import timedelta

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import timezone

from courses.markdown import render_markdown
from courses.models import Course, Lesson, LessonProgress, Section
from enrollment import announcements
from tests.factories import (
    AnnouncementDismissalFactory,
    AnnouncementFactory,
    EnrollmentFactory,
    FileResourceFactory,
    ResourceFactory,
    RunFactory,
    UserFactory,
)

pytestmark = pytest.mark.django_db

MAX_QUERIES = 8
# The course home and the lesson page: the session and its user, the student's enrollments (the access policy),
# the visit or the opening of the lesson, the student's progress, and the certificate card or the lesson's forum
# threads. The outline, the course and the lesson are read from the cache under the content version.
PAGE_QUERIES = 6
BODY = "Some *text* and a [link](https://example.org)."


def build_course(slug, *, sections, lessons_per_section, student):
    """Build the course with bulk_create (Lesson.save's course and body_html are set by hand)."""
    now = timezone.now()
    course = Course.objects.create(title=slug, slug=slug, is_published=True)
    Section.objects.bulk_create(
        [Section(course=course, title=f"Section {i}", summary=f"Summary {i}", order=i) for i in range(sections)]
    )
    body_html = render_markdown(BODY)
    lessons = []
    for section in Section.objects.filter(course=course):
        for i in range(lessons_per_section):
            lessons.append(
                Lesson(
                    course=course,
                    section=section,
                    title=f"{section.title} lesson {i}",
                    slug=f"s{section.order}-l{i}",
                    order=i,
                    body=BODY,
                    body_html=body_html,
                    video_minutes=3,
                    # every tenth lesson is coming soon
                    release_after_days=7 if (section.order + i) % 10 == 9 else None,  # the run started 3 days ago
                )
            )
    Lesson.objects.bulk_create(lessons)
    ordered = list(Lesson.objects.filter(course=course).in_syllabus_order())
    progress = []
    for index, lesson in enumerate(ordered[::2]):
        when = now - timedelta(minutes=len(ordered) - index)
        progress.append(
            LessonProgress(
                user=student,
                lesson=lesson,
                updated_at=when,
                completed_at=when if index % 3 else None,
                video_position=float(index),
            )
        )
    LessonProgress.objects.bulk_create(progress)
    lesson = ordered[len(ordered) // 2]
    ResourceFactory(lesson=lesson)
    FileResourceFactory(lesson=lesson)
    EnrollmentFactory(user=student, run=RunFactory(course=course))
    return course, lesson


def count_queries(client, url):
    client.get(url)  # warm up anything cached per process
    with CaptureQueriesContext(connection) as queries:
        response = client.get(url)
    assert response.status_code == 200
    return len(queries)


@pytest.fixture
def courses(client):
    student = UserFactory()
    small = build_course("small-course", sections=7, lessons_per_section=5, student=student)
    large = build_course("large-course", sections=50, lessons_per_section=40, student=student)
    assert Lesson.objects.filter(course=large[0]).count() == 2000
    assert LessonProgress.objects.filter(user=student, lesson__course=large[0]).count() == 1000
    client.force_login(student)
    return small, large


def test_course_home_queries_do_not_grow_with_the_course(client, courses, django_assert_num_queries):
    (small, _), (large, _) = courses
    small_count = count_queries(client, reverse("courses:home", args=[small.slug]))
    assert small_count <= PAGE_QUERIES
    client.get(reverse("courses:home", args=[large.slug]))
    with django_assert_num_queries(small_count):  # on failure, lists the queries
        response = client.get(reverse("courses:home", args=[large.slug]))
    assert "of 40 done" in response.content.decode()


def test_lesson_page_queries_do_not_grow_with_the_course(client, courses, django_assert_num_queries):
    (_, small_lesson), (_, large_lesson) = courses
    small_count = count_queries(client, small_lesson.get_absolute_url())
    assert small_count <= PAGE_QUERIES
    client.get(large_lesson.get_absolute_url())
    with django_assert_num_queries(small_count):
        response = client.get(large_lesson.get_absolute_url())
    assert response.status_code == 200
    assert "Reading" in response.content.decode()


def test_landing_page_queries_do_not_grow_with_the_course(client, courses):
    (small, _), (large, _) = courses
    small_count = count_queries(client, reverse("courses:landing", args=[small.slug]))
    large_count = count_queries(client, reverse("courses:landing", args=[large.slug]))
    assert small_count == large_count
    assert large_count <= MAX_QUERIES


def test_course_home_announcements_cost_one_query_whatever_their_number(client, courses, monkeypatch):
    (small, _), _ = courses
    url = reverse("courses:home", args=[small.slug])
    student = LessonProgress.objects.filter(lesson__course=small).first().user
    run = student.enrollments.get(run__course=small).run
    with monkeypatch.context() as patched:
        patched.setattr(announcements, "for_course_home", lambda access: [])
        without = count_queries(client, url)

    AnnouncementFactory(run=run, published_at=timezone.now())
    one = count_queries(client, url)
    many = [AnnouncementFactory(run=run, published_at=timezone.now()) for _ in range(30)]
    for announcement in many[:10]:
        AnnouncementDismissalFactory(announcement=announcement, user=student)
    thirty_one = count_queries(client, url)

    assert one == thirty_one == without + 1
    assert client.get(url).content.decode().count('class="card border-primary-subtle mb-3 announcement"') == 21
