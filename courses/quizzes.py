"""Section quizzes: which ones a student has passed. (Taking and scoring a quiz: courses.services.)"""

from .models import Quiz, QuizAttempt


def published_quiz_ids(course) -> set[int]:
    """The ids of the course's published quizzes (one query)."""
    return set(Quiz.objects.published().filter(section__course=course).values_list("id", flat=True))


def passed_quiz_ids(*, user, course) -> set[int]:
    """The ids of the course's published quizzes this user has passed at least once (one query)."""
    if user is None or not user.is_authenticated:
        return set()
    attempts = QuizAttempt.objects.filter(
        user=user, passed=True, quiz__is_published=True, quiz__section__course=course
    )
    return set(attempts.values_list("quiz_id", flat=True).distinct())


def passed_every_quiz(*, user, course) -> bool:
    """Whether the user passed every published quiz of the course (True when it has none)."""
    return published_quiz_ids(course) <= passed_quiz_ids(user=user, course=course)
