"""Section quizzes for students: taken after the section, scored on the server, answers hidden until submitted."""

import re
import uuid
from datetime import timedelta

import pytest
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import timezone

from courses.models import QuizAttempt
from courses.quizzes import passed_every_quiz
from courses.selectors import syllabus_for
from courses.services import (
    QUIZ_ONE_CHOICE,
    QUIZ_OTHER_FORM,
    QUIZ_UNANSWERED,
    QUIZ_UNKNOWN_CHOICE,
    QUIZ_UNKNOWN_QUESTION,
    QuizRefused,
    submit_quiz,
)
from courses.views import QUIZ_NEXT
from enrollment.access import MESSAGES, NOT_ENROLLED, QUIZ_NOT_RELEASED, course_access
from enrollment.models import Enrollment
from tests.enrollment.test_stripe_webhook import run_together
from tests.factories import (
    EnrollmentFactory,
    LessonFactory,
    LessonProgressFactory,
    QuizFactory,
    QuizQuestionFactory,
    RunFactory,
    SectionFactory,
    StaffFactory,
    UserFactory,
)

pytestmark = pytest.mark.django_db

EXPLANATION = "Offer and answer travel over your own signalling channel."


@pytest.fixture
def scene(client):
    """A run that started 3 days ago; section 1 (two lessons, open) has a quiz of three questions, one of them
    "choose all that apply"; section 2's lesson opens in 10 days and it has a quiz too. A student is logged in."""
    run = RunFactory()
    course = run.course
    first = SectionFactory(course=course, title="Signalling", order=1)
    lessons = [LessonFactory(section=first, slug=f"l{n}", title=f"Lesson {n}", order=n) for n in (1, 2)]
    quiz = QuizFactory(section=first, title="Signalling quiz", pass_percent=60)
    single = QuizQuestionFactory(
        quiz=quiz, order=1, text="What carries the SDP?", explanation=EXPLANATION,
        choices=[("Your signalling server", True), ("The TURN server", False), ("STUN", False)],
    )  # fmt: skip
    multiple = QuizQuestionFactory(
        quiz=quiz, order=2, text="Which are ICE candidate types?",
        choices=[("host", True), ("srflx", True), ("dtls", False)],
    )  # fmt: skip
    third = QuizQuestionFactory(quiz=quiz, order=3, text="Is DTLS mandatory?", choices=[("Yes", True), ("No", False)])
    second = SectionFactory(course=course, title="Media", order=2)
    later = LessonFactory(section=second, slug="later", order=1, release_after_days=13)
    later_quiz = QuizFactory(section=second)
    QuizQuestionFactory(quiz=later_quiz, choices=[("a", True), ("b", False)])
    student = EnrollmentFactory(run=run).user
    client.force_login(student)

    def ids(question, *texts):
        return [choice.pk for choice in question.choices.all() if choice.text in texts]

    return type("Scene", (), dict(
        run=run, course=course, first=first, lessons=lessons, quiz=quiz, single=single, multiple=multiple,
        third=third, second=second, later=later, later_quiz=later_quiz, student=student, ids=staticmethod(ids),
    ))  # fmt: skip


def quiz_url(scene, section=None):
    return reverse("courses:quiz", args=[scene.course.slug, (section or scene.first).pk])


def all_right(scene):
    return {
        scene.single.pk: scene.ids(scene.single, "Your signalling server"),
        scene.multiple.pk: scene.ids(scene.multiple, "host", "srflx"),
        scene.third.pk: scene.ids(scene.third, "Yes"),
    }


def form_data(answers, submission):
    data = {"submission": str(submission)}
    for question_id, choice_ids in answers.items():
        data[f"question-{question_id}"] = [str(pk) for pk in choice_ids]
    return data


# --- the page before submitting ---


def test_the_quiz_page_shows_the_questions_but_not_the_answers_or_the_explanations(client, scene):
    response = client.get(quiz_url(scene))

    html = response.content.decode()
    assert response.status_code == 200
    assert "What carries the SDP?" in html and "The TURN server" in html
    assert "correct" not in html.lower()
    assert EXPLANATION not in html and "Because." not in html
    assert "is_correct" not in html and "Why" not in html


