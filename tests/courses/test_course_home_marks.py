"""The course home marks lessons "new" (opened since the student's last visit) and "updated" (with the
instructor's note); the marks clear once the student has visited. The instructor marks a lesson updated in the admin.
"""

import re
from datetime import timedelta

import pytest
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import timezone

from courses import views
from courses.admin import CHANGE_NOTE_NEEDED
from courses.models import CourseVisit, Lesson
from courses.services import VISIT_GAP, VISIT_SEEN_EVERY, record_course_visit
from tests.factories import (
    EnrollmentFactory,
    LessonFactory,
    ReleaseOverrideFactory,
    RunFactory,
    SectionFactory,
    StaffFactory,
)

pytestmark = pytest.mark.django_db

NEW = re.compile(r'<a href="[^"]+">([^<]+)</a>\s*<span class="badge text-bg-info mark-new">New<span class="visually-hidden"> since your last visit</span>')  # noqa: E501
UPDATED = re.compile(r'<a href="[^"]+">([^<]+)</a>\s*<span class="badge text-bg-secondary mark-updated">Updated')


@pytest.fixture
def scene(client):
    """A run that started 10 days ago; "Opened today" opened an hour ago, "Next week" opens in a week."""
    now = timezone.now()
    section = SectionFactory(title="ICE")
    course = section.course
    run = RunFactory(course=course, starts_at=now - timedelta(days=10))
    lessons = {
        title: LessonFactory(section=section, title=title, slug=slug)
        for title, slug in (("From the start", "start"), ("Opened today", "today"), ("Next week", "next-week"))
    }
    ReleaseOverrideFactory(run=run, lesson=lessons["Opened today"], opens_at=now - timedelta(hours=1))
    ReleaseOverrideFactory(run=run, lesson=lessons["Next week"], opens_at=now + timedelta(days=7))
    student = EnrollmentFactory(run=run).user
    client.force_login(student)
    return course, run, lessons, student


def home(client, course):
    response = client.get(reverse("courses:home", args=[course.slug]))
    assert response.status_code == 200
    return response.content.decode()


def visited(student, course, *, ago):
    """As if the student's last visit ended `ago` (and the one before long before)."""
    CourseVisit.objects.update_or_create(
        user=student, course=course,
        defaults={"last_seen_at": timezone.now() - ago, "previous_visit_at": timezone.now() - timedelta(days=30)},
    )  # fmt: skip


def test_the_first_visit_marks_nothing_new(client, scene):
    course, _, _, student = scene
    page = home(client, course)
    assert NEW.findall(page) == [] and "since-last-visit" not in page
    assert CourseVisit.objects.get(user=student, course=course).previous_visit_at is None


def test_a_lesson_that_opened_since_the_last_visit_is_new_until_the_next_visit(client, scene):
    course, _, _, student = scene
    visited(student, course, ago=timedelta(hours=2))

    page = home(client, course)
    assert NEW.findall(page) == ["Opened today"]
    summary = r'Since your last visit \([^)]+\):\s*<strong>1 new</strong>: <a href="[^"]+/today/">Opened today</a>.'
    assert re.search(summary, page)
    assert home(client, course).count("mark-new") == 1  # back from a lesson in the same visit: still marked

    CourseVisit.objects.filter(user=student).update(last_seen_at=timezone.now() - VISIT_GAP - timedelta(minutes=1))
    page = home(client, course)  # the next visit
    assert NEW.findall(page) == [] and "mark-new" not in page and "since-last-visit" not in page


def test_a_lesson_coming_soon_or_open_from_the_start_is_never_new(client, scene):
    course, _, _, student = scene
    visited(student, course, ago=timedelta(days=20))  # before the run started

    page = home(client, course)
    assert NEW.findall(page) == ["Opened today"]
    assert "Coming soon" in page


def test_an_updated_lesson_shows_the_instructors_note_until_the_next_visit(client, scene):
    course, _, lessons, student = scene
    visited(student, course, ago=timedelta(hours=3))
    Lesson.objects.filter(pk=lessons["From the start"].pk).update(
        content_updated_at=timezone.now() - timedelta(minutes=40),
        change_note="Re-recorded the video with <b>sound</b>.",
    )
    # Updated before the visit: not news.
    Lesson.objects.filter(pk=lessons["Next week"].pk).update(
        content_updated_at=timezone.now() - timedelta(days=1), change_note="Old"
    )

    page = home(client, course)
    assert UPDATED.findall(page) == ["From the start"]
    assert "What changed (" in page and "Re-recorded the video with &lt;b&gt;sound&lt;/b&gt;." in page
    assert re.search(r'<strong>1 updated</strong>: <a href="[^"]+/start/">From the start</a>.', page)

    CourseVisit.objects.filter(user=student).update(last_seen_at=timezone.now() - VISIT_GAP - timedelta(minutes=1))
    page = home(client, course)
    assert "mark-updated" not in page and "Re-recorded" not in page


def test_one_students_visit_clears_nobody_elses_marks(client, scene):
    course, run, _, student = scene
    other = EnrollmentFactory(run=run).user
    visited(student, course, ago=timedelta(hours=2))
    visited(other, course, ago=timedelta(hours=2))

    home(client, course)
    home(client, course)
    client.force_login(other)
    assert NEW.findall(home(client, course)) == ["Opened today"]


