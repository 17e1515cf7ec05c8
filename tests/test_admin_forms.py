"""The admin never answers 500 to a save the database would refuse: each is a form error and nothing changes.

The lesson, tier, enrollment and session cases have their own tests beside their apps; these are the rest
of the unique and check constraints an instructor can reach from an admin form.
"""

import pytest
from django.urls import reverse

from accounts.admin import EMAIL_TAKEN
from accounts.models import User
from courses.models import LessonProgress
from forum.models import Board
from officehours.models import WeeklySlot
from tests.factories import (
    BoardFactory,
    CourseFactory,
    LessonFactory,
    LessonProgressFactory,
    RunFactory,
    StaffFactory,
    UserFactory,
)

pytestmark = pytest.mark.django_db


@pytest.fixture
def admin_client(client):
    client.force_login(StaffFactory(is_superuser=True))
    return client


def test_a_board_slug_taken_in_the_course_is_a_form_error(admin_client):
    course = CourseFactory()
    BoardFactory(course=course, slug="questions")
    before = list(Board.objects.values_list("pk", "slug", "title"))
    data = {"course": course.pk, "title": "Questions again", "slug": "questions", "description": "", "order": 0}
    response = admin_client.post(reverse("admin:forum_board_add"), data)
    assert response.status_code == 200 and "already exists" in response.content.decode()
    assert list(Board.objects.values_list("pk", "slug", "title")) == before


def test_an_email_taken_in_another_case_is_a_form_error(admin_client):
    UserFactory(email="ada@example.com")
    data = {"email": "ADA@example.com", "usable_password": "false", "password1": "", "password2": ""}
    response = admin_client.post(reverse("admin:accounts_user_add"), data)
    assert response.status_code == 200
    assert EMAIL_TAKEN.format(email="ADA@example.com") in response.content.decode().replace("&#x27;", "'")
    assert User.objects.filter(email__iexact="ada@example.com").count() == 1


def test_a_weekly_slot_of_no_length_is_a_form_error(admin_client):
    run = RunFactory()
    data = {"run": run.pk, "title": "Office hours", "weekday": 0, "local_time": "08:00", "timezone": "UTC",
            "duration_minutes": 0, "meeting_url": "https://meet.example.org/x", "capacity": ""}  # fmt: skip
    response = admin_client.post(reverse("admin:officehours_weeklyslot_add"), data)
    assert response.status_code == 200 and "errornote" in response.content.decode()
    assert not WeeklySlot.objects.exists()


def test_a_second_progress_row_for_one_student_and_lesson_is_a_form_error(admin_client):
    progress = LessonProgressFactory(lesson=LessonFactory())
    data = {"user": progress.user_id, "lesson": progress.lesson_id, "completed_at_0": "", "completed_at_1": "",
            "video_position": 0, "updated_at_0": "2030-01-01", "updated_at_1": "10:00"}  # fmt: skip
    response = admin_client.post(reverse("admin:courses_lessonprogress_add"), data)
    assert response.status_code == 200 and "already exists" in response.content.decode()
    assert LessonProgress.objects.count() == 1