def test_the_quiz_page_asks_single_questions_with_radios_and_several_answer_questions_with_checkboxes(client, scene):
    html = client.get(quiz_url(scene)).content.decode()

    fieldsets = re.findall(r"<fieldset.*?</fieldset>", html, re.S)
    assert len(fieldsets) == 3
    assert all("<legend" in fieldset for fieldset in fieldsets)
    assert fieldsets[0].count('type="radio"') == 3 and "choose one" in fieldsets[0]
    assert fieldsets[1].count('type="checkbox"') == 3 and "choose all that apply" in fieldsets[1]


def test_each_render_of_the_quiz_carries_a_new_submission_id(client, scene):
    pattern = re.compile(r'name="submission" value="([0-9a-f-]{36})"')
    first = pattern.search(client.get(quiz_url(scene)).content.decode()).group(1)
    second = pattern.search(client.get(quiz_url(scene)).content.decode()).group(1)
    assert first != second


# --- scoring (the service) ---


def test_all_right_scores_100_and_passes(scene):
    attempt = submit_quiz(user=scene.student, quiz=scene.quiz, submission=uuid.uuid4(), answers=all_right(scene))

    assert (attempt.correct_count, attempt.question_count, attempt.score_percent, attempt.passed) == (3, 3, 100, True)
    assert attempt.wrong_question_ids == []


def test_a_wrong_single_choice_is_wrong(scene):
    answers = all_right(scene) | {scene.single.pk: scene.ids(scene.single, "STUN")}

    attempt = submit_quiz(user=scene.student, quiz=scene.quiz, submission=uuid.uuid4(), answers=answers)

    assert (attempt.correct_count, attempt.score_percent, attempt.passed) == (2, 67, True)  # pass mark 60 %
    assert attempt.wrong_question_ids == [scene.single.pk]


def test_a_partial_tick_of_a_several_answer_question_is_wrong(scene):
    answers = all_right(scene) | {scene.multiple.pk: scene.ids(scene.multiple, "host")}

    attempt = submit_quiz(user=scene.student, quiz=scene.quiz, submission=uuid.uuid4(), answers=answers)

    assert attempt.wrong_question_ids == [scene.multiple.pk]


def test_ticking_every_choice_of_a_several_answer_question_is_wrong(scene):
    answers = all_right(scene) | {scene.multiple.pk: scene.ids(scene.multiple, "host", "srflx", "dtls")}

    attempt = submit_quiz(user=scene.student, quiz=scene.quiz, submission=uuid.uuid4(), answers=answers)

    assert attempt.wrong_question_ids == [scene.multiple.pk]


def test_below_the_pass_mark_fails(scene):
    answers = {
        scene.single.pk: scene.ids(scene.single, "STUN"),
        scene.multiple.pk: scene.ids(scene.multiple, "host"),
        scene.third.pk: scene.ids(scene.third, "Yes"),
    }

    attempt = submit_quiz(user=scene.student, quiz=scene.quiz, submission=uuid.uuid4(), answers=answers)

    assert (attempt.correct_count, attempt.score_percent, attempt.passed) == (1, 33, False)
    assert sorted(attempt.wrong_question_ids) == sorted([scene.single.pk, scene.multiple.pk])


def test_the_same_submission_twice_records_one_attempt_and_returns_it(scene):
    submission = uuid.uuid4()
    first = submit_quiz(user=scene.student, quiz=scene.quiz, submission=submission, answers=all_right(scene))
    again = submit_quiz(user=scene.student, quiz=scene.quiz, submission=submission, answers=all_right(scene))

    assert again.pk == first.pk
    assert QuizAttempt.objects.count() == 1


