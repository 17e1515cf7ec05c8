"""What the instructor's dashboard shows, each read in a fixed number of queries whatever the size of the class.

The definitions, made here and nowhere else (the pages, the CSV and the tests use them):
- percent: lessons completed out of all the course's lessons (the student's course home also counts the section quizzes
  passed; their scores are on the student's page and the Quizzes tab).
- video watched: the share of the course's video time the student has seen: for each lesson with a video length
  (`Lesson.video_minutes`), the furthest point they reached (capped at the length), summed, over the sum of lengths.
- last activity: the latest of the student's lesson progress in the course (first opening a lesson, a video
  position, a completion each stamp it) and their visible posts in the course's forum.
- active on a day: the student first opened a lesson, saved a video position or completed a lesson that day, or
  posted in the forum; days are those of the site's calendar (settings.TIME_ZONE), as releases and access windows.
  A lesson's progress keeps only its latest stamp, so a day of work on a lesson that is touched again on a later
  day counts on the later day only.
- not started: opened none of the course's lessons.
- behind: completed fewer lessons than had been released for the student's run BEHIND_AFTER (two weeks) ago,
  so nobody is behind for a lesson that opened less than two weeks ago (enrollment.releases gives the dates).
- inactive: no activity for INACTIVE_AFTER (14 days), or none ever.
- a quiz question missed: wrong in the student's latest attempt at its quiz (a student who got it right on a
  retake no longer counts); the weekly pulse counts the latest attempt of the week. Students are the run's active
  ones; a question added after a student's attempt counts neither way for them.
"""

import zoneinfo
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta

from django.conf import settings
from django.db import connection
from django.db.models import (
    Avg,
    Case,
    Count,
    DateTimeField,
    F,
    FloatField,
    Max,
    OuterRef,
    Q,
    QuerySet,
    Subquery,
    Sum,
    Value,
    When,
)
from django.db.models.functions import Coalesce, Greatest, Least, NullIf, TruncDate
from django.utils import timezone

from courses.models import Lesson, LessonProgress, Question, Quiz, QuizAttempt
from enrollment.models import Enrollment, Run, Tier
from enrollment.releases import ReleaseSchedule, schedule_for
from enrollment.window import access_ends_at
from forum.selectors import posts_in_course

BEHIND_AFTER = timedelta(days=14)
INACTIVE_AFTER = timedelta(days=14)
ACTIVITY_DAYS = 28
DROP_OFF_STEPS = 10  # the drop-off chart's points: 0 %, 10 %, … 100 % of the video

NOT_STARTED, BEHIND, INACTIVE = "not-started", "behind", "inactive"
SHOW_CHOICES = [
    ("", "Everyone"),
    (NOT_STARTED, "Not started"),
    (BEHIND, "Behind (two weeks)"),
    (INACTIVE, "Inactive for 14 days"),
]
# Sort keys offered by the table, and what each orders by (ties by name, then enrollment).
SORTS = {
    "name": ["student_last_name", "student_first_name", "student_email"],
    "email": ["student_email"],
    "tier": ["tier_name"],
    "enrolled": ["enrolled_at"],
    "access_ends": ["access_ends"],
    "last_activity": ["last_activity"],
    "completed": ["completed"],
    "percent": ["completed"],
    "watched": ["watched_seconds"],
}
DEFAULT_SORT = "name"


@dataclass(frozen=True)
class RunFacts:
    """What every dashboard page of a run needs once: its lessons, release dates and tiers (three queries)."""

    run: Run
    lessons: list[Lesson]
    schedule: ReleaseSchedule
    tiers: list[Tier]
    now: datetime

    @property
    def course(self):
        return self.run.course

    @property
    def lesson_count(self) -> int:
        return len(self.lessons)

    @property
    def video_seconds(self) -> int:
        return sum(lesson.video_minutes * 60 for lesson in self.lessons)

    def opens_at(self, lesson) -> datetime:
        """When the lesson opens for the run; one "open from the start" opens with the run."""
        return self.schedule.opens_at(lesson) or self.run.starts_at

    def released_count(self, *, at: datetime) -> int:
        return sum(1 for lesson in self.lessons if self.opens_at(lesson) <= at)

    @property
    def released_now(self) -> int:
        return self.released_count(at=self.now)

    @property
    def behind_below(self) -> int:
        """A student who completed fewer lessons than this is behind: those released two weeks ago."""
        return self.released_count(at=self.now - BEHIND_AFTER)

    def window_end(self, tier: Tier) -> datetime:
        return access_ends_at(starts_at=self.run.starts_at, months=tier.months)


