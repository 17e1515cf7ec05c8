"""Every dashboard page runs the same, small number of queries for 10 students and for 2,000."""

import uuid
from datetime import timedelta

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import timezone

from courses.models import LessonProgress, QuizAttempt
from forum.models import Post
from tests.factories import (
    CourseFactory,
    LessonFactory,
    OfficeHoursTierFactory,
    QuestionFactory,
    QuizFactory,
    QuizQuestionFactory,
    RegistrationFactory,
    RunFactory,
    SectionFactory,
    SessionFactory,
    StaffFactory,
    ThreadFactory,
    TierFactory,
    enrolled_students,
)

pytestmark = pytest.mark.django_db

# The most each page may run, whatever the class size (session, user and the page's own reads).
MAX_QUERIES = {
    "index": 3,
    "students": 8,
    "students_csv": 7,
    "lessons": 8,
    "activity": 7,
    "unanswered": 6,
    "student": 18,
    "quizzes": 8,
    "quiz": 9,
}


def build_class(size):
    """A course of 12 lessons, a run that started 30 days ago and `size` students with progress and posts."""
    now = timezone.now()
    course = CourseFactory()
    section = SectionFactory(course=course)
    lessons = [LessonFactory(section=section, order=n, video_minutes=n % 3 * 5, release_after_days=n * 3)
               for n in range(12)]  # fmt: skip
    run = RunFactory(course=course, starts_at=now - timedelta(days=30))
    standard, office_hours = TierFactory(run=run), OfficeHoursTierFactory(run=run)
    users = enrolled_students(size // 2, run=run, tier=standard) + enrolled_students(
        size - size // 2, run=run, tier=office_hours
    )
    LessonProgress.objects.bulk_create(
        LessonProgress(user=user, lesson=lesson, updated_at=now - timedelta(days=n % 20, hours=k),
                       completed_at=now - timedelta(days=n % 20) if k < n % 7 else None,
                       video_position=60.0 * k, furthest_position=60.0 * (k + 1))
        for n, user in enumerate(users) for k, lesson in enumerate(lessons[: n % 8])
    )  # fmt: skip
    thread = ThreadFactory(course=course, author=users[0])
    Post.objects.bulk_create(
        Post(thread=thread, author=user, body="Me too.", body_html="<p>Me too.</p>",
             created_at=now - timedelta(days=n % 9))
        for n, user in enumerate(users[::3])
    )  # fmt: skip
    quiz = QuizFactory(section=section)
    questions = [QuizQuestionFactory(quiz=quiz, choices=[("a", True), ("b", False)]) for _ in range(5)]
    QuizAttempt.objects.bulk_create(
        QuizAttempt(user=user, quiz=quiz, submission=uuid.uuid4(), answers={str(q.pk): [] for q in questions},
                    wrong_question_ids=[q.pk for q in questions[: n % 4]], correct_count=5 - n % 4, question_count=5,
                    score_percent=20 * (5 - n % 4), passed=n % 4 < 2, submitted_at=now - timedelta(hours=k + n % 5))
        for n, user in enumerate(users) for k in range(n % 3)
    )  # fmt: skip
    session = SessionFactory(run=run)
    for user in users[:3]:
        RegistrationFactory(session=session, user=user)
        QuestionFactory(session=session, author=user)
    student = run.enrollments.order_by("pk").first()
    run.quiz = quiz
    return run, student


def page_urls(run, student):
    return {
        "index": reverse("dashboard:index"),
        "students": reverse("dashboard:students", args=[run.slug]) + "?show=behind&sort=-percent&page=2",
        "students_csv": reverse("dashboard:students_csv", args=[run.slug]) + "?sort=-last_activity",
        "lessons": reverse("dashboard:lessons", args=[run.slug]),
        "activity": reverse("dashboard:activity", args=[run.slug]),
        "unanswered": reverse("dashboard:unanswered", args=[run.slug]),
        "student": reverse("dashboard:student", args=[run.slug, student.pk]),
        "quizzes": reverse("dashboard:quizzes", args=[run.slug]),
        "quiz": reverse("dashboard:quiz", args=[run.slug, run.quiz.pk]),
    }


def fetch(client, url):
    response = client.get(url)
    assert response.status_code == 200
    body = b"".join(response.streaming_content) if response.streaming else response.content
    return body


@pytest.mark.parametrize("size", [10, 2000])
def test_dashboard_queries_do_not_grow_with_the_class(client, size, django_assert_max_num_queries):
    run, student = build_class(size)
    client.force_login(StaffFactory())
    for name, url in page_urls(run, student).items():
        fetch(client, url)  # warm the session
        with django_assert_max_num_queries(MAX_QUERIES[name]):
            body = fetch(client, url)
        if name == "students_csv":
            assert body.decode().count("\n") == size + 1  # the header and every student


def test_query_counts_are_the_same_for_10_and_2000_students(client):
    counts = {}
    for size in (10, 2000):
        run, student = build_class(size)
        client.force_login(StaffFactory())
        for name, url in page_urls(run, student).items():
            fetch(client, url)
            with CaptureQueriesContext(connection) as queries:
                fetch(client, url)
            counts.setdefault(name, []).append(len(queries))
    assert all(small == large for small, large in counts.values()), counts
