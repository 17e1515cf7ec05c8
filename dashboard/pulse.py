"""The instructor's weekly pulse: one email a week to each staff member, composed of the dashboard's numbers.

Who. Every active staff user with an address (no opt-out: it is the staff's own report; a staff member who
does not want it can filter it in their mail app). Checked again when sending: a user who lost staff status,
was deactivated or lost their address since the queuing gets nothing (the row is marked skipped).

When. A pulse belongs to an ISO week of the staff member's own calendar (mail.recipient_zone) and is due from
Monday PULSE_LOCAL_HOUR:00 in that zone: the first beat tick at or after it queues it, later ticks of that week
find it done. A staff member in Tokyo gets it hours before one in New York, each on their Monday morning.

What. It covers the previous week, Monday 00:00 to Monday 00:00 in the staff member's zone (stored on the row),
for every run that is running (started, its longest tier's window not over) with active students, and every run
with sign-ups or refunds in that week: students behind (dashboard.selectors' definition: the dashboard's "behind"
filter), questions waiting more than WAITING_AFTER (the dashboard's unanswered queue: forum and office hours),
the DROP_OFF_LESSONS lessons the most students opened and did not complete (the dashboard's lesson funnel), the
MISSED_QUESTIONS quiz questions most students got wrong in their latest attempt of the week (the dashboard's quiz page),
sign-ups (enrollments made in the week) and refunds (payments refunded in the week). Behind and waiting are as
they stand when the pulse is sent; links go to the dashboard (and each forum question to its thread).
A quiet week (nobody behind, nothing waiting, no sign-up, no refund, in any run) sends nothing: the row is
marked skipped, so the week is not evaluated again.

How. As the other outboxes (enrollment.release_digests): the tick queues one WeeklyPulse row per staff member
and week (unique: two ticks or two workers at once add one), then claims each queued row (SELECT … FOR UPDATE
SKIP LOCKED), hands its message to SMTP and marks it sent in one transaction. What a killed worker left queued
goes at the next tick, with the same Message-ID (one per staff member and week).
"""

from dataclasses import dataclass, field
from datetime import UTC, datetime, time, timedelta
from urllib.parse import urlencode

from django.contrib.auth import get_user_model
from django.core.mail import EmailMultiAlternatives
from django.db.models import Count, Max, Q
from django.urls import reverse
from django.utils import timezone

from courseweb import mail
from enrollment.models import Enrollment, Payment, Run
from enrollment.window import access_ends_at
from forum.selectors import unanswered_threads
from officehours.selectors import unanswered_questions

from . import selectors
from .models import WeeklyPulse

PULSE_LOCAL_HOUR = 8  # Monday, in the staff member's zone
WAITING_AFTER = timedelta(hours=24)
TOP = 10  # students, questions, sign-ups and refunds listed by name (the counts are complete)
DROP_OFF_LESSONS = 3
MISSED_QUESTIONS = 3


def pulse_week(user, *, now: datetime) -> tuple:
    """Return (Monday, due at, covers from, covers until) of the user's pulse of the ISO week of `now`.

    The pulse of a week is due on its Monday at PULSE_LOCAL_HOUR in the user's zone, and covers the week before.
    """
    zone = mail.recipient_zone(user)
    local = now.astimezone(zone)
    monday = local.date() - timedelta(days=local.weekday())

    def at(day, hour=0):
        return datetime.combine(day, time(hour), tzinfo=zone).astimezone(UTC)

    return monday, at(monday, PULSE_LOCAL_HOUR), at(monday - timedelta(days=7)), at(monday)


def staff_recipients():
    return get_user_model().objects.filter(is_active=True, is_staff=True).exclude(email="")


def queue_due(*, now=None) -> int:
    """Queue this week's pulse for every staff member whose Monday morning has come; idempotent. Return how many."""
    now = now or timezone.now()
    rows = []
    for user in staff_recipients().order_by("pk"):  # id order: two ticks inserting the same rows wait, not deadlock
        monday, due_at, covers_from, covers_until = pulse_week(user, now=now)
        if now >= due_at:
            rows.append(WeeklyPulse(user=user, week_of=monday, covers_from=covers_from, covers_until=covers_until,
                                    queued_at=now))  # fmt: skip
    if not rows:
        return 0
    before = WeeklyPulse.objects.count()
    WeeklyPulse.objects.bulk_create(rows, ignore_conflicts=True)
    return WeeklyPulse.objects.count() - before


def send_due(*, now=None) -> int:
    """The beat job: queue what is due, then deliver every queued pulse; return how many were sent."""
    now = now or timezone.now()
    queue_due(now=now)
    return deliver_queued(now=now)