def test_a_submission_of_another_quiz_is_refused(scene):
    submission = uuid.uuid4()
    submit_quiz(user=scene.student, quiz=scene.quiz, submission=submission, answers=all_right(scene))
    other = {q.pk: [q.choices.first().pk] for q in scene.later_quiz.questions.all()}

    with pytest.raises(QuizRefused, match=QUIZ_OTHER_FORM):
        submit_quiz(user=scene.student, quiz=scene.later_quiz, submission=submission, answers=other)
    assert QuizAttempt.objects.count() == 1


@pytest.mark.parametrize(
    "change, message",
    [
        (lambda s: {999999: [1]}, QUIZ_UNKNOWN_QUESTION),
        (lambda s: {"not a number": [1]}, QUIZ_UNKNOWN_QUESTION),
        (lambda s: {s.single.pk: s.ids(s.third, "Yes")}, QUIZ_UNKNOWN_CHOICE.format(number=1)),  # another question's
        (lambda s: {s.single.pk: [999999]}, QUIZ_UNKNOWN_CHOICE.format(number=1)),
        (lambda s: {s.single.pk: ["x"]}, QUIZ_UNKNOWN_QUESTION),
        (lambda s: {s.single.pk: s.ids(s.single, "STUN", "The TURN server")}, QUIZ_ONE_CHOICE.format(number=1)),
        (lambda s: {s.third.pk: []}, QUIZ_UNANSWERED.format(numbers="question 3 has")),
    ],
)
def test_answers_the_form_cannot_have_sent_are_refused_and_nothing_is_recorded(scene, change, message):
    answers = all_right(scene) | change(scene)

    with pytest.raises(QuizRefused) as refused:
        submit_quiz(user=scene.student, quiz=scene.quiz, submission=uuid.uuid4(), answers=answers)

    assert refused.value.message == message
    assert not QuizAttempt.objects.exists()


def test_questions_left_unanswered_are_named():
    quiz = QuizFactory()
    questions = [QuizQuestionFactory(quiz=quiz, choices=[("a", True), ("b", False)]) for _ in range(3)]
    answers = {questions[1].pk: [questions[1].choices.first().pk]}

    with pytest.raises(QuizRefused) as refused:
        submit_quiz(user=UserFactory(), quiz=quiz, submission=uuid.uuid4(), answers=answers)

    assert refused.value.message == QUIZ_UNANSWERED.format(numbers="questions 1, 3 have")


# --- taking it through the page ---


def test_posting_the_quiz_scores_it_and_shows_the_result_with_the_answers_and_explanations(client, scene):
    answers = all_right(scene) | {scene.single.pk: scene.ids(scene.single, "STUN")}

    response = client.post(quiz_url(scene), form_data(answers, uuid.uuid4()), follow=True)

    attempt = QuizAttempt.objects.get()
    assert response.redirect_chain[-1][0] == reverse(
        "courses:quiz_result", args=[scene.course.slug, scene.first.pk, attempt.pk]
    )
    html = response.content.decode()
    assert "Passed" in html and "67%" in html and "2 of 3 right" in html and "pass mark is 60%" in html
    assert EXPLANATION in html
    assert "Correct answer" in html and "Your answer" in html
    assert "Retake the quiz" in html


def test_posting_the_same_form_twice_records_one_attempt_and_shows_the_same_result(client, scene):
    data = form_data(all_right(scene), uuid.uuid4())

    first = client.post(quiz_url(scene), data)
    second = client.post(quiz_url(scene), data)

    assert QuizAttempt.objects.filter(user=scene.student).count() == 1
    assert first.status_code == second.status_code == 302
    assert first["Location"] == second["Location"]


def test_a_bad_post_shows_the_error_keeps_the_ticks_and_records_nothing(client, scene):
    answers = {scene.single.pk: scene.ids(scene.single, "STUN")}

    response = client.post(quiz_url(scene), form_data(answers, uuid.uuid4()))

    html = response.content.decode()
    assert response.status_code == 400
    assert QUIZ_UNANSWERED.format(numbers="questions 2, 3 have") in html
    assert re.search(rf'value="{scene.ids(scene.single, "STUN")[0]}" required checked', html)
    assert not QuizAttempt.objects.exists()
    assert EXPLANATION not in html and "correct" not in html.lower()