def run_facts(run: Run, *, now=None) -> RunFacts:
    lessons = list(Lesson.objects.filter(course_id=run.course_id).select_related("section").in_syllabus_order())
    tiers = list(Tier.objects.filter(run=run).order_by("months", "price"))
    return RunFacts(run=run, lessons=lessons, schedule=schedule_for(run), tiers=tiers, now=now or timezone.now())


def site_zone():
    return zoneinfo.ZoneInfo(settings.TIME_ZONE)


# --- the students table ---


@dataclass
class Filters:
    tier: int | None = None
    show: str = ""
    sort: str = DEFAULT_SORT
    descending: bool = False

    @property
    def sort_param(self) -> str:
        return f"-{self.sort}" if self.descending else self.sort


def parse_filters(params, *, facts: RunFacts) -> Filters:
    """Read the table's filters from a query string; anything unknown falls back to its default."""
    tier_ids = {tier.pk for tier in facts.tiers}
    try:
        tier = int(params.get("tier", ""))
    except ValueError:
        tier = None
    show = params.get("show", "")
    sort = params.get("sort", DEFAULT_SORT)
    descending = sort.startswith("-")
    sort = sort.removeprefix("-")
    return Filters(
        tier=tier if tier in tier_ids else None,
        show=show if show in dict(SHOW_CHOICES) else "",
        sort=sort if sort in SORTS else DEFAULT_SORT,
        descending=descending and sort in SORTS,
    )


def students(facts: RunFacts, filters: Filters | None = None) -> QuerySet:
    """Return the run's active enrollments, one per student, annotated with the table's numbers, filtered and sorted.

    One query for any number of students (plus a COUNT when paged): the progress numbers are aggregates over one
    join to the student's progress (GROUP BY the enrollment), the last forum post a correlated subquery.
    """
    filters = filters or Filters()
    in_course = Q(user__lesson_progress__lesson__course_id=facts.run.course_id)
    # Integer and float8 arithmetic only: a literal like 60.0 is NUMERIC in Postgres, many times slower per row.
    length = F("user__lesson_progress__lesson__video_minutes") * 60
    last_post = posts_in_course(course=facts.course).filter(author=OuterRef("user_id"))
    last_post = last_post.order_by("-created_at").values("created_at")[:1]
    window_end = Case(
        *[When(tier_id=tier.pk, then=Value(facts.window_end(tier))) for tier in facts.tiers],
        output_field=DateTimeField(),
    )
    rows = (
        Enrollment.objects.filter(run=facts.run, status=Enrollment.Status.ACTIVE)
        .alias(
            last_progress=Max("user__lesson_progress__updated_at", filter=in_course),
            last_post=Subquery(last_post, output_field=DateTimeField()),
            window_end=window_end,
        )
        .annotate(
            # The student's and the tier's fields as aggregates (one value per group), not select_related: the
            # GROUP BY stays the enrollment's key alone, so Postgres estimates one group per student. Grouped by
            # more keys it multiplies their counts, overestimates the query and compiles it with JIT (10× slower).
            student_email=Max("user__email"),
            student_first_name=Max("user__first_name"),
            student_last_name=Max("user__last_name"),
            tier_name=Max("tier__name"),
            opened=Count("user__lesson_progress", filter=in_course),
            completed=Count(
                "user__lesson_progress", filter=in_course & Q(user__lesson_progress__completed_at__isnull=False)
            ),
            watched_seconds=Coalesce(
                Sum(Least(F("user__lesson_progress__furthest_position"), length, output_field=FloatField()),
                    filter=in_course & Q(user__lesson_progress__lesson__video_minutes__gt=0)),
                0.0,
            ),
            last_activity=Greatest(Coalesce("last_progress", "last_post"), Coalesce("last_post", "last_progress")),
            access_ends=Max(Greatest(Coalesce("extended_until", "window_end"), "window_end")),
        )
    )  # fmt: skip
    if filters.tier:
        rows = rows.filter(tier_id=filters.tier)
    if filters.show == NOT_STARTED:
        rows = rows.filter(opened=0)
    elif filters.show == BEHIND:
        rows = rows.filter(completed__lt=facts.behind_below)
    elif filters.show == INACTIVE:
        rows = rows.filter(Q(last_activity__isnull=True) | Q(last_activity__lt=facts.now - INACTIVE_AFTER))
    order = []
    for name in SORTS[filters.sort]:
        expression = F(name)
        order.append(expression.desc(nulls_last=True) if filters.descending else expression.asc(nulls_first=True))
    return rows.order_by(*order, "student_email", "pk")


