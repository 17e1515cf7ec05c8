"""Writes to course progress. Callers check access first (enrollment.access)."""

from datetime import UTC, datetime, timedelta

from django.db import IntegrityError, connection, transaction
from django.db.models import Value
from django.db.models.functions import Greatest
from django.utils import timezone
from django.utils.dateparse import parse_datetime

from .models import CourseVisit, Lesson, LessonProgress, Quiz, QuizAttempt

# Quiz answers the form cannot have sent: a clear error, and nothing recorded.
QUIZ_EMPTY = "This quiz has no questions yet."
QUIZ_OTHER_FORM = "This form belongs to another quiz: open the quiz again and submit it from there."
QUIZ_UNKNOWN_QUESTION = "The answers name a question that is not in this quiz: reload the quiz and answer again."
QUIZ_UNKNOWN_CHOICE = "An answer to question {number} is not one of its choices: reload the quiz and answer again."
QUIZ_ONE_CHOICE = "Question {number} takes one answer: choose one."
QUIZ_UNANSWERED = "Answer every question: {numbers} no answer yet."


class QuizRefused(ValueError):
    """Answers that cannot be scored; `message` says why, for the student."""

    def __init__(self, message):
        super().__init__(message)
        self.message = message


# Watching this share of a lesson's video (its furthest point, never a flag from the page) completes the lesson.
WATCHED_SHARE = 0.9

# Views of the course home this close together are one visit: going back and forth between the lessons and
# the syllabus keeps the "new" marks; they clear at the next visit.
VISIT_GAP = timedelta(minutes=30)
# A view this soon after the recorded last one writes nothing (record_course_visit).
VISIT_SEEN_EVERY = timedelta(minutes=1)


def set_lesson_completed(*, user, lesson: Lesson, completed: bool, now=None) -> LessonProgress:
    """Mark the lesson complete or not; posting the same state twice changes nothing more."""
    now = now or timezone.now()
    with transaction.atomic():
        progress, _ = LessonProgress.objects.select_for_update().get_or_create(
            user=user, lesson=lesson, defaults={"updated_at": now}
        )
        if completed and progress.completed_at is None:
            progress.completed_at = now
        elif not completed:
            progress.completed_at = None
        progress.updated_at = now
        progress.save(update_fields=["completed_at", "updated_at"])
    return progress


def record_lesson_opened(*, user, lesson: Lesson, now=None) -> LessonProgress:
    """Return the student's progress of the lesson, recording the first time they opened it (the dashboard counts
    openings). Opening it again changes nothing: where to continue follows what the student did, not what they saw.

    On Postgres one statement, which writes only the first time: insert the row unless it exists, and return the
    row either way.
    """
    now = now or timezone.now()
    if connection.vendor == "postgresql":
        table = connection.ops.quote_name(LessonProgress._meta.db_table)
        columns = "id, user_id, lesson_id, completed_at, video_position, furthest_position, updated_at"
        # The SELECT sees the table as it was when the statement began: the row if it existed, else nothing,
        # and then the CTE's new row.
        sql = (
            f"WITH opened AS (INSERT INTO {table} (user_id, lesson_id, video_position, furthest_position, updated_at) "
            f"VALUES (%s, %s, 0, 0, %s) ON CONFLICT (user_id, lesson_id) DO NOTHING RETURNING {columns}) "
            f"SELECT {columns} FROM opened "
            f"UNION ALL SELECT {columns} FROM {table} WHERE user_id = %s AND lesson_id = %s"
        )
        found = list(LessonProgress.objects.raw(sql, [user.pk, lesson.pk, now, user.pk, lesson.pk]))
        if found:
            return found[0]
        # Created by a request that committed after this statement began: it is there now.
    progress, _ = LessonProgress.objects.get_or_create(user=user, lesson=lesson, defaults={"updated_at": now})
    return progress


