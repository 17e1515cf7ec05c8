"""The demo seed builds the announced course, and running it again changes nothing."""

from datetime import timedelta
from io import StringIO

import pytest
from django.apps import apps
from django.core import serializers
from django.core.files.storage import default_storage
from django.core.management import call_command
from django.utils import timezone

from accounts.models import User
from courses.models import Course, Lesson, LessonProgress
from enrollment.access import can_open_lesson, can_view_course_home
from enrollment.models import Enrollment, Run, Tier

pytestmark = pytest.mark.django_db

SEEDED_APPS = ["accounts", "courses", "enrollment"]


def dump():
    """Serialise every row of the seeded apps, in a stable order."""
    parts = []
    for label in SEEDED_APPS:
        for model in apps.get_app_config(label).get_models():
            parts.append(serializers.serialize("json", model.objects.order_by("pk")))
    return parts


def seed():
    call_command("seed_demo", stdout=StringIO())


@pytest.fixture
def seeded():
    seed()
    return Course.objects.get()


def test_running_seed_demo_twice_gives_the_same_database(seeded):
    before = dump()
    seed()
    assert dump() == before


def test_seed_demo_builds_seven_sections_of_three_to_six_lessons(seeded):
    sections = list(seeded.sections.all())
    assert len(sections) == 7
    for section in sections:
        assert 3 <= section.lessons.count() <= 6, section.title
    assert seeded.faq_entries.exists()
    assert Lesson.objects.filter(is_free_preview=True).exists()


def test_seed_demo_has_exactly_one_coming_soon_lesson_a_week_ahead(seeded):
    now = timezone.now()
    upcoming = list(Lesson.objects.filter(release_at__gt=now))
    assert len(upcoming) == 1
    assert abs(upcoming[0].release_at - (now + timedelta(days=7))) <= timedelta(hours=1)
    assert Lesson.objects.filter(release_at__isnull=True).count() == Lesson.objects.count() - 1


def test_seed_demo_has_a_current_run_and_a_next_run_on_sale(seeded):
    now = timezone.now()
    current = Run.objects.get(starts_at__lte=now)
    upcoming = Run.objects.get(starts_at__gt=now)

    assert abs(current.starts_at - (now - timedelta(days=3))) <= timedelta(hours=1)
    assert abs(upcoming.starts_at - (now + timedelta(days=30))) <= timedelta(hours=1)
    assert upcoming.enrollment_open
    for run in (current, upcoming):
        assert set(run.tiers.values_list("kind", flat=True)) == {Tier.Kind.STANDARD, Tier.Kind.OFFICE_HOURS}
        assert set(run.tiers.values_list("months", flat=True)) == {2, 4}


def test_seed_demo_has_one_staff_user_and_two_students_one_per_tier(seeded):
    assert User.objects.filter(is_staff=True).count() == 1
    current = Run.objects.get(starts_at__lte=timezone.now())
    enrollments = Enrollment.objects.filter(run=current).select_related("user", "tier")
    assert enrollments.count() == 2
    assert {e.tier.kind for e in enrollments} == {Tier.Kind.STANDARD, Tier.Kind.OFFICE_HOURS}
    assert all(not e.user.is_staff and e.status == Enrollment.Status.ACTIVE for e in enrollments)
    assert not Enrollment.objects.exclude(run=current).exists()


def test_demo_student_can_open_a_lesson_right_away(seeded, client):
    student = Enrollment.objects.get(tier__kind=Tier.Kind.STANDARD).user
    lesson = Lesson.objects.filter(course=seeded, release_at__isnull=True, is_free_preview=False).first()

    assert can_view_course_home(student, seeded)
    assert can_open_lesson(student, lesson)
    client.force_login(student)
    assert client.get(lesson.get_absolute_url()).status_code == 200
    video = client.get(lesson.get_absolute_url() + "video/")
    assert video.status_code == 200


def test_demo_students_can_log_in_with_the_printed_password(seeded, client):
    assert client.login(username="student@example.com", password="learn-webrtc-2026")


def test_seed_demo_shows_progress_for_the_standard_student(seeded):
    student = Enrollment.objects.get(tier__kind=Tier.Kind.STANDARD).user
    assert LessonProgress.objects.filter(user=student, completed_at__isnull=False).count() == 2


def test_seed_demo_stores_the_lesson_media(seeded):
    lesson = Lesson.objects.exclude(video_file="").first()
    assert default_storage.exists(lesson.video_file.name)
    assert default_storage.exists(lesson.captions.name)