def test_recording_a_visit_is_one_statement(scene, django_assert_num_queries):
    course, _, _, student = scene
    now = timezone.now()
    with django_assert_num_queries(1):
        assert record_course_visit(user=student, course=course, now=now) is None
    with django_assert_num_queries(1):
        assert record_course_visit(user=student, course=course, now=now + timedelta(minutes=5)) is None
    later = now + timedelta(minutes=5) + VISIT_GAP + timedelta(seconds=1)
    assert record_course_visit(user=student, course=course, now=later) == now + timedelta(minutes=5)
    # A view out of order (an older clock) never moves the last view back.
    record_course_visit(user=student, course=course, now=now)
    assert CourseVisit.objects.get(user=student).last_seen_at == later


def test_a_view_a_moment_after_the_last_one_writes_nothing(scene):
    course, _, _, student = scene
    now = timezone.now()
    long_ago = now - VISIT_GAP - timedelta(hours=1)
    record_course_visit(user=student, course=course, now=long_ago)
    assert record_course_visit(user=student, course=course, now=now) == long_ago

    soon = now + VISIT_SEEN_EVERY - timedelta(seconds=1)
    assert record_course_visit(user=student, course=course, now=soon) == long_ago  # the same visit
    assert CourseVisit.objects.get(user=student).last_seen_at == now  # not written

    later = now + VISIT_SEEN_EVERY + timedelta(seconds=1)
    assert record_course_visit(user=student, course=course, now=later) == long_ago
    assert CourseVisit.objects.get(user=student).last_seen_at == later


def test_the_marks_cost_the_course_home_one_query(client, scene, monkeypatch):
    course, _, _, student = scene
    url = reverse("courses:home", args=[course.slug])
    client.get(url)

    def count():
        with CaptureQueriesContext(connection) as queries:
            assert client.get(url).status_code == 200
        return len(queries)

    with_marks = count()
    with monkeypatch.context() as patched:
        patched.setattr(views, "record_course_visit", lambda **kwargs: None)
        without = count()
    assert with_marks == without + 1


# ---------------------------------------------------------------------------------------------------------
# The admin


@pytest.fixture
def admin_client(db):
    client = Client()
    client.force_login(StaffFactory(is_superuser=True))
    return client


def lesson_form(lesson, **changes):
    data = {"section": lesson.section_id, "title": lesson.title, "slug": lesson.slug, "estimated_minutes": 10,
            "video_url": "", "video_minutes": 0, "transcript": "", "body": lesson.body, "change_note": "",
            "resources-TOTAL_FORMS": "0", "resources-INITIAL_FORMS": "0"}  # fmt: skip
    return data | changes


def test_the_instructor_marks_a_lesson_updated_with_a_note(admin_client, scene):
    _, _, lessons, _ = scene
    lesson = lessons["From the start"]
    url = reverse("admin:courses_lesson_change", args=[lesson.pk])
    page = admin_client.get(url).content.decode()
    assert "Mark as updated for students" in page and "What changed" in page

    before = timezone.now()
    response = admin_client.post(url, lesson_form(lesson, body="Better.", mark_updated="on",
                                                  change_note="New diagrams of the call flow."))  # fmt: skip
    assert response.status_code == 302
    lesson.refresh_from_db()
    assert lesson.change_note == "New diagrams of the call flow."
    assert lesson.content_updated_at >= before
    marked_at = lesson.content_updated_at

    # Saving again without the box (a typo in the note) moves no mark.
    admin_client.post(url, lesson_form(lesson, change_note="New diagrams of the call flows."))
    lesson.refresh_from_db()
    assert (lesson.change_note, lesson.content_updated_at) == ("New diagrams of the call flows.", marked_at)


def test_marking_a_lesson_updated_without_a_note_is_a_form_error_that_changes_nothing(admin_client, scene):
    _, _, lessons, _ = scene
    lesson = lessons["From the start"]
    url = reverse("admin:courses_lesson_change", args=[lesson.pk])

    response = admin_client.post(url, lesson_form(lesson, body="Changed", title="Renamed", mark_updated="on"))

    assert response.status_code == 200
    assert CHANGE_NOTE_NEEDED in response.content.decode()
    assert 'value="Renamed"' in response.content.decode()  # what was typed is kept
    lesson.refresh_from_db()
    assert (lesson.title, lesson.content_updated_at) == ("From the start", None)


def test_a_new_lesson_is_not_offered_the_updated_mark(admin_client, scene):
    page = admin_client.get(reverse("admin:courses_lesson_add")).content.decode()
    assert "Mark as updated for students" not in page


def test_students_see_the_admins_mark_on_their_course_home(admin_client, scene, client):
    course, _, lessons, student = scene
    lesson = lessons["Opened today"]
    admin_client.post(reverse("admin:courses_lesson_change", args=[lesson.pk]),
                      lesson_form(lesson, mark_updated="on", change_note="Fixed the SDP example."))  # fmt: skip
    client.force_login(student)
    visited(student, course, ago=timedelta(minutes=45))  # after it opened, before the update

    page = home(client, course)
    assert UPDATED.findall(page) == ["Opened today"] and "Fixed the SDP example." in page