def record_video_position(
    *, user, lesson: Lesson, seconds: float, duration: float | None = None, now=None
) -> LessonProgress:
    """Remember where the student is in the lesson's video, so the next visit resumes there.

    The furthest point reached only moves forward (the dashboard's drop-off chart reads it); it is raised
    in the UPDATE itself, so two tabs reporting at once cannot lower it. Given the video's `duration`, a
    furthest point at WATCHED_SHARE of it or beyond completes the lesson (once: the first time stays).
    """
    now = now or timezone.now()
    seconds = max(0.0, float(seconds))
    progress, created = LessonProgress.objects.get_or_create(
        user=user,
        lesson=lesson,
        defaults={"video_position": seconds, "furthest_position": seconds, "updated_at": now},
    )
    if not created:
        LessonProgress.objects.filter(pk=progress.pk).update(
            video_position=seconds, furthest_position=Greatest("furthest_position", Value(seconds)), updated_at=now
        )
        progress.video_position, progress.updated_at = seconds, now
        progress.furthest_position = max(progress.furthest_position, seconds)
    if duration and progress.completed_at is None:
        # Decided on the stored furthest point, in one UPDATE, so a concurrent report cannot complete it twice.
        if LessonProgress.objects.filter(
            pk=progress.pk, completed_at__isnull=True, furthest_position__gte=WATCHED_SHARE * duration
        ).update(completed_at=now):
            progress.completed_at = now
    return progress


def record_course_visit(*, user, course, now=None) -> datetime | None:
    """Record a view of the course home; return the end of the previous visit (None: the first visit).

    A view more than VISIT_GAP after the last one starts a new visit, and the last one's time becomes the point
    the marks count from. The row is written only when its last view is more than VISIT_SEEN_EVERY old: a
    student going back and forth between the lessons and the syllabus costs no write (the visit's end is known
    to that precision). One statement: an upsert that returns the row (on Postgres, without writing it then).
    """
    now = now or timezone.now()
    table = connection.ops.quote_name(CourseVisit._meta.db_table)
    # Postgres and SQLite (3.35+) both speak INSERT … ON CONFLICT … RETURNING; in SET, the table's name is the
    # row as it was. The last view moves forward only, and only once it is VISIT_SEEN_EVERY old.
    insert = (
        f"INSERT INTO {table} (user_id, course_id, last_seen_at, previous_visit_at) VALUES (%s, %s, %s, NULL) "
        f"ON CONFLICT (user_id, course_id) DO UPDATE SET "
        f"previous_visit_at = CASE WHEN {table}.last_seen_at < %s THEN {table}.last_seen_at "
        f"ELSE {table}.previous_visit_at END, "
    )
    field = CourseVisit._meta.get_field("last_seen_at")
    now_value, gap_start, seen_before = (
        field.get_db_prep_value(value, connection) for value in (now, now - VISIT_GAP, now - VISIT_SEEN_EVERY)
    )
    with connection.cursor() as cursor:
        if connection.vendor == "postgresql":
            # Not written when seen a moment ago (or for a view out of order): the row as it is answers.
            cursor.execute(
                f"WITH seen AS ({insert} last_seen_at = excluded.last_seen_at WHERE {table}.last_seen_at < %s "
                f"RETURNING previous_visit_at) SELECT previous_visit_at FROM seen UNION ALL SELECT previous_visit_at "
                f"FROM {table} WHERE user_id = %s AND course_id = %s AND NOT EXISTS (SELECT 1 FROM seen)",
                [user.pk, course.pk, now_value, gap_start, seen_before, user.pk, course.pk],
            )
        else:  # SQLite writes the row as it was when nothing changes (no data-modifying WITH there)
            cursor.execute(
                f"{insert} last_seen_at = CASE WHEN {table}.last_seen_at < %s THEN excluded.last_seen_at "
                f"ELSE {table}.last_seen_at END RETURNING previous_visit_at",
                [user.pk, course.pk, now_value, gap_start, seen_before],
            )
        row = cursor.fetchone()
    previous = row[0] if row else None
    if isinstance(previous, str):  # SQLite answers raw SQL with text, in UTC
        previous = parse_datetime(previous)
    if previous is not None and timezone.is_naive(previous):
        previous = previous.replace(tzinfo=UTC)
    return previous