def test_a_post_without_its_submission_id_is_refused(client, scene):
    response = client.post(quiz_url(scene), form_data(all_right(scene), "not-a-uuid"))

    assert response.status_code == 400
    assert not QuizAttempt.objects.exists()


def test_a_retake_is_a_new_attempt_and_best_and_latest_are_shown(client, scene):
    bad = {
        scene.single.pk: scene.ids(scene.single, "STUN"),
        scene.multiple.pk: scene.ids(scene.multiple, "host"),
        scene.third.pk: scene.ids(scene.third, "Yes"),
    }
    client.post(quiz_url(scene), form_data(all_right(scene), uuid.uuid4()))
    response = client.post(quiz_url(scene), form_data(bad, uuid.uuid4()), follow=True)

    assert QuizAttempt.objects.filter(user=scene.student).count() == 2
    html = response.content.decode()
    assert "Not passed yet: 33%" in html
    history = re.search(r'data-testid="quiz-history">(.*?)</p>', html, re.S).group(1)
    assert "Your best:" in history and "100%" in history and "33% (this attempt)" in history
    page = client.get(quiz_url(scene)).content.decode()
    assert re.search(r"Your best: <a [^>]+>100%</a> \(passed\) · latest: <a [^>]+>33%</a>", page)


def test_a_student_cannot_open_another_students_attempt(client, scene):
    other = UserFactory()
    EnrollmentFactory(run=scene.run, user=other)
    attempt = submit_quiz(user=other, quiz=scene.quiz, submission=uuid.uuid4(), answers=all_right(scene))

    response = client.get(reverse("courses:quiz_result", args=[scene.course.slug, scene.first.pk, attempt.pk]))

    assert response.status_code == 404


# --- who may take it ---


def test_a_student_of_another_course_gets_404_for_a_section_not_of_their_course(client, scene):
    other_run = RunFactory()
    other_section = SectionFactory(course=other_run.course)
    LessonFactory(section=other_section)
    stranger = EnrollmentFactory(run=other_run).user
    client.force_login(stranger)

    # The quiz's section under the stranger's own course, and a section without a quiz: no such quiz.
    assert client.get(reverse("courses:quiz", args=[other_run.course.slug, scene.first.pk])).status_code == 404
    assert client.get(reverse("courses:quiz", args=[other_run.course.slug, other_section.pk])).status_code == 404
    assert client.get(reverse("courses:quiz", args=[scene.course.slug, 999999])).status_code == 404
    response = client.post(
        reverse("courses:quiz", args=[other_run.course.slug, scene.first.pk]), form_data(all_right(scene), uuid.uuid4())
    )
    assert response.status_code == 404
    assert not QuizAttempt.objects.exists()


def test_a_student_not_enrolled_in_the_course_gets_the_normal_refusal(client, scene):
    client.force_login(EnrollmentFactory(run=RunFactory()).user)

    response = client.get(quiz_url(scene))
    posted = client.post(quiz_url(scene), form_data(all_right(scene), uuid.uuid4()))

    assert response.status_code == posted.status_code == 403
    assert MESSAGES[NOT_ENROLLED] in response.content.decode()
    assert "What carries the SDP?" not in response.content.decode()
    assert not QuizAttempt.objects.exists()


def test_a_visitor_is_sent_to_log_in(client, scene):
    client.logout()
    response = client.get(quiz_url(scene))
    assert response.status_code == 302 and "/accounts/login/" in response["Location"]


def test_a_quiz_whose_section_is_not_all_released_is_refused_with_its_date(client, scene):
    response = client.get(quiz_url(scene, scene.second))
    posted = client.post(quiz_url(scene, scene.second), form_data({}, uuid.uuid4()))

    assert response.status_code == posted.status_code == 403
    opens_at = course_access(scene.student, scene.course).releases.opens_at(scene.later)
    decision = course_access(scene.student, scene.course).quiz([scene.later])
    assert (decision.reason, decision.when) == (QUIZ_NOT_RELEASED, opens_at)
    assert decision.message in response.content.decode()
    assert not QuizAttempt.objects.exists()


