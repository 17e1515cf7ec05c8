"""The demo seed builds the announced course in its third week, and running it again changes nothing in any app."""

from datetime import timedelta
from io import BytesIO, StringIO

import pytest
from django.apps import apps
from django.core import serializers
from django.core.files.storage import default_storage
from django.core.management import CommandError, call_command
from django.urls import reverse
from django.utils import timezone
from pypdf import PdfReader

from accounts.models import User
from courses.models import Choice, Course, Lesson, LessonProgress, Question, Quiz, QuizAttempt
from courses.quizzes import passed_every_quiz
from demo.management.commands._demo_activity import FINISHED
from demo.management.commands.seed_demo import DEBUG_OFF
from enrollment import certificates
from enrollment.access import can_open_lesson, can_view_course_home
from enrollment.models import (
    Announcement,
    AnnouncementDismissal,
    AnnouncementEmail,
    Certificate,
    Enrollment,
    Run,
    SentEmail,
    Tier,
)
from enrollment.releases import schedule_for
from forum.models import Board, Post, Thread
from officehours.models import Session, WeeklySlot

pytestmark = pytest.mark.django_db

# Rows the seed writes through each app's services (or their signals); a snapshot without them proves nothing.
SEEDED_MODELS = [
    User, Course, Lesson, Run, Tier, Enrollment, SentEmail, LessonProgress, Board, WeeklySlot, Session,
    Thread, Post, Announcement, AnnouncementEmail, AnnouncementDismissal, Quiz, Question, Choice, QuizAttempt,
    Certificate,
]  # fmt: skip


def current_run():
    return Run.objects.get(slug="webrtc-current")


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
    assert Enrollment.objects.filter(status=Enrollment.Status.ACTIVE).count() == 3
    assert client.login(username="instructor@example.com", password="teach-webrtc-2026")


def test_seed_demo_gives_the_course_its_forum_boards_and_the_office_hours_run_its_sessions(seeded):
    assert Board.objects.filter(course=seeded).count() == 3
    current = current_run()
    assert WeeklySlot.objects.filter(run=current).count() == 2
    assert Session.objects.filter(run=current, starts_at__gt=timezone.now()).exists()


def test_demo_students_get_no_prelaunch_email_now_or_later(seeded, mailoutbox):
    assert mailoutbox == []
    emails = list(SentEmail.objects.values_list("kind", "status"))
    assert emails == [(SentEmail.Kind.PRELAUNCH, SentEmail.Status.SKIPPED)] * 3


def test_seed_demo_builds_seven_sections_of_three_to_six_lessons(seeded):
    sections = list(seeded.sections.all())
    assert len(sections) == 7
    for section in sections:
        assert 3 <= section.lessons.count() <= 6, section.title
    assert seeded.faq_entries.exists()
    assert Lesson.objects.filter(is_free_preview=True).exists()


def test_seed_demo_has_exactly_one_coming_soon_lesson_a_week_ahead(seeded):
    now = timezone.now()
    current = current_run()
    releases = schedule_for(current)
    upcoming = [lesson for lesson in Lesson.objects.all() if not releases.is_released(lesson, at=now)]
    assert len(upcoming) == 1
    assert abs(releases.opens_at(upcoming[0]) - (now + timedelta(days=7))) <= timedelta(hours=1)
    assert Lesson.objects.filter(release_after_days__isnull=True).count() == Lesson.objects.count() - 1


def test_seed_demo_next_run_has_its_own_future_release_dates(seeded):
    now = timezone.now()
    current, upcoming = current_run(), Run.objects.get(starts_at__gt=now)
    lesson = Lesson.objects.get(release_after_days__isnull=False)
    assert schedule_for(upcoming).opens_at(lesson) - schedule_for(current).opens_at(lesson) == (
        upcoming.starts_at - current.starts_at
    )
    assert schedule_for(upcoming).opens_at(lesson) > upcoming.starts_at > now


def test_seed_demo_course_is_published(seeded):
    assert seeded.is_published


def test_seed_demo_has_a_current_run_and_a_next_run_on_sale(seeded):
    now = timezone.now()
    current = current_run()
    upcoming = Run.objects.get(starts_at__gt=now)

    assert abs(current.starts_at - (now - timedelta(days=17))) <= timedelta(hours=1)  # in its third week
    assert abs(upcoming.starts_at - (now + timedelta(days=30))) <= timedelta(hours=1)
    assert upcoming.enrollment_open
    for run in (current, upcoming):
        assert set(run.tiers.values_list("kind", flat=True)) == {Tier.Kind.STANDARD, Tier.Kind.OFFICE_HOURS}
        assert set(run.tiers.values_list("months", flat=True)) == {2, 4}