def deliver_queued(*, now=None) -> int:
    """Claim, send and mark each queued pulse, one transaction each; return how many were sent. Safe to run twice.

    Errors that may pass (SMTP down, 4xx) propagate and leave the row being sent queued for the next tick.
    """
    now = now or timezone.now()
    queued = WeeklyPulse.objects.filter(status=WeeklyPulse.Status.QUEUED).order_by("pk").values_list("pk", flat=True)
    reports = {}  # the same week for several staff members in one zone: composed once

    def message_for(row):
        user = row.user
        if not (user.is_active and user.is_staff and user.email):
            return None
        span = (row.covers_from, row.covers_until)
        if span not in reports:
            reports[span] = week_report(covers_from=row.covers_from, covers_until=row.covers_until, now=now)
        return build_message(row, reports[span])

    return mail.deliver_outbox(queued, claim=_claim, message_for=message_for)


def _claim(pk: int) -> WeeklyPulse | None:
    """Lock the row if it is still queued and no other transaction holds it; None when it is taken or done.

    Call inside the transaction that sends the email.
    """
    return (
        WeeklyPulse.objects.select_for_update(skip_locked=True, of=("self",))
        .select_related("user")
        .filter(pk=pk, status=WeeklyPulse.Status.QUEUED)
        .first()
    )


# --- what the pulse says ---


@dataclass
class Link:
    label: str
    url: str
    detail: str = ""
    when: datetime | None = None


@dataclass
class RunReport:
    run: object
    running: bool
    students: int = 0
    behind_below: int = 0  # completed fewer than this: behind
    behind_count: int = 0
    behind: list[Link] = field(default_factory=list)
    waiting_count: int = 0
    waiting: list[Link] = field(default_factory=list)  # forum and office-hours questions, oldest first
    drop_off: list = field(default_factory=list)  # LessonStats, largest opened-but-not-completed first
    missed: list[Link] = field(default_factory=list)  # quiz questions most missed in the week, most first
    signup_count: int = 0
    signups: list[Link] = field(default_factory=list)
    refund_count: int = 0
    refunds: list[Link] = field(default_factory=list)
    urls: dict = field(default_factory=dict)

    @property
    def behind_more(self) -> int:
        return self.behind_count - len(self.behind)

    @property
    def waiting_more(self) -> int:
        return self.waiting_count - len(self.waiting)

    @property
    def has_news(self) -> bool:
        return bool(self.behind_count or self.waiting_count or self.signup_count or self.refund_count)


def _dashboard(name, run, *args, query=None) -> str:
    path = reverse(f"dashboard:{name}", args=[run.slug, *args])
    return mail.absolute(f"{path}?{urlencode(query)}" if query else path)


def _name(user) -> str:
    return f"{user.first_name} {user.last_name}".strip() or user.email


def week_report(*, covers_from: datetime, covers_until: datetime, now=None) -> list[RunReport]:
    """Return what the pulse of a week says, one RunReport per run worth reporting, by start date.

    A fixed number of queries per run whatever the class size (the dashboard's selectors).
    """
    now = now or timezone.now()
    in_week = Q(enrolled_at__gte=covers_from, enrolled_at__lt=covers_until)
    signups = Enrollment.objects.filter(in_week).select_related("user", "tier").order_by("enrolled_at", "pk")
    refunds = (
        Payment.objects.filter(refunded_at__gte=covers_from, refunded_at__lt=covers_until, enrollment__isnull=False)
        .select_related("enrollment__user")
        .order_by("refunded_at", "pk")
    )
    signups_by_run, refunds_by_run = {}, {}
    for enrollment in signups:
        signups_by_run.setdefault(enrollment.run_id, []).append(enrollment)
    for payment in refunds:
        refunds_by_run.setdefault(payment.enrollment.run_id, []).append(payment)
    runs = (
        Run.objects.select_related("course")
        .annotate(longest=Max("tiers__months"),
                  students=Count("enrollments", filter=Q(enrollments__status=Enrollment.Status.ACTIVE), distinct=True))
        .order_by("starts_at", "pk")
    )  # fmt: skip
    reports = []
    for run in runs:
        running = bool(
            run.students and run.longest and run.starts_at <= now < access_ends_at(starts_at=run.starts_at,
                                                                                   months=run.longest)
        )  # fmt: skip
        if not (running or run.pk in signups_by_run or run.pk in refunds_by_run):
            continue
        report = RunReport(run=run, running=running, students=run.students)
        report.urls = {
            "students": _dashboard("students", run),
            "behind": _dashboard("students", run, query={"show": selectors.BEHIND, "sort": "completed"}),
            "lessons": _dashboard("lessons", run),
            "unanswered": _dashboard("unanswered", run),
            "quizzes": _dashboard("quizzes", run),
        }
        if running:
            _progress(report, now=now, covers_from=covers_from, covers_until=covers_until)
        mine = signups_by_run.get(run.pk, [])
        report.signup_count = len(mine)
        report.signups = [
            Link(_name(e.user), _dashboard("student", run, e.pk), detail=f"{e.user.email}, {e.tier.name}",
                 when=e.enrolled_at)
            for e in mine[:TOP]
        ]  # fmt: skip
        mine = refunds_by_run.get(run.pk, [])
        report.refund_count = len(mine)
        report.refunds = [
            Link(_name(p.enrollment.user), _dashboard("student", run, p.enrollment_id),
                 detail=f"{p.enrollment.user.email}, {p.amount_total / 100:.2f} {p.currency.upper()}",
                 when=p.refunded_at)
            for p in mine[:TOP]
        ]  # fmt: skip
        reports.append(report)
    return reports


