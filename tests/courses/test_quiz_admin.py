"""Building a quiz in the admin: a published quiz needs questions, each with two choices and a correct one."""

import html

import pytest
from django.urls import reverse

from courses.admin import CHOICES_NEEDED, QUESTION_NEEDS_CHOICES, QUIZ_NEEDS_QUESTIONS
from courses.models import Choice, Question, Quiz
from tests.factories import QuizFactory, QuizQuestionFactory, SectionFactory, StaffFactory

pytestmark = pytest.mark.django_db


@pytest.fixture
def admin_client(client):
    client.force_login(StaffFactory(is_superuser=True))
    return client


def quiz_data(section, *questions, initial=(), **changes):
    data = {"section": section.pk, "title": "Basics quiz", "intro": "", "pass_percent": 70} | changes
    rows = [*initial, *questions]
    data |= {"questions-TOTAL_FORMS": str(len(rows)), "questions-INITIAL_FORMS": str(len(initial))}
    for index, row in enumerate(rows):
        data |= {f"questions-{index}-{key}": value for key, value in {"order": index + 1, **row}.items()}
    return data


def question_data(quiz, *choices, initial=(), **changes):
    data = {"quiz": quiz.pk, "text": "What is ICE?", "explanation": "Because."} | changes
    rows = [*initial, *choices]
    data |= {"choices-TOTAL_FORMS": str(len(rows)), "choices-INITIAL_FORMS": str(len(initial))}
    for index, row in enumerate(rows):
        data |= {f"choices-{index}-{key}": value for key, value in {"order": index + 1, **row}.items()}
    return data


def text(response):
    return html.unescape(response.content.decode())


def test_publishing_a_quiz_without_questions_is_a_form_error_and_saves_nothing(admin_client):
    section = SectionFactory()

    response = admin_client.post(reverse("admin:courses_quiz_add"), quiz_data(section, is_published="on"))

    assert response.status_code == 200
    assert QUIZ_NEEDS_QUESTIONS in text(response)
    assert not Quiz.objects.exists()


def test_a_draft_quiz_with_questions_saves_and_the_choices_are_added_on_the_questions_page(admin_client):
    section = SectionFactory()

    response = admin_client.post(
        reverse("admin:courses_quiz_add"), quiz_data(section, {"text": "What is ICE?", "explanation": "NAT."})
    )

    assert response.status_code == 302
    quiz = Quiz.objects.get()
    assert (quiz.section, quiz.is_published, quiz.questions.get().text) == (section, False, "What is ICE?")
    question = quiz.questions.get()
    response = admin_client.post(
        reverse("admin:courses_question_change", args=[question.pk]),
        question_data(quiz, {"text": "A protocol", "is_correct": "on"}, {"text": "A codec"}),
    )
    assert response.status_code == 302
    assert sorted(question.choices.values_list("text", "is_correct")) == [("A codec", False), ("A protocol", True)]


def test_publishing_a_quiz_whose_question_lacks_choices_is_a_form_error(admin_client):
    quiz = QuizFactory(is_published=False)
    ready = QuizQuestionFactory(quiz=quiz, choices=[("a", True), ("b", False)])
    bare = QuizQuestionFactory(quiz=quiz, choices=[("a", False), ("b", False)])  # none correct
    initial = [{"id": question.pk, "quiz": quiz.pk, "text": question.text} for question in (ready, bare)]

    response = admin_client.post(
        reverse("admin:courses_quiz_change", args=[quiz.pk]),
        quiz_data(quiz.section, initial=initial, is_published="on"),
    )

    assert response.status_code == 200
    assert QUESTION_NEEDS_CHOICES.format(number=2, choices=2, correct=0) in text(response)
    quiz.refresh_from_db()
    assert not quiz.is_published


def test_publishing_with_a_new_question_that_has_no_choices_yet_is_a_form_error(admin_client):
    section = SectionFactory()

    response = admin_client.post(
        reverse("admin:courses_quiz_add"), quiz_data(section, {"text": "What is ICE?"}, is_published="on")
    )

    assert QUESTION_NEEDS_CHOICES.format(number=1, choices=0, correct=0) in text(response)
    assert not Quiz.objects.exists() and not Question.objects.exists()


