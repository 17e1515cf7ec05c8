"""Office-hours pages. Each asks the access policy first (POSTs too), then one service or selector."""

import functools
from dataclasses import dataclass

from django.contrib import messages
from django.contrib.auth.views import redirect_to_login
from django.core.exceptions import PermissionDenied
from django.db.models import Count, Exists, OuterRef
from django.shortcuts import get_object_or_404, redirect, render
from django.views.decorators.http import require_POST

from courses.models import Course
from enrollment.access import LOGIN_REQUIRED, MESSAGES, NOT_OFFICE_HOURS_TIER, course_access

from . import services
from .forms import QuestionForm, TimezoneForm
from .models import Question, QuestionVote, Registration, Session

SIGNED_UP = "You are signed up."
SIGN_UP_CANCELLED = "Your sign-up is cancelled."
QUESTION_SENT = "Your question is sent."
VOTED = "Your vote is counted."
TIMEZONE_SAVED = "Times are now shown in {zone}."
TIER_MESSAGE = MESSAGES[NOT_OFFICE_HOURS_TIER]


def office_hours_view(view):
    """Resolve the course (404), ask the policy, refuse with the explaining page; pass course and access."""

    @functools.wraps(view)
    def wrapper(request, slug, *args, **kwargs):
        course = get_object_or_404(Course, slug=slug)
        access = course_access(request.user, course)
        decision = access.office_hours()
        if not decision:
            if decision.reason == LOGIN_REQUIRED:
                return redirect_to_login(request.get_full_path())
            context = {"course": course, "decision": decision, "tier_message": TIER_MESSAGE}
            return render(request, "officehours/refused.html", context, status=403)
        return view(request, course, access, *args, **kwargs)

    return wrapper


def _sessions(course, access):
    """The sessions the viewer may see: those of their enrollment's run; staff see every run of the course."""
    sessions = Session.objects.filter(run__course=course).select_related("run")
    if not access.is_staff:
        sessions = sessions.filter(run=access.enrollment.run)
    return sessions


def _session_or_404(course, access, pk):
    return get_object_or_404(_sessions(course, access), pk=pk)


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


def _rows(sessions, access, user):
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


def _questions(session, user):
    """The session's questions, most wanted first; each knows whether this user voted for it."""
    return (
        Question.objects.filter(session=session)
        .select_related("author")
        .annotate(
            vote_count=Count("votes", distinct=True),
            voted=Exists(QuestionVote.objects.filter(question=OuterRef("pk"), user=user)),
        )
        .order_by("answered_at", "-vote_count", "created_at")
    )


@office_hours_view
def index(request, course, access):
    sessions = _sessions(course, access)
    upcoming = _rows(sessions.upcoming(at=access.at), access, request.user)
    next_row = next((row for row in upcoming if not row.session.is_cancelled), None)
    past = sessions.past(at=access.at).scheduled().order_by("-starts_at")
    context = {"course": course, "access": access, "upcoming": upcoming, "next_row": next_row, "past": past}
    return render(request, "officehours/session_list.html", context)


@office_hours_view
def session_detail(request, course, access, pk, form=None, status=200):
    session = _session_or_404(course, access, pk)
    [row] = _rows(Session.objects.filter(pk=session.pk), access, request.user)
    is_open = not session.is_cancelled and session.ends_at > access.at
    context = {
        "course": course,
        "access": access,
        "row": row,
        "session": row.session,
        "is_open": is_open,
        "questions": _questions(session, request.user),
        "form": form or (QuestionForm() if is_open else None),
    }
    return render(request, "officehours/session_detail.html", context, status=status)


def _act(request, action, success):
    """Run a service; show its refusal as a message."""
    try:
        action()
    except services.OfficeHoursError as error:
        messages.error(request, error.message)
    else:
        messages.success(request, success)


def _back(request, course, session):
    """Return to the page the form was on: the session's page, or the list."""
    if request.POST.get("next") == "list":
        return redirect("officehours:index", course.slug)
    return redirect("officehours:session", course.slug, session.pk)


@require_POST
@office_hours_view
def sign_up(request, course, access, pk):
    session = _session_or_404(course, access, pk)
    _act(request, lambda: services.sign_up(user=request.user, session=session), SIGNED_UP)
    return _back(request, course, session)


@require_POST
@office_hours_view
def cancel_sign_up(request, course, access, pk):
    session = _session_or_404(course, access, pk)
    _act(request, lambda: services.cancel_sign_up(user=request.user, session=session), SIGN_UP_CANCELLED)
    return _back(request, course, session)


@require_POST
@office_hours_view
def ask_question(request, course, access, pk):
    session = _session_or_404(course, access, pk)
    form = QuestionForm(request.POST)
    if form.is_valid():
        try:
            services.ask_question(user=request.user, session=session, text=form.cleaned_data["text"])
        except services.OfficeHoursError as error:
            form.add_error(None, error.message)
        else:
            messages.success(request, QUESTION_SENT)
            return redirect("officehours:session", course.slug, session.pk)
    return session_detail.__wrapped__(request, course, access, pk, form=form, status=400)


def _question_or_404(course, access, pk):
    questions = Question.objects.select_related("session").filter(session__in=_sessions(course, access))
    return get_object_or_404(questions, pk=pk)


@require_POST
@office_hours_view
def vote(request, course, access, pk):
    question = _question_or_404(course, access, pk)
    _act(request, lambda: services.vote(user=request.user, question=question), VOTED)
    return redirect("officehours:session", course.slug, question.session_id)


@require_POST
@office_hours_view
def mark_answered(request, course, access, pk):
    question = _question_or_404(course, access, pk)
    answered = request.POST.get("answered", "1") in {"1", "true", "on"}
    try:
        services.mark_answered(user=request.user, question=question, answered=answered)
    except services.OfficeHoursError as error:
        messages.error(request, error.message)
        return redirect("officehours:session", course.slug, question.session_id)
    return redirect("officehours:run_session", course.slug, question.session_id)


@office_hours_view
def run_session(request, course, access, pk):
    """The instructor's page for running a session: questions most wanted first, ticked off as answered."""
    if not access.is_staff:
        raise PermissionDenied(services.STAFF_ONLY)
    session = _session_or_404(course, access, pk)
    questions = _questions(session, request.user).order_by("-vote_count", "created_at")
    registrations = session.registrations.select_related("user").order_by("created_at")
    context = {"course": course, "session": session, "questions": questions, "registrations": registrations}
    return render(request, "officehours/session_run.html", context)


@require_POST
@office_hours_view
def set_timezone(request, course, access):
    """Save the browser's zone (offered by the page) as the user's time zone."""
    form = TimezoneForm(request.POST)
    if form.is_valid():
        request.user.timezone = form.cleaned_data["timezone"]
        request.user.save(update_fields=["timezone"])
        messages.success(request, TIMEZONE_SAVED.format(zone=request.user.timezone))
    else:
        messages.error(request, form.errors["timezone"][0])
    return redirect("officehours:index", course.slug)