def submit_quiz(*, user, quiz: Quiz, submission, answers: dict, now=None) -> QuizAttempt:
    """Score the answers on the server and record the attempt; return it.

    `answers` maps question ids to the choice ids ticked. A question is right when the ticked set is exactly
    its correct set (a partial tick is wrong). The same form (`submission`) posted again records nothing more
    and returns the first attempt (the unique constraint decides between two posts at once). Raise QuizRefused,
    recording nothing, for answers the quiz's form cannot have sent or a question left unanswered.
    """
    now = now or timezone.now()
    existing = QuizAttempt.objects.filter(user=user, submission=submission).first()
    if existing is not None:
        if existing.quiz_id != quiz.pk:
            raise QuizRefused(QUIZ_OTHER_FORM)
        return existing
    questions = list(quiz.questions.prefetch_related("choices"))
    if not questions:
        raise QuizRefused(QUIZ_EMPTY)
    ticked = _validated_answers(questions, answers)
    wrong = []
    for question in questions:
        correct = {choice.pk for choice in question.choices.all() if choice.is_correct}
        if ticked[question.pk] != correct:
            wrong.append(question.pk)
    count = len(questions)
    right = count - len(wrong)
    fields = {
        "quiz": quiz,
        "answers": {str(pk): sorted(ids) for pk, ids in ticked.items()},
        "wrong_question_ids": wrong,
        "correct_count": right,
        "question_count": count,
        "score_percent": round(100 * right / count),
        "passed": 100 * right >= quiz.pass_percent * count,  # exact: 7 of 10 passes a 70 % mark, 69.9 % does not
        "submitted_at": now,
    }
    try:
        with transaction.atomic():
            return QuizAttempt.objects.create(user=user, submission=submission, **fields)
    except IntegrityError:  # the same form posted twice at once: the other post recorded it
        existing = QuizAttempt.objects.get(user=user, submission=submission)
        if existing.quiz_id != quiz.pk:
            raise QuizRefused(QUIZ_OTHER_FORM) from None
        return existing


def _validated_answers(questions, answers: dict) -> dict[int, set[int]]:
    """Return question id → the set of choice ids ticked, or raise QuizRefused."""
    by_id = {question.pk: (number, question) for number, question in enumerate(questions, start=1)}
    ticked = {question.pk: set() for question in questions}
    for raw_question, raw_choices in answers.items():
        try:
            question_id = int(raw_question)
            choice_ids = {int(choice) for choice in raw_choices}
        except (TypeError, ValueError):
            raise QuizRefused(QUIZ_UNKNOWN_QUESTION) from None
        if question_id not in by_id:
            raise QuizRefused(QUIZ_UNKNOWN_QUESTION)
        number, question = by_id[question_id]
        choices = question.choices.all()
        if not choice_ids <= {choice.pk for choice in choices}:
            raise QuizRefused(QUIZ_UNKNOWN_CHOICE.format(number=number))
        if len(choice_ids) > 1 and sum(1 for choice in choices if choice.is_correct) == 1:
            raise QuizRefused(QUIZ_ONE_CHOICE.format(number=number))
        ticked[question_id] = choice_ids
    unanswered = [str(by_id[pk][0]) for pk, ids in ticked.items() if not ids]
    if unanswered:
        if len(unanswered) == 1:
            numbers = f"question {unanswered[0]} has"
        else:
            numbers = f"questions {', '.join(unanswered)} have"
        raise QuizRefused(QUIZ_UNANSWERED.format(numbers=numbers))
    return ticked
