"""A student takes a section quiz in a real browser: fails, reads the explanations, retakes, passes; the section
is done on the course home only then. The quiz and result pages pass axe at 1280 and 375 px."""

import pytest
from django.utils import timezone
from playwright.sync_api import expect

from courses.models import QuizAttempt
from tests.factories import (
    EnrollmentFactory,
    LessonFactory,
    LessonProgressFactory,
    QuizFactory,
    QuizQuestionFactory,
    RunFactory,
    SectionFactory,
)

from .test_accessibility import PHONE_WIDTH, axe_findings, horizontal_overflow

pytestmark = pytest.mark.browser

EXPLANATION = "The offer and answer travel over the application's own signalling channel."


@pytest.fixture
def section_quiz(live_server):
    """A section of two lessons, the first completed, and its quiz: one "choose one", one "choose all that apply"."""
    run = RunFactory()
    section = SectionFactory(course=run.course, title="Signalling")
    first = LessonFactory(section=section, title="Offer and answer", order=1)
    last = LessonFactory(section=section, title="Trickle ICE", order=2)
    quiz = QuizFactory(section=section, title="Signalling quiz", pass_percent=100, intro="Two questions.")
    QuizQuestionFactory(
        quiz=quiz, order=1, text="What carries the **SDP**?", explanation=EXPLANATION,
        choices=[("The signalling channel", True), ("The TURN server", False)],
    )  # fmt: skip
    QuizQuestionFactory(
        quiz=quiz, order=2, text="Which are ICE candidate types?", explanation="Both gather addresses.",
        choices=[("host", True), ("srflx", True), ("dtls", False)],
    )  # fmt: skip
    student = EnrollmentFactory(run=run).user
    LessonProgressFactory(user=student, lesson=first, completed_at=timezone.now(), updated_at=timezone.now())
    return type("Scene", (), {"course": run.course, "last": last, "quiz": quiz, "student": student})


def accessibility_problems(page):
    """Axe at 1280 px, then axe and sideways scrolling at 375 px (the page is reloaded at each width)."""
    problems = []
    for width in (1280, PHONE_WIDTH):
        page.set_viewport_size({"width": width, "height": 800})
        page.reload()
        problems += [f"{width} px: {found}" for found in axe_findings(page)]
        if width == PHONE_WIDTH:
            problems += horizontal_overflow(page) or []
    page.set_viewport_size({"width": 1280, "height": 900})
    return problems


def test_a_student_fails_the_quiz_reads_why_retakes_and_passes(live_server, page, log_in, section_quiz):
    scene = section_quiz
    log_in(scene.student)
    home = f"{live_server.url}/courses/{scene.course.slug}/learn/"
    page.goto(home)
    quiz_row = page.get_by_test_id("section-quiz")
    expect(quiz_row).to_contain_text("Quiz: Signalling quiz")
    expect(quiz_row.locator(".tick")).to_have_count(0)
    expect(page.get_by_text("1 of 3 done")).to_be_visible()

    # Completing the section's last lesson leads to the quiz.
    page.get_by_role("link", name="Trickle ICE").click()
    page.get_by_role("button", name="Mark complete").click()
    expect(page.get_by_role("heading", level=1)).to_have_text("Signalling quiz")
    expect(page.get_by_role("status")).to_contain_text("here is its quiz")
    html = page.content()
    assert EXPLANATION not in html and "correct" not in html.lower()
    assert accessibility_problems(page) == []

    # First attempt: right on question 1, only one of the two on question 2 (a partial answer is wrong).
    first = page.get_by_role("group", name="Question 1")
    first.get_by_label("The signalling channel").check()
    second = page.get_by_role("group", name="Question 2 (choose all that apply)")
    second.get_by_label("host").check()
    page.get_by_role("button", name="Submit answers").click()

    score = page.get_by_test_id("quiz-score")
    expect(score).to_contain_text("Not passed yet: 50%")
    expect(score).to_contain_text("1 of 2 right; the pass mark is 100%")
    expect(page.get_by_text(EXPLANATION)).to_be_visible()
    review = page.locator(".quiz-review-item").nth(1)
    expect(review.get_by_role("heading")).to_have_text("Question 2: wrong")
    expect(review.locator(".quiz-choice", has_text="srflx")).to_contain_text("Correct answer")
    expect(review.locator(".quiz-choice", has_text="host")).to_contain_text("Your answer")
    assert accessibility_problems(page) == []

    page.goto(home)
    expect(page.get_by_text("2 of 3 done")).to_be_visible()
    expect(page.get_by_test_id("section-quiz").locator(".tick")).to_have_count(0)

    # The retake: a fresh form, the best and latest so far above it.
    page.get_by_role("link", name="Quiz: Signalling quiz").click()
    expect(page.get_by_test_id("quiz-history")).to_contain_text("Your best: 50%")
    page.get_by_label("The signalling channel").check()
    page.get_by_label("host").check()
    page.get_by_label("srflx").check()
    page.get_by_role("button", name="Submit answers").click()
    expect(page.get_by_test_id("quiz-score")).to_contain_text("Passed: 100%")
    expect(page.get_by_test_id("quiz-history")).to_contain_text("100% (this attempt)")
    assert QuizAttempt.objects.filter(user=scene.student, quiz=scene.quiz).count() == 2

    # The section is done on the course home only now.
    page.get_by_role("link", name="Back to the course").click()
    expect(page.get_by_text("3 of 3 done (100%)")).to_be_visible()
    quiz_row = page.get_by_test_id("section-quiz")
    expect(quiz_row.locator(".tick")).to_have_count(1)
    expect(quiz_row).to_contain_text("Passed")


def test_the_quiz_works_with_the_keyboard_alone(live_server, page, log_in, section_quiz):
    log_in(section_quiz.student)
    page.goto(f"{live_server.url}/courses/{section_quiz.course.slug}/sections/{section_quiz.quiz.section_id}/quiz/")

    page.get_by_label("The signalling channel").focus()
    page.keyboard.press("Space")
    page.keyboard.press("Tab")  # a radio group is one tab stop: on to the first checkbox
    page.keyboard.press("Space")
    page.keyboard.press("Tab")
    page.keyboard.press("Space")
    page.keyboard.press("Tab")
    page.keyboard.press("Tab")
    expect(page.get_by_role("button", name="Submit answers")).to_be_focused()
    page.keyboard.press("Enter")

    expect(page.get_by_test_id("quiz-score")).to_contain_text("Passed: 100%")