@dataclass(frozen=True)
class Column:
    key: str  # the sort key, or "" for a column that does not sort
    label: str


COLUMNS = [
    Column("name", "Name"),
    Column("email", "Email"),
    Column("tier", "Tier"),
    Column("enrolled", "Enrolled on"),
    Column("access_ends", "Access ends"),
    Column("last_activity", "Last activity"),
    Column("completed", "Lessons completed"),
    Column("percent", "Percent"),
    Column("watched", "Video watched"),
]


def percent(part, whole) -> int:
    return round(100 * part / whole) if whole else 0


def student_cells(row: Enrollment, *, facts: RunFacts, zone) -> list[str]:
    """Return the table's cells of one student as text: the same strings in the page and in the CSV."""

    def when(moment, fmt="%Y-%m-%d %H:%M"):
        return moment.astimezone(zone).strftime(fmt) if moment else "never"

    return [
        f"{row.student_first_name} {row.student_last_name}".strip() or row.student_email,
        row.student_email,
        row.tier_name,
        when(row.enrolled_at, "%Y-%m-%d"),
        when(row.access_ends, "%Y-%m-%d"),
        when(row.last_activity),
        f"{row.completed} of {facts.lesson_count}",
        f"{percent(row.completed, facts.lesson_count)} %",
        f"{percent(row.watched_seconds, facts.video_seconds)} %" if facts.video_seconds else "no video",
    ]


# --- lessons: the funnel and the drop-off ---


