"""The dashboard's quiz numbers for the hand-built class: each student's scores, and per question who missed it."""

import re
from datetime import timedelta

import pytest
from django.urls import reverse

from dashboard import selectors
from tests.factories import QuizAttemptFactory, QuizFactory, QuizQuestionFactory, UserFactory

pytestmark = pytest.mark.django_db


def attempt(user, quiz, questions, *, wrong, at, pass_percent=70):
    """An attempt that answered every question and got `wrong` (question indexes) wrong."""
    right = len(questions) - len(wrong)
    return QuizAttemptFactory(
        user=user, quiz=quiz, submitted_at=at,
        answers={str(q.pk): [] for q in questions}, wrong_question_ids=[questions[i].pk for i in wrong],
        correct_count=right, question_count=len(questions),
    )  # fmt: skip


@pytest.fixture
def quiz(klass):
    """A quiz of three questions in the class's section (pass mark 70 %):

    ada   33 % (missed Q1, Q2) 5 days ago, then 100 % yesterday: latest right everywhere, passed
    bob   67 % (missed Q2): not passed
    cy    33 % (missed Q2, Q3)
    dee   never took it
    eve   refunded: missed everything (not counted)
    Missed in the latest attempts: Q2 by 2 (bob, cy), Q3 by 1 (cy), Q1 by 0; 3 students took it, 1 passed.
    """
    section = klass.lessons[0].section
    quiz = QuizFactory(section=section, title="Basics quiz", pass_percent=70)
    questions = [
        QuizQuestionFactory(quiz=quiz, order=n, text=f"Question {name}?", choices=[("a", True), ("b", False)])
        for n, name in enumerate(["one", "two", "three"])
    ]
    people = {name: enrollment.user for name, enrollment in klass.students.items()}
    now = klass.now
    attempt(people["ada"], quiz, questions, wrong=[0, 1], at=now - timedelta(days=5))
    attempt(people["ada"], quiz, questions, wrong=[], at=now - timedelta(days=1))
    attempt(people["bob"], quiz, questions, wrong=[1], at=now - timedelta(days=2))
    attempt(people["cy"], quiz, questions, wrong=[1, 2], at=now - timedelta(days=3))
    eve = klass.run.enrollments.get(user__email="eve@example.com").user
    attempt(eve, quiz, questions, wrong=[0, 1, 2], at=now - timedelta(days=1))
    attempt(UserFactory(), quiz, questions, wrong=[0], at=now)  # not a student of the run
    return quiz


def test_quiz_summaries_count_students_who_took_and_passed_each_quiz(klass, quiz):
    facts = selectors.run_facts(klass.run, now=klass.now)

    [summary] = selectors.quiz_summaries(facts)

    assert (summary.quiz, summary.students, summary.attempted, summary.passed) == (quiz, 4, 3, 1)
    assert (summary.attempted_percent, summary.passed_percent) == (75, 25)


def test_missed_questions_count_the_latest_attempt_of_each_student_most_missed_first(klass, quiz):
    facts = selectors.run_facts(klass.run, now=klass.now)

    missed = selectors.missed_questions(facts, quiz)

    assert [(str(item.question), item.number, item.missed, item.answered) for item in missed] == [
        ("Question two?", 2, 2, 3),
        ("Question three?", 3, 1, 3),
        ("Question one?", 1, 0, 3),
    ]


def test_the_quiz_page_lists_the_questions_most_missed_first(client, klass, quiz):
    client.force_login(klass.staff)

    html = client.get(reverse("dashboard:quiz", args=[klass.run.slug, quiz.pk])).content.decode()

    rows = re.findall(r'<tr><th scope="row">(.*?)</th>\s*<td>(.*?)</td>\s*<td>(.*?)</td></tr>', html)
    assert rows == [("2. Question two?", "2 (67 %)", "3"), ("3. Question three?", "1 (33 %)", "3"),
                    ("1. Question one?", "0 (0 %)", "3")]  # fmt: skip
    assert "3 students took the quiz" in html


def test_the_quizzes_page_lists_each_quiz_with_who_took_and_passed_it(client, klass, quiz):
    client.force_login(klass.staff)

    html = client.get(reverse("dashboard:quizzes", args=[klass.run.slug])).content.decode()

    assert f'href="{reverse("dashboard:quiz", args=[klass.run.slug, quiz.pk])}">Only section: Basics quiz</a>' in html
    assert "<td>3 (75 %)</td>" in html and "<td>1 (25 %)</td>" in html


def test_the_student_page_shows_best_and_latest_score_per_quiz(client, klass, quiz):
    client.force_login(klass.staff)

    def quiz_row(name):
        """The cells of the student's row for the quiz, as text."""
        url = reverse("dashboard:student", args=[klass.run.slug, klass.students[name].pk])
        html = client.get(url).content.decode()
        body = re.search(r'id="student-quizzes">.*?<tbody>(.*?)</tbody>', html, re.S).group(1)
        cells = re.findall(r"<t[hd][^>]*>(.*?)</t[hd]>", body, re.S)
        return [" ".join(re.sub(r"<[^>]+>", "", cell).split()) for cell in cells]

    assert quiz_row("ada")[1:] == ["2", "100 % passed", f"100 %, {(klass.now - timedelta(days=1)):%-d %b %Y, %H:%M}"]
    assert quiz_row("bob")[1:3] == ["1", "67 % not passed"]
    assert quiz_row("dee")[1:] == ["0", "not taken", "–"]


def test_the_student_page_links_each_score_to_its_attempt(client, klass, quiz):
    client.force_login(klass.staff)
    latest = quiz.attempts.filter(user=klass.students["ada"].user).first()
    url = reverse("dashboard:student", args=[klass.run.slug, klass.students["ada"].pk])

    html = client.get(url).content.decode()

    result = reverse("courses:quiz_result", args=[klass.course.slug, quiz.section_id, latest.pk])
    assert f'href="{result}"' in html
    assert client.get(result).status_code == 200  # staff may look at a student's attempt


def test_the_quiz_of_another_course_is_404_on_this_runs_dashboard(client, klass, quiz):
    client.force_login(klass.staff)
    other = QuizFactory()
    assert client.get(reverse("dashboard:quiz", args=[klass.run.slug, other.pk])).status_code == 404


def test_students_do_not_see_the_quiz_dashboard(client, klass, quiz):
    client.force_login(klass.students["ada"].user)
    assert client.get(reverse("dashboard:quiz", args=[klass.run.slug, quiz.pk])).status_code == 404
    assert client.get(reverse("dashboard:quizzes", args=[klass.run.slug])).status_code == 404
