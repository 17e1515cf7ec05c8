"""Office-hours pages. Each asks the access policy first (POSTs too), then one service or selector."""

from django.contrib import messages
from django.core.exceptions import PermissionDenied
from django.shortcuts import redirect, render
from django.urls import NoReverseMatch, reverse
from django.views.decorators.http import require_POST

from courses.views import course_view
from courseweb.errors import Refusal
from enrollment.access import MESSAGES, NOT_OFFICE_HOURS_TIER, CourseAccess

from . import services
from .forms import QuestionForm
from .selectors import (
    past_sessions,
    question_or_404,
    session_or_404,
    session_questions,
    session_registrations,
    session_row,
    session_rows,
    visible_sessions,
)

SIGNED_UP = "You are signed up."
SIGN_UP_CANCELLED = "Your sign-up is cancelled."
QUESTION_SENT = "Your question is sent."
VOTED = "Your vote is counted."
TIER_MESSAGE = MESSAGES[NOT_OFFICE_HOURS_TIER]

# Resolve the course (404), ask the policy; visitors go to log in, others see office hours' own refusal page
# (which names the tier that includes office hours). Pass course and access.
office_hours_view = course_view(
    CourseAccess.office_hours, template="officehours/refused.html", extra_context={"tier_message": TIER_MESSAGE}
)


def _pk_url(name, course):
    """The address of a session's page as a format string with `{}` for its pk (None when the URL is not
    installed): one reverse() per page rather than one a row.
    """
    namespace = "officehours" if name != "session_ics" else "calendar"
    try:
        head, tail = reverse(f"{namespace}:{name}", args=[course.slug, 0]).rsplit("/0", 1)
    except NoReverseMatch:
        return None
    return f"{head}/{{}}{tail}"


@office_hours_view
def index(request, course, access):
    sessions = visible_sessions(course=course, access=access)
    upcoming = session_rows(sessions.upcoming(at=access.at), access=access, user=request.user)
    next_row = next((row for row in upcoming if not row.session.is_cancelled), None)
    past = past_sessions(sessions, at=access.at)
    urls = {name: _pk_url(name, course) for name in ("session", "sign_up", "cancel_sign_up", "session_ics",
                                                     "run_session")}  # fmt: skip
    for row in upcoming:
        pk = row.session.pk
        row.url, row.sign_up_url, row.cancel_url = (
            urls[name].format(pk) for name in ("session", "sign_up", "cancel_sign_up")
        )
        row.ics_url = urls["session_ics"].format(pk) if urls["session_ics"] else ""
        row.run_url = urls["run_session"].format(pk) if access.is_staff else ""
    for session in past:
        session.url = urls["session"].format(session.pk)
    context = {"course": course, "access": access, "upcoming": upcoming, "next_row": next_row, "past": past}
    return render(request, "officehours/session_list.html", context)


@office_hours_view
def session_detail(request, course, access, pk, form=None, status=200):
    session = session_or_404(course=course, access=access, pk=pk)
    row = session_row(session=session, access=access, user=request.user)
    is_open = not session.is_cancelled and session.ends_at > access.at
    context = {
        "course": course,
        "access": access,
        "row": row,
        "session": row.session,
        "is_open": is_open,
        "questions": session_questions(session=session, user=request.user),
        "form": form or (QuestionForm() if is_open else None),
    }
    return render(request, "officehours/session_detail.html", context, status=status)


def _act(request, action, success):
    """Run a service; show its refusal as a message."""
    try:
        action()
    except Refusal as error:
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
    session = session_or_404(course=course, access=access, pk=pk)
    _act(request, lambda: services.sign_up(user=request.user, session=session), SIGNED_UP)
    return _back(request, course, session)


@require_POST
@office_hours_view
def cancel_sign_up(request, course, access, pk):
    session = session_or_404(course=course, access=access, pk=pk)
    _act(request, lambda: services.cancel_sign_up(user=request.user, session=session), SIGN_UP_CANCELLED)
    return _back(request, course, session)


@require_POST
@office_hours_view
def ask_question(request, course, access, pk):
    session = session_or_404(course=course, access=access, pk=pk)
    form = QuestionForm(request.POST)
    if form.is_valid():
        try:
            services.ask_question(user=request.user, session=session, text=form.cleaned_data["text"])
        except Refusal as error:
            form.add_error(None, error.message)
        else:
            messages.success(request, QUESTION_SENT)
            return redirect("officehours:session", course.slug, session.pk)
    return session_detail.__wrapped__(request, course, access, pk, form=form, status=400)


@require_POST
@office_hours_view
def vote(request, course, access, pk):
    question = question_or_404(course=course, access=access, pk=pk)
    _act(request, lambda: services.vote(user=request.user, question=question), VOTED)
    return redirect("officehours:session", course.slug, question.session_id)


@require_POST
@office_hours_view
def mark_answered(request, course, access, pk):
    question = question_or_404(course=course, access=access, pk=pk)
    answered = request.POST.get("answered", "1") in {"1", "true", "on"}
    try:
        services.mark_answered(user=request.user, question=question, answered=answered)
    except Refusal as error:
        messages.error(request, error.message)
        return redirect("officehours:session", course.slug, question.session_id)
    return redirect("officehours:run_session", course.slug, question.session_id)


@office_hours_view
def run_session(request, course, access, pk):
    """The instructor's page for running a session: questions most wanted first, ticked off as answered."""
    if not access.is_staff:
        raise PermissionDenied(services.STAFF_ONLY)
    session = session_or_404(course=course, access=access, pk=pk)
    questions = session_questions(session=session, user=request.user).order_by("-vote_count", "created_at")
    registrations = session_registrations(session=session)
    context = {"course": course, "session": session, "questions": questions, "registrations": registrations}
    return render(request, "officehours/session_run.html", context)