def test_a_quiz_opens_once_every_lesson_of_its_section_is_released(scene):
    access = course_access(scene.student, scene.course, at=timezone.now() + timedelta(days=11))
    assert access.quiz([scene.later])


def test_an_unpublished_quiz_is_404_to_students_and_a_preview_to_staff(client, scene):
    scene.quiz.is_published = False
    scene.quiz.save()

    assert client.get(quiz_url(scene)).status_code == 404
    client.force_login(StaffFactory())
    response = client.get(quiz_url(scene))
    assert response.status_code == 200 and "Not published" in response.content.decode()


def test_a_refunded_student_is_refused(client, scene):
    Enrollment.objects.filter(user=scene.student).update(status=Enrollment.Status.REFUNDED)
    assert client.get(quiz_url(scene)).status_code == 403


# --- progress ---


def home(client, scene):
    return client.get(reverse("courses:home", args=[scene.course.slug])).content.decode()


def test_a_passed_quiz_counts_as_one_more_item_of_its_section(scene):
    for lesson in scene.lessons:
        LessonProgressFactory(user=scene.student, lesson=lesson, completed_at=timezone.now(), updated_at=timezone.now())
    access = course_access(scene.student, scene.course)

    def section():
        syllabus = syllabus_for(scene.course, user=scene.student, at=access.at, opens_at=access.releases.opens_at)
        return syllabus, syllabus.sections[0]

    syllabus, first = section()
    assert (first.completed_count, first.item_count, first.percent, first.quiz_passed) == (2, 3, 67, False)
    assert (syllabus.completed_count, syllabus.item_count, syllabus.lesson_count) == (2, 5, 3)

    submit_quiz(user=scene.student, quiz=scene.quiz, submission=uuid.uuid4(), answers=all_right(scene))

    syllabus, first = section()
    assert (first.completed_count, first.item_count, first.percent, first.quiz_passed) == (3, 3, 100, True)
    assert syllabus.completed_count == 3
    assert not passed_every_quiz(user=scene.student, course=scene.course)  # the second section's is to come


def test_the_course_home_shows_the_section_done_only_after_the_quiz_is_passed(client, scene):
    for lesson in scene.lessons:
        LessonProgressFactory(user=scene.student, lesson=lesson, completed_at=timezone.now(), updated_at=timezone.now())

    html = home(client, scene)
    assert "2 of 3 done (67%)" in html
    assert f'href="{quiz_url(scene)}">Quiz: Signalling quiz</a>' in html
    assert "Passed:" not in html

    failing = {
        scene.single.pk: scene.ids(scene.single, "STUN"),
        scene.multiple.pk: scene.ids(scene.multiple, "host"),
        scene.third.pk: scene.ids(scene.third, "No"),
    }
    client.post(quiz_url(scene), form_data(failing, uuid.uuid4()))
    assert "2 of 3 done (67%)" in home(client, scene)

    client.post(quiz_url(scene), form_data(all_right(scene), uuid.uuid4()))
    html = home(client, scene)
    assert "3 of 3 done (100%)" in html
    assert "Passed:" in html
    assert "3 of 5 lessons and quizzes" in html


def test_the_quiz_of_a_section_not_yet_released_shows_as_coming_soon_without_a_link(client, scene):
    html = home(client, scene)
    later = quiz_url(scene, scene.second)
    assert f'href="{later}"' not in html
    row = re.findall(r'<li class="lesson-row quiz-row.*?</li>', html, re.S)[1]
    assert "Coming soon" in row


# --- on to the quiz after the section's last lesson ---


def test_completing_the_last_lesson_of_a_section_goes_to_its_quiz(client, scene):
    last = scene.lessons[-1]
    response = client.post(reverse("courses:lesson_complete", args=[scene.course.slug, last.slug]), {"completed": "1"})

    assert response["Location"] == quiz_url(scene)
    assert QUIZ_NEXT in client.get(response["Location"]).content.decode()


