"""Section quizzes: which ones a student has passed. (Taking and scoring a quiz: courses.services.)"""

from dataclasses import dataclass

from .models import Choice, Lesson, Question, Quiz, QuizAttempt


def published_quiz_ids(course) -> set[int]:
    """The ids of the course's published quizzes (one query)."""
    return set(Quiz.objects.published().filter(section__course=course).values_list("id", flat=True))


def passed_quiz_ids(*, user, course) -> set[int]:
    """The ids of the course's published quizzes this user has passed at least once (one query)."""
    if user is None or not user.is_authenticated:
        return set()
    attempts = QuizAttempt.objects.filter(user=user, passed=True, quiz__is_published=True, quiz__section__course=course)
    return set(attempts.values_list("quiz_id", flat=True).distinct())


def passed_every_quiz(*, user, course) -> bool:
    """Whether the user passed every published quiz of the course (True when it has none)."""
    return published_quiz_ids(course) <= passed_quiz_ids(user=user, course=course)


@dataclass
class QuizQuestion:
    """A question as the quiz page shows it: its choices, and whether the student may tick several."""

    number: int
    question: Question
    choices: list[Choice]
    multiple: bool  # more than one correct choice: "choose all that apply" (checkboxes)

    @property
    def field_name(self) -> str:
        return f"question-{self.question.pk}"


def quiz_questions(quiz) -> list[QuizQuestion]:
    """Return the quiz's questions in order with their choices (two queries)."""
    questions = quiz.questions.prefetch_related("choices")
    return [
        QuizQuestion(
            number=number,
            question=question,
            choices=list(question.choices.all()),
            multiple=sum(1 for choice in question.choices.all() if choice.is_correct) > 1,
        )
        for number, question in enumerate(questions, start=1)
    ]


@dataclass
class ReviewedChoice:
    choice: Choice
    ticked: bool
    correct: bool


@dataclass
class ReviewedQuestion:
    item: QuizQuestion
    choices: list[ReviewedChoice]
    answered: bool  # False: the question was added to the quiz after this attempt
    right: bool


def review(attempt, questions: list[QuizQuestion]) -> list[ReviewedQuestion]:
    """Return each question with what the attempt ticked and what was correct (no queries)."""
    reviewed = []
    wrong = set(attempt.wrong_question_ids)
    for item in questions:
        key = str(item.question.pk)
        ticked = set(attempt.answers.get(key, []))
        reviewed.append(
            ReviewedQuestion(
                item=item,
                choices=[ReviewedChoice(c, c.pk in ticked, c.is_correct) for c in item.choices],
                answered=key in attempt.answers,
                right=key in attempt.answers and item.question.pk not in wrong,
            )
        )
    return reviewed


def best_and_latest(*, user, quiz) -> tuple:
    """Return the user's best attempt (highest score, earliest first) and latest one, or (None, None) (one query)."""
    attempts = list(QuizAttempt.objects.filter(user=user, quiz=quiz).only(
        "id", "quiz_id", "user_id", "score_percent", "correct_count", "question_count", "passed", "submitted_at"
    ))  # fmt: skip
    if not attempts:
        return None, None
    best = max(reversed(attempts), key=lambda attempt: attempt.score_percent)
    return best, attempts[0]


def quiz_after(lesson, *, user):
    """Return the published quiz of the lesson's section if the lesson is the section's last and the user has not
    passed the quiz yet, else None (two queries)."""
    quiz = Quiz.objects.published().filter(section_id=lesson.section_id).first()
    if quiz is None:
        return None
    last = Lesson.objects.filter(section_id=lesson.section_id).order_by("-order", "-id").values_list("id", flat=True)
    if last.first() != lesson.pk:
        return None
    if QuizAttempt.objects.filter(user=user, quiz=quiz, passed=True).exists():
        return None
    return quiz
