"""The demo seed builds the announced course, and running it again changes nothing in any app."""

from datetime import timedelta
from io import StringIO

import pytest
from django.apps import apps
from django.core import serializers
from django.core.files.storage import default_storage
from django.core.management import CommandError, call_command
from django.utils import timezone

from accounts.models import User
from courses.models import Course, Lesson, LessonProgress
from demo.management.commands.seed_demo import DEBUG_OFF
from enrollment.access import can_open_lesson, can_view_course_home
from enrollment.models import Enrollment, Run, SentEmail, Tier
from enrollment.releases import schedule_for
from forum.models import Board
from officehours.models import Session, WeeklySlot

pytestmark = pytest.mark.django_db

# Rows the seed writes through each app's services (or their signals); a snapshot without them proves nothing.
SEEDED_MODELS = [User, Course, Lesson, Run, Tier, Enrollment, SentEmail, LessonProgress, Board, WeeklySlot, Session]


def every_model():
    return [model for model in apps.get_models() if model._meta.managed and not model._meta.proxy]


def row_counts():
    return {model._meta.label: model._default_manager.count() for model in every_model()}


def dump():
    """Serialise every row of every model of every installed app, in a stable order."""
    return {
        model._meta.label: serializers.serialize("json", model._default_manager.order_by("pk"))
        for model in every_model()
    }


def seed(*args):
    out = StringIO()
    call_command("seed_demo", *args, stdout=out)
    return out.getvalue()


@pytest.fixture
def seeded(settings):
    settings.DEBUG = True  # as `make run` runs it; pytest-django runs tests with DEBUG off
    seed()
    return Course.objects.get()


def test_running_seed_demo_twice_changes_nothing_in_any_app(seeded):
    counts, before = row_counts(), dump()
    assert all(counts[model._meta.label] for model in SEEDED_MODELS), counts

    seed()

    assert row_counts() == counts
    assert dump() == before


def test_seed_demo_refuses_to_run_with_debug_off(settings):
    settings.DEBUG = False
    with pytest.raises(CommandError) as refused:
        seed()
    assert str(refused.value) == DEBUG_OFF
    assert "--force" in DEBUG_OFF
    assert not Course.objects.exists() and not User.objects.exists()


def test_seed_demo_with_force_runs_with_debug_off(settings, client):
    settings.DEBUG = False
    assert "Demo course ready" in seed("--force")
    assert Enrollment.objects.filter(status=Enrollment.Status.ACTIVE).count() == 2
    assert client.login(username="instructor@example.com", password="teach-webrtc-2026")


def test_seed_demo_gives_the_course_its_forum_boards_and_the_office_hours_run_its_sessions(seeded):
    assert Board.objects.filter(course=seeded).count() == 3
    current = Run.objects.get(starts_at__lte=timezone.now())
    assert WeeklySlot.objects.filter(run=current).count() == 2
    assert Session.objects.filter(run=current, starts_at__gt=timezone.now()).exists()


def test_demo_students_get_no_prelaunch_email_now_or_later(seeded, mailoutbox):
    assert mailoutbox == []
    emails = list(SentEmail.objects.values_list("kind", "status"))
    assert emails == [(SentEmail.Kind.PRELAUNCH, SentEmail.Status.SKIPPED)] * 2


def test_seed_demo_builds_seven_sections_of_three_to_six_lessons(seeded):
    sections = list(seeded.sections.all())
    assert len(sections) == 7
    for section in sections:
        assert 3 <= section.lessons.count() <= 6, section.title
    assert seeded.faq_entries.exists()
    assert Lesson.objects.filter(is_free_preview=True).exists()


def test_seed_demo_has_exactly_one_coming_soon_lesson_a_week_ahead(seeded):
    now = timezone.now()
    current = Run.objects.get(starts_at__lte=now)
    releases = schedule_for(current)
    upcoming = [lesson for lesson in Lesson.objects.all() if not releases.is_released(lesson, at=now)]
    assert len(upcoming) == 1
    assert abs(releases.opens_at(upcoming[0]) - (now + timedelta(days=7))) <= timedelta(hours=1)
    assert Lesson.objects.filter(release_after_days__isnull=True).count() == Lesson.objects.count() - 1


def test_seed_demo_next_run_has_its_own_future_release_dates(seeded):
    now = timezone.now()
    current, upcoming = Run.objects.get(starts_at__lte=now), Run.objects.get(starts_at__gt=now)
    lesson = Lesson.objects.get(release_after_days__isnull=False)
    assert schedule_for(upcoming).opens_at(lesson) - schedule_for(current).opens_at(lesson) == (
        upcoming.starts_at - current.starts_at
    )
    assert schedule_for(upcoming).opens_at(lesson) > upcoming.starts_at > now


def test_seed_demo_course_is_published(seeded):
    assert seeded.is_published


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
    lesson = Lesson.objects.filter(course=seeded, release_after_days__isnull=True, is_free_preview=False).first()

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


def test_the_run_on_sale_lists_its_office_hours_on_the_landing_page(seeded, client):
    upcoming = Run.objects.get(enrollment_open=True)
    assert WeeklySlot.objects.filter(run=upcoming).count() == 2
    page = client.get(seeded.get_absolute_url()).content.decode()
    assert "Office hours: Mondays 08:00 Asia/Jerusalem and Thursdays 18:00 America/New_York" in page


def test_the_demo_landing_page_has_a_course_image_an_instructor_photo_and_a_bio(seeded, client):
    course = Course.objects.get()
    assert (course.image_width, course.image_height) == (1600, 900) and course.image_alt
    content = client.get(course.get_absolute_url()).content.decode()
    assert f'alt="{course.image_alt}"' in content
    assert 'alt="Photo of Dana Rivers"' in content
    assert "Dana Rivers has built real-time video products" in content
    assert client.get(course.image_url).status_code == 200
