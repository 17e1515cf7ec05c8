"""Reads the office-hours pages and the calendar feed compose. Views ask the access policy before they call these."""

from dataclasses import dataclass
from datetime import timedelta

from django.db.models import Count, Exists, OuterRef
from django.shortcuts import get_object_or_404
from django.utils import timezone

from courses.content import built, content_version
from courses.models import Course
from enrollment.access import CourseAccess

from .models import CalendarFeed, ChangeEmail, Question, QuestionVote, Registration, Reminder, Session, WeeklySlot

# A feed keeps the sessions of the last weeks, so that calendar apps do not drop what already happened.
FEED_KEEPS_PAST = timedelta(days=30)


def visible_sessions(*, course, access):
    """Return the sessions the viewer may see: those of their enrollment's run; staff see every run of the course."""
    sessions = Session.objects.filter(run__course=course).select_related("run")
    if not access.is_staff:
        sessions = sessions.filter(run=access.enrollment.run)
    return sessions


def session_or_404(*, course, access, pk) -> Session:
    """Return one session the viewer may see, else raise Http404."""
    return get_object_or_404(visible_sessions(course=course, access=access), pk=pk)


def question_or_404(*, course, access, pk) -> Question:
    """Return one question of a session the viewer may see, with its session, else raise Http404."""
    questions = Question.objects.select_related("session").filter(
        session__in=visible_sessions(course=course, access=access)
    )
    return get_object_or_404(questions, pk=pk)


@dataclass
class SessionRow:
    """A session as one viewer sees it: the meeting link only when the policy allows it now."""

    session: Session
    registered: bool
    taken: int
    meeting_url: str
    link_message: str

    @property
    def is_full(self):
        return self.session.capacity is not None and self.taken >= self.session.capacity

    @property
    def seats_left(self):
        return None if self.session.capacity is None else max(0, self.session.capacity - self.taken)


def session_rows(sessions, *, access, user) -> list[SessionRow]:
    """Return one row per session, in time order, with its seats taken and the viewer's sign-up and link."""
    # Meta.ordering does not apply to aggregated queries: order explicitly.
    sessions = sessions.annotate(
        taken=Count("registrations", distinct=True),
        registered=Exists(Registration.objects.filter(session=OuterRef("pk"), user=user)),
    ).order_by("starts_at", "pk")
    rows = []
    for session in sessions:
        link = access.meeting_link(starts_at=session.starts_at, ends_at=session.ends_at, registered=session.registered)
        rows.append(SessionRow(
            session=session, registered=session.registered, taken=session.taken,
            meeting_url=session.meeting_url if link and not session.is_cancelled else "",
            link_message="" if link else link.message,
        ))  # fmt: skip
    return rows


def past_sessions(sessions, *, at):
    """Return the sessions over at `at` (not cancelled), newest first, with what a list of them shows (one query)."""
    return list(
        sessions.past(at=at).scheduled().select_related(None).order_by("-starts_at")
        .only("pk", "run_id", "title", "starts_at", "ends_at", "status", "recording_url", "notes")
    )  # fmt: skip


def session_row(*, session, access, user) -> SessionRow:
    """Return the row of one session, as in `session_rows`."""
    [row] = session_rows(Session.objects.filter(pk=session.pk), access=access, user=user)
    return row


def session_questions(*, session, user):
    """Return the session's questions, most wanted first; each knows whether this user voted for it."""
    return (
        Question.objects.filter(session=session)
        .select_related("author")
        .annotate(
            vote_count=Count("votes", distinct=True),
            voted=Exists(QuestionVote.objects.filter(question=OuterRef("pk"), user=user)),
        )
        .order_by("answered_at", "-vote_count", "created_at")
    )


def session_registrations(*, session):
    """Return who signed up for the session, first come first."""
    return session.registrations.select_related("user").order_by("created_at")


def feed_sessions(feed: CalendarFeed, *, now=None) -> list[Session]:
    """Return the sessions of a feed: only of courses whose office hours the user may see now."""
    now = now or timezone.now()
    user = feed.user
    if not user.is_active:
        return []
    sessions = Session.objects.filter(ends_at__gt=now - FEED_KEEPS_PAST).select_related("run__course")
    if feed.scope == CalendarFeed.Scope.SIGNED_UP:
        sessions = sessions.filter(registrations__user=user)
    if user.is_staff:
        return list(sessions.order_by("starts_at"))
    courses = Course.objects.filter(runs__enrollments__user=user).distinct()
    run_ids = []
    for course in courses:
        access = CourseAccess(user, course, at=now)
        if access.office_hours():
            run_ids.append(access.enrollment.run_id)
    if not run_ids:
        return []
    return list(sessions.filter(run_id__in=run_ids).order_by("starts_at"))


def weekly_schedule(run) -> str:
    """Return the run's office hours in one line, from its weekly slots, or "" when it has none.

    "Office hours: Mondays 08:00 Asia/Jerusalem and Thursdays 18:00 America/New_York": each slot in
    its own zone, the wall-clock time it keeps across daylight-saving changes.
    """
    if run is None:
        return ""
    return built(f"weekly-schedule:{run.pk}", lambda: _weekly_schedule(run), version=content_version(run.course_id))


def _weekly_schedule(run) -> str:
    slots = [
        f"{slot.get_weekday_display()}s {slot.local_time:%H:%M} {slot.timezone}"
        for slot in WeeklySlot.objects.filter(run=run).order_by("weekday", "local_time", "pk")
    ]
    if not slots:
        return ""
    listed = slots[0] if len(slots) == 1 else f"{', '.join(slots[:-1])} and {slots[-1]}"
    return f"Office hours: {listed}"


def unanswered_questions(*, run, limit=100):
    """Return the questions sent for the run's sessions (not cancelled) that are not answered yet, oldest first,
    with their session, author and votes (one query)."""
    return list(
        Question.objects.filter(session__run=run, answered_at__isnull=True)
        .exclude(session__status=Session.Status.CANCELLED)
        .select_related("session", "author")
        .annotate(vote_count=Count("votes"))
        .order_by("created_at", "pk")[:limit]
    )


def registrations_of(*, run, user):
    """Return the user's sign-ups for the run's sessions, in time order, with their sessions (one query)."""
    return list(Registration.objects.filter(session__run=run, user=user).select_related("session")
                .order_by("session__starts_at"))  # fmt: skip


def change_emails_to(*, run, user):
    """Return the session-change emails of the user's sign-ups for the run's sessions, newest first (one query)."""
    return list(ChangeEmail.objects.filter(registration__session__run=run, registration__user=user)
                .select_related("registration__session").order_by("-queued_at"))  # fmt: skip


def reminders_to(*, run, user):
    """Return the reminder emails sent for the user's sign-ups for the run's sessions (one query)."""
    return list(Reminder.objects.filter(registration__session__run=run, registration__user=user)
                .select_related("registration__session"))  # fmt: skip