def _progress(report: RunReport, *, now, covers_from, covers_until) -> None:
    """Fill in who is behind, what waits and where students drop off, as the dashboard shows them now, and the
    quiz questions missed most in the week."""
    run = report.run
    facts = selectors.run_facts(run, now=now)
    report.behind_below = facts.behind_below
    behind = selectors.students(facts, selectors.Filters(show=selectors.BEHIND, sort="completed"))
    report.behind_count = behind.count()
    report.behind = [
        Link(
            f"{row.student_first_name} {row.student_last_name}".strip() or row.student_email,
            _dashboard("student", run, row.pk),
            detail=f"{row.completed} of {facts.lesson_count} lessons completed",
        )
        for row in behind[:TOP]
    ]
    before = now - WAITING_AFTER
    waiting = [
        Link(thread.title, mail.absolute(reverse("forum:thread", args=[run.course.slug, thread.pk])),
             detail=f"forum question by {_name(thread.author)}", when=thread.created_at)
        for thread in unanswered_threads(course=run.course) if thread.created_at < before
    ]  # fmt: skip
    waiting += [
        Link(question.text, report.urls["unanswered"], detail=f"office-hours question ({question.session.title}), by "
             f"{_name(question.author)}", when=question.created_at)
        for question in unanswered_questions(run=run) if question.created_at < before
    ]  # fmt: skip
    waiting.sort(key=lambda link: link.when)
    report.waiting_count = len(waiting)
    report.waiting = waiting[:TOP]
    stats = [item for item in selectors.lesson_stats(facts) if item.opened > item.completed]
    order = {lesson.pk: n for n, lesson in enumerate(facts.lessons)}
    stats.sort(key=lambda item: (-(item.opened - item.completed), order[item.lesson.pk]))
    report.drop_off = stats[:DROP_OFF_LESSONS]
    missed = selectors.most_missed_questions(facts, since=covers_from, until=covers_until, limit=MISSED_QUESTIONS)
    report.missed = [
        Link(str(item.question), _dashboard("quiz", run, item.question.quiz_id),
             detail=f"{item.question.quiz.section.title}: {item.question.quiz.title}, question {item.number}; "
                    f"{item.missed} of {item.answered} student{'' if item.answered == 1 else 's'} wrong")
        for item in missed
    ]  # fmt: skip


def _plural(count, word, plural=None) -> str:
    return f"{count} {word if count == 1 else plural or word + 's'}"


def subject_for(reports: list[RunReport], *, week_of) -> str:
    behind = sum(report.behind_count for report in reports)
    waiting = sum(report.waiting_count for report in reports)
    signups = sum(report.signup_count for report in reports)
    refunds = sum(report.refund_count for report in reports)
    parts = [
        _plural(behind, "student") + " behind" if behind else "",
        _plural(waiting, "question") + " waiting" if waiting else "",
        _plural(signups, "sign-up") if signups else "",
        _plural(refunds, "refund") if refunds else "",
    ]
    return f"Weekly pulse, {week_of.day} {week_of:%B}: {', '.join(part for part in parts if part)}"


def build_message(row: WeeklyPulse, reports: list[RunReport]) -> EmailMultiAlternatives | None:
    """Render one staff member's pulse in their zone; None for a quiet week (nothing to report in any run).

    Its Message-ID comes from the user and the week: a repeat after a worker died mid-hand-over is the same message.
    """
    if not any(report.has_news for report in reports):
        return None
    user = row.user
    zone = mail.recipient_zone(user)
    context = {
        "user": user,
        "reports": reports,
        "week_of": row.week_of,
        "covers_from": timezone.localtime(row.covers_from, zone),
        "covers_until": timezone.localtime(row.covers_until, zone) - timedelta(seconds=1),
        "waiting_hours": int(WAITING_AFTER.total_seconds() // 3600),
        "dashboard_url": mail.absolute(reverse("dashboard:index")),
    }
    return mail.render(
        "weekly_pulse", to=user.email, subject=subject_for(reports, week_of=row.week_of), context=context, zone=zone,
        headers={"X-Courseweb-Email": f"weekly-pulse:{row.week_of.isoformat()}", "Auto-Submitted": "auto-generated"},
        message_id=mail.message_id("weekly-pulse", row.user_id, row.week_of.isoformat()),
    )  # fmt: skip