@dataclass
class LessonStats:
    lesson: Lesson
    opens_at: datetime | None
    students: int
    opened: int = 0
    completed: int = 0
    average_watched: float | None = None  # 0..1, of those who opened it; None when the lesson has no video length
    reached: list[int] = field(default_factory=list)  # students past 0 %, 10 %, … 100 % of the video

    @property
    def opened_percent(self):
        return percent(self.opened, self.students)

    @property
    def completed_percent(self):
        return percent(self.completed, self.students)

    @property
    def watched_percent(self):
        return None if self.average_watched is None else round(100 * self.average_watched)

    @property
    def points(self):
        """(percent of the video, students who reached it) for each step of the drop-off chart."""
        return [(step * 100 // DROP_OFF_STEPS, count) for step, count in enumerate(self.reached)]

    @property
    def has_video(self):
        return self.lesson.video_minutes > 0


def student_count(facts: RunFacts) -> int:
    return Enrollment.objects.filter(run=facts.run, status=Enrollment.Status.ACTIVE).count()


def lesson_stats(facts: RunFacts) -> list[LessonStats]:
    """Return each lesson's funnel and drop-off among the run's active students (two queries)."""
    total = student_count(facts)
    length = F("lesson__video_minutes") * 60  # integers and float8 only (see students())
    # Reached step k: furthest / length >= k / STEPS, compared without division as furthest * STEPS >= length * k.
    reached = {
        f"reached_{step}": Count("pk", filter=Q(scaled_furthest__gte=length * step))
        for step in range(DROP_OFF_STEPS + 1)
    }
    students_of_run = Enrollment.objects.filter(run=facts.run, status=Enrollment.Status.ACTIVE).values("user_id")
    aggregated = (
        LessonProgress.objects.filter(lesson__course_id=facts.run.course_id, user_id__in=students_of_run)
        .alias(scaled_furthest=F("furthest_position") * DROP_OFF_STEPS)
        .order_by()
        .values("lesson_id")
        .annotate(
            opened=Count("pk"),
            completed=Count("pk", filter=Q(completed_at__isnull=False)),
            average_watched=Avg(Least(F("furthest_position") / NullIf(length, 0), Value(1), output_field=FloatField())),
            **reached,
        )
    )
    by_lesson = {row["lesson_id"]: row for row in aggregated}
    stats = []
    for lesson in facts.lessons:
        row = by_lesson.get(lesson.pk, {})
        item = LessonStats(lesson=lesson, opens_at=facts.opens_at(lesson), students=total)
        item.opened, item.completed = row.get("opened", 0), row.get("completed", 0)
        if lesson.video_minutes:
            item.average_watched = row.get("average_watched") or 0.0
            item.reached = [row.get(f"reached_{step}", 0) for step in range(DROP_OFF_STEPS + 1)]
        stats.append(item)
    return stats


# --- activity over time ---


@dataclass(frozen=True)
class ActiveDay:
    day: object  # a date on the site's calendar
    students: int


def activity(facts: RunFacts, *, days=ACTIVITY_DAYS) -> list[ActiveDay]:
    """Return how many of the run's students were active on each of the last `days` days, oldest first (one query).

    A student counts once a day however much they did (see the module's definition of "active").
    """
    zone = site_zone()
    today = facts.now.astimezone(zone).date()
    first = today - timedelta(days=days - 1)
    since = datetime.combine(first, datetime.min.time(), tzinfo=zone)
    students_of_run = Enrollment.objects.filter(run=facts.run, status=Enrollment.Status.ACTIVE).values("user_id")
    progress = LessonProgress.objects.filter(lesson__course_id=facts.run.course_id, user_id__in=students_of_run)
    touched = [
        progress.filter(**{f"{stamp}__gte": since}).annotate(day=TruncDate(stamp, tzinfo=zone)).order_by()
        .values_list("user_id", "day")
        for stamp in ("updated_at", "completed_at")
    ]  # fmt: skip
    posts = posts_in_course(course=facts.course).filter(author_id__in=students_of_run, created_at__gte=since)
    touched.append(posts.annotate(day=TruncDate("created_at", tzinfo=zone)).order_by().values_list("author_id", "day"))
    # UNION keeps one row per student and day; Django cannot GROUP BY over a union, so the count is wrapped by hand.
    sql, params = touched[0].union(*touched[1:]).query.sql_with_params()
    with connection.cursor() as cursor:
        cursor.execute(f"SELECT day, COUNT(*) FROM ({sql}) active_days GROUP BY day", params)
        per_day = {day if isinstance(day, date) else date.fromisoformat(day): count for day, count in cursor.fetchall()}
    return [ActiveDay(first + timedelta(days=n), per_day.get(first + timedelta(days=n), 0)) for n in range(days)]


# --- one student ---


@dataclass(frozen=True)
class LessonLine:
    lesson: Lesson
    status: str  # "completed", "opened", "not opened" or "not released"
    when: datetime | None  # completed, last touched, or when it opens


def student_lessons(facts: RunFacts, *, user) -> list[LessonLine]:
    """Return every lesson of the course with the student's status and its date, in syllabus order (one query)."""
    progress = {p.lesson_id: p for p in LessonProgress.objects.filter(user=user, lesson__course_id=facts.run.course_id)}
    lines = []
    for lesson in facts.lessons:
        mine = progress.get(lesson.pk)
        if mine and mine.completed_at:
            lines.append(LessonLine(lesson, "completed", mine.completed_at))
        elif mine:
            lines.append(LessonLine(lesson, "opened", mine.updated_at))
        elif facts.opens_at(lesson) > facts.now:
            lines.append(LessonLine(lesson, "not released", facts.opens_at(lesson)))
        else:
            lines.append(LessonLine(lesson, "not opened", None))
    return lines


@dataclass(frozen=True)
class EmailLine:
    when: datetime
    what: str
    status: str


def emails_to(enrollment: Enrollment, *, extensions, change_emails, reminders=()) -> list[EmailLine]:
    """Return every email the course sent (or queued) to the student, newest first (two queries + the given)."""
    lines = [
        EmailLine(e.sent_at or e.queued_at, e.get_kind_display(), e.get_status_display())
        for e in enrollment.emails.all()
    ]
    lines += [
        EmailLine(e.sent_at or e.created_at, f"Access extended to {e.until.astimezone(site_zone()):%d %B %Y}",
                  e.get_status_display())
        for e in extensions
    ]  # fmt: skip
    lines += [
        EmailLine(e.sent_at or e.queued_at, f"Announcement: {e.announcement.title}", e.get_status_display())
        for e in enrollment.announcement_emails.select_related("announcement")
    ]
    lines += [
        EmailLine(e.sent_at or e.queued_at, f"Office hours {e.get_change_display().lower()}: {e.registration.session}",
                  e.get_status_display())
        for e in change_emails
    ]  # fmt: skip
    lines += [
        EmailLine(
            r.sent_at, f"Office hours reminder ({r.get_kind_display().lower()}): {r.registration.session}", "Sent"
        )
        for r in reminders
    ]
    return sorted(lines, key=lambda line: line.when, reverse=True)


# --- quizzes ---


def course_quizzes(facts: RunFacts) -> list[Quiz]:
    """The course's published quizzes in syllabus order (one query)."""
    quizzes = Quiz.objects.published().filter(section__course_id=facts.run.course_id).select_related("section")
    return list(quizzes.order_by("section__order", "section_id"))


def _students_of_run(facts: RunFacts):
    return Enrollment.objects.filter(run=facts.run, status=Enrollment.Status.ACTIVE).values("user_id")


@dataclass
class QuizSummary:
    quiz: Quiz
    students: int
    attempted: int
    passed: int

    @property
    def attempted_percent(self):
        return percent(self.attempted, self.students)

    @property
    def passed_percent(self):
        return percent(self.passed, self.students)


def quiz_summaries(facts: RunFacts) -> list[QuizSummary]:
    """Each published quiz with how many of the run's students took it and passed it (two queries)."""
    total = student_count(facts)
    mine = Q(attempts__user_id__in=_students_of_run(facts))
    quizzes = (
        Quiz.objects.published()
        .filter(section__course_id=facts.run.course_id)
        .select_related("section")
        .annotate(
            attempted=Count("attempts__user", filter=mine, distinct=True),
            passed=Count("attempts__user", filter=mine & Q(attempts__passed=True), distinct=True),
        )
        .order_by("section__order", "section_id")
    )
    return [QuizSummary(quiz, total, quiz.attempted, quiz.passed) for quiz in quizzes]


@dataclass
class QuizScore:
    quiz: Quiz
    attempts: int = 0
    best: QuizAttempt | None = None
    latest: QuizAttempt | None = None


def student_quiz_scores(facts: RunFacts, *, user) -> list[QuizScore]:
    """Each published quiz with the student's number of attempts, best and latest (two queries)."""
    scores = {quiz.pk: QuizScore(quiz) for quiz in course_quizzes(facts)}
    attempts = QuizAttempt.objects.filter(user=user, quiz_id__in=list(scores)).defer("answers", "wrong_question_ids")
    for attempt in attempts.order_by("submitted_at", "id"):  # oldest first: the latest wins, the first best stays
        score = scores[attempt.quiz_id]
        score.attempts += 1
        score.latest = attempt
        if score.best is None or attempt.score_percent > score.best.score_percent:
            score.best = attempt
    return list(scores.values())


def latest_attempts(*, quizzes, users, since=None, until=None) -> QuerySet:
    """Each user's latest attempt at each of the quizzes (submitted in [since, until) if given): one query."""
    window = Q()
    if since is not None:
        window &= Q(submitted_at__gte=since)
    if until is not None:
        window &= Q(submitted_at__lt=until)
    latest = (
        QuizAttempt.objects.filter(window, quiz=OuterRef("quiz_id"), user=OuterRef("user_id"))
        .order_by("-submitted_at", "-id")
        .values("pk")[:1]
    )
    return QuizAttempt.objects.filter(window, quiz__in=quizzes, user_id__in=users).filter(pk=Subquery(latest))


@dataclass
class MissedQuestion:
    question: Question
    number: int  # its place in its quiz
    missed: int = 0  # students whose latest attempt got it wrong
    answered: int = 0  # students whose latest attempt had it

    @property
    def missed_percent(self):
        return percent(self.missed, self.answered)


def _count_missed(questions: list[Question], attempts) -> list[MissedQuestion]:
    numbers, place = {}, {}
    for question in questions:
        place[question.quiz_id] = place.get(question.quiz_id, 0) + 1
        numbers[question.pk] = MissedQuestion(question, place[question.quiz_id])
    for answers, wrong in attempts.values_list("answers", "wrong_question_ids"):
        for key in answers:
            if (item := numbers.get(int(key))) is not None:
                item.answered += 1
        for pk in wrong:
            if (item := numbers.get(pk)) is not None:
                item.missed += 1
    return sorted(numbers.values(), key=lambda item: (-item.missed, item.question.quiz_id, item.number))


def missed_questions(facts: RunFacts, quiz: Quiz) -> list[MissedQuestion]:
    """Each question of the quiz with how many of the run's students got it wrong in their latest attempt, most
    missed first (two queries)."""
    questions = list(quiz.questions.all())
    return _count_missed(questions, latest_attempts(quizzes=[quiz], users=_students_of_run(facts)))


def most_missed_questions(facts: RunFacts, *, since, until, limit=3) -> list[MissedQuestion]:
    """The questions the run's students missed most in their latest attempt of the week (two queries); only
    questions missed at least once."""
    quizzes = Quiz.objects.published().filter(section__course_id=facts.run.course_id)
    questions = list(
        Question.objects.filter(quiz__in=quizzes).select_related("quiz__section").order_by("quiz_id", "order", "id")
    )
    attempts = latest_attempts(quizzes=quizzes, users=_students_of_run(facts), since=since, until=until)
    return [item for item in _count_missed(questions, attempts) if item.missed][:limit]