def test_seed_demo_has_one_staff_user_and_two_current_students_one_per_tier(seeded):
    assert User.objects.filter(is_staff=True).count() == 1
    current = current_run()
    enrollments = Enrollment.objects.filter(run=current).select_related("user", "tier")
    assert enrollments.count() == 2
    assert {e.tier.kind for e in enrollments} == {Tier.Kind.STANDARD, Tier.Kind.OFFICE_HOURS}
    assert all(not e.user.is_staff and e.status == Enrollment.Status.ACTIVE for e in enrollments)
    previous = Enrollment.objects.exclude(run=current).select_related("user", "run")
    assert [(e.user.email, e.run.slug) for e in previous] == [(FINISHED[0], "webrtc-previous")]


def test_demo_student_can_open_a_lesson_right_away(seeded, client):
    student = Enrollment.objects.get(run=current_run(), tier__kind=Tier.Kind.STANDARD).user
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
    student = Enrollment.objects.get(run=current_run(), tier__kind=Tier.Kind.STANDARD).user
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


# --- a run in its third week ---


def test_the_demo_forum_has_threads_with_replies_an_accepted_answer_and_a_question_at_a_video_moment(seeded):
    threads = Thread.objects.filter(course=seeded)
    assert threads.count() >= 3
    assert all(thread.reply_count >= 1 for thread in threads)
    moment = threads.get(lesson__isnull=False)
    assert moment.video_seconds == 25 and moment.lesson.slug == "call-flows"
    assert moment.is_answered and moment.answer.author_is_staff
    assert threads.filter(answer__isnull=True).exists()  # one still waits for the instructor


def test_the_demo_run_has_a_published_announcement_that_emailed_nobody(seeded, mailoutbox):
    announcement = Announcement.objects.get()
    assert announcement.is_published and announcement.run == current_run()
    assert not AnnouncementEmail.objects.exclude(status=AnnouncementEmail.Status.SKIPPED).exists()
    assert mailoutbox == []  # nor did the forum posts


def test_the_first_section_has_a_published_quiz_of_single_and_multiple_choice_questions(seeded):
    quiz = Quiz.objects.get()
    assert quiz.is_published and quiz.section == seeded.sections.first()
    questions = list(quiz.questions.all())
    assert 3 <= len(questions) <= 4
    correct_counts = {question.choices.filter(is_correct=True).count() for question in questions}
    assert 1 in correct_counts and any(count > 1 for count in correct_counts)
    assert all(question.explanation_html for question in questions)


def test_the_demo_students_have_made_progress(seeded):
    olivia = User.objects.get(email="officehours@example.com")
    done = LessonProgress.objects.filter(user=olivia, completed_at__isnull=False).count()
    assert done > seeded.sections.first().lessons.count()
    attempts = list(QuizAttempt.objects.filter(user=olivia).order_by("submitted_at"))
    assert [attempt.passed for attempt in attempts] == [False, True]  # failed once, then passed
    assert attempts[0].score_percent == 50 and attempts[1].score_percent == 100


def test_the_finished_student_can_download_the_certificate(seeded, client):
    assert client.login(username=FINISHED[0], password=FINISHED[1])
    finished = User.objects.get(email=FINISHED[0])
    assert certificates.standing(user=finished, course=seeded).has_earned
    assert passed_every_quiz(user=finished, course=seeded)
    certificate = Certificate.objects.get(user=finished)
    assert certificate.name == "Zoë Łukasiewicz" and certificate.run.slug == "webrtc-previous"

    home = client.get(reverse("courses:home", args=[seeded.slug])).content.decode()
    assert reverse("certificates:mine", args=[seeded.slug]) in home
    pdf = client.get(reverse("certificates:download", args=[seeded.slug, certificate.verification_id]))
    assert pdf.status_code == 200
    text = " ".join(PdfReader(BytesIO(pdf.content)).pages[0].extract_text().split())
    assert "Zoë Łukasiewicz" in text and seeded.title in text
    client.logout()
    assert "Zoë Łukasiewicz" in client.get(certificate.get_absolute_url()).content.decode()


def test_the_seed_prints_the_finished_students_login(settings):
    settings.DEBUG = True
    assert f"{FINISHED[0]} / {FINISHED[1]}" in seed()