def test_a_quiz_whose_questions_are_ready_publishes(admin_client):
    quiz = QuizFactory(is_published=False)
    ready = QuizQuestionFactory(quiz=quiz, choices=[("a", True), ("b", False)])

    response = admin_client.post(
        reverse("admin:courses_quiz_change", args=[quiz.pk]),
        quiz_data(quiz.section, initial=[{"id": ready.pk, "quiz": quiz.pk, "text": ready.text}], is_published="on"),
    )

    assert response.status_code == 302
    quiz.refresh_from_db()
    assert quiz.is_published


def test_deleting_the_last_question_of_a_published_quiz_is_a_form_error(admin_client):
    quiz = QuizFactory()
    only = QuizQuestionFactory(quiz=quiz, choices=[("a", True), ("b", False)])
    row = {"id": only.pk, "quiz": quiz.pk, "text": only.text, "DELETE": "on"}

    response = admin_client.post(
        reverse("admin:courses_quiz_change", args=[quiz.pk]), quiz_data(quiz.section, initial=[row], is_published="on")
    )

    assert QUIZ_NEEDS_QUESTIONS in text(response)
    assert Question.objects.filter(pk=only.pk).exists()


@pytest.mark.parametrize(
    "choices, counts",
    [
        ([{"text": "only one", "is_correct": "on"}], (1, 1)),
        ([{"text": "a"}, {"text": "b"}], (2, 0)),
    ],
)
def test_a_question_of_a_published_quiz_needs_two_choices_and_a_correct_one(admin_client, choices, counts):
    quiz = QuizFactory()
    question = QuizQuestionFactory(quiz=quiz, text="Before", choices=[("x", True), ("y", False)])
    before = sorted(Choice.objects.values_list("pk", "text", "is_correct"))
    initial = [
        {"id": choice.pk, "question": question.pk, "text": choice.text, "DELETE": "on"}
        for choice in question.choices.all()
    ]

    response = admin_client.post(
        reverse("admin:courses_question_change", args=[question.pk]),
        question_data(quiz, *choices, initial=initial, text="After"),
    )

    assert response.status_code == 200
    assert CHOICES_NEEDED.format(choices=counts[0], correct=counts[1]) in text(response)
    assert sorted(Choice.objects.values_list("pk", "text", "is_correct")) == before
    question.refresh_from_db()
    assert question.text == "Before"


def test_a_question_of_a_draft_quiz_may_be_saved_unfinished(admin_client):
    quiz = QuizFactory(is_published=False)

    response = admin_client.post(reverse("admin:courses_question_add"), question_data(quiz, {"text": "a"}))

    assert response.status_code == 302
    assert Question.objects.get().choices.count() == 1


def test_the_section_page_links_to_its_quiz_or_to_adding_one(admin_client):
    section = SectionFactory()
    page = text(admin_client.get(reverse("admin:courses_section_change", args=[section.pk])))
    assert f'href="{reverse("admin:courses_quiz_add")}?section={section.pk}">Add a quiz' in page

    quiz = QuizFactory(section=section, title="Basics quiz")
    page = text(admin_client.get(reverse("admin:courses_section_change", args=[section.pk])))
    assert f'href="{reverse("admin:courses_quiz_change", args=[quiz.pk])}">Basics quiz</a> (published)' in page


def test_the_quiz_admin_pages_open(admin_client):
    quiz = QuizFactory()
    question = QuizQuestionFactory(quiz=quiz, choices=[("a", True), ("b", False)])
    for url in [
        reverse("admin:courses_quiz_changelist"),
        reverse("admin:courses_quiz_add") + f"?section={SectionFactory().pk}",
        reverse("admin:courses_quiz_change", args=[quiz.pk]),
        reverse("admin:courses_question_change", args=[question.pk]),
        reverse("admin:courses_quizattempt_changelist"),
    ]:
        assert admin_client.get(url).status_code == 200, url
    page = text(admin_client.get(reverse("admin:courses_quiz_change", args=[quiz.pk])))
    assert "2 choice(s), 1 correct" in page