def test_completing_another_lesson_or_after_passing_stays_on_the_lesson(client, scene):
    first, last = scene.lessons
    url = reverse("courses:lesson_complete", args=[scene.course.slug, first.slug])
    assert client.post(url, {"completed": "1"})["Location"] == first.get_absolute_url()

    submit_quiz(user=scene.student, quiz=scene.quiz, submission=uuid.uuid4(), answers=all_right(scene))
    url = reverse("courses:lesson_complete", args=[scene.course.slug, last.slug])
    assert client.post(url, {"completed": "1"})["Location"] == last.get_absolute_url()


def test_the_last_lesson_of_a_section_links_to_its_quiz(client, scene):
    first, last = scene.lessons
    assert "Section quiz: Signalling quiz" in client.get(last.get_absolute_url()).content.decode()
    assert "Section quiz" not in client.get(first.get_absolute_url()).content.decode()


# --- queries ---


def test_the_quiz_pages_run_a_fixed_number_of_queries(client, scene, django_assert_max_num_queries):
    for n in range(20):
        QuizQuestionFactory(quiz=scene.quiz, choices=[(f"a{n}", True), (f"b{n}", False), (f"c{n}", True)])
    attempt = submit_quiz(user=scene.student, quiz=scene.quiz, submission=uuid.uuid4(), answers={
        q.pk: [c.pk for c in q.choices.all() if c.is_correct] for q in scene.quiz.questions.all()
    })  # fmt: skip
    with django_assert_max_num_queries(12):
        assert client.get(quiz_url(scene)).status_code == 200
    with django_assert_max_num_queries(12):
        url = reverse("courses:quiz_result", args=[scene.course.slug, scene.first.pk, attempt.pk])
        assert client.get(url).status_code == 200


@pytest.mark.django_db(transaction=True)
def test_the_same_form_posted_ten_times_at_once_records_one_attempt():
    """The existence check cannot see a post still in flight: the unique constraint decides, the rest get its row."""
    run = RunFactory()
    quiz = QuizFactory(section=SectionFactory(course=run.course))
    question = QuizQuestionFactory(quiz=quiz, choices=[("a", True), ("b", False)])
    student = EnrollmentFactory(run=run).user
    url = reverse("courses:quiz", args=[run.course.slug, quiz.section_id])
    data = form_data({question.pk: [question.choices.get(text="a").pk]}, uuid.uuid4())

    def post():
        client = Client()
        client.force_login(student)
        return client.post(url, data)

    results = run_together(*[post] * 10)

    errors = [result for result in results if isinstance(result, BaseException)]
    assert not errors, errors
    assert {response.status_code for response in results} == {302}
    assert len({response["Location"] for response in results}) == 1
    assert QuizAttempt.objects.filter(user=student).count() == 1


def test_the_course_home_runs_the_same_queries_with_2_quizzes_or_40(client, django_assert_num_queries):
    student = UserFactory()
    client.force_login(student)

    def course_with_quizzes(count):
        run = RunFactory()
        EnrollmentFactory(run=run, user=student)
        for n in range(count):
            section = SectionFactory(course=run.course, order=n)
            LessonFactory(section=section)
            quiz = QuizFactory(section=section)
            question = QuizQuestionFactory(quiz=quiz, choices=[("a", True), ("b", False)])
            QuizAttempt.objects.create(
                user=student, quiz=quiz, submission=uuid.uuid4(), correct_count=n % 2, question_count=1,
                score_percent=100 * (n % 2), passed=bool(n % 2), answers={str(question.pk): []},
            )  # fmt: skip
        return reverse("courses:home", args=[run.course.slug])

    small, large = course_with_quizzes(2), course_with_quizzes(40)
    client.get(small)
    with CaptureQueriesContext(connection) as queries:
        client.get(small)
    count = len(queries)  # now: the next request empties the log it reads
    client.get(large)
    with django_assert_num_queries(count):
        html = client.get(large).content.decode()
    assert "20 of 80 lessons and quizzes" in html
    assert html.count('data-testid="section-quiz"') == 40
