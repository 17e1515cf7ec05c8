"""Writes to office hours. Views ask enrollment.access first; these keep office hours' own rules."""

from django.db import transaction
from django.utils import timezone

from courseweb.errors import Refusal

from .models import CalendarFeed, Question, QuestionVote, Registration, Session, new_feed_token

SESSION_FULL = "This session is full: every seat is taken."
SESSION_CANCELLED = "This session was cancelled."
SESSION_OVER = "This session is over."
EMPTY_QUESTION = "Write your question first."
STAFF_ONLY = "Only the instructor can do that."


class OfficeHoursError(Refusal):
    """A rule of office hours refused the change; the message is for the user."""


def _check_open(session, now):
    if session.is_cancelled:
        raise OfficeHoursError(SESSION_CANCELLED)
    if session.ends_at <= now:
        raise OfficeHoursError(SESSION_OVER)


def sign_up(*, user, session: Session, now=None) -> Registration:
    """Sign the user up for the session; a second sign-up returns the first.

    Locks the session row: concurrent sign-ups are counted one at a time, so the capacity holds.
    """
    now = now or timezone.now()
    with transaction.atomic():
        session = Session.objects.select_for_update().get(pk=session.pk)
        existing = Registration.objects.filter(session=session, user=user).first()
        if existing is not None:
            return existing
        _check_open(session, now)
        if session.capacity is not None and session.registrations.count() >= session.capacity:
            raise OfficeHoursError(SESSION_FULL)
        return Registration.objects.create(session=session, user=user, created_at=now)


def cancel_sign_up(*, user, session: Session) -> bool:
    """Remove the user's registration, freeing the seat. Return whether there was one."""
    deleted, _ = Registration.objects.filter(session=session, user=user).delete()
    return bool(deleted)


def ask_question(*, user, session: Session, text: str, now=None) -> Question:
    """Send a question in advance for a session that is still to come."""
    now = now or timezone.now()
    text = (text or "").strip()
    if not text:
        raise OfficeHoursError(EMPTY_QUESTION)
    _check_open(session, now)
    return Question.objects.create(session=session, author=user, text=text, created_at=now)


def vote(*, user, question: Question, now=None) -> QuestionVote:
    """Upvote a question of a session still to come; voting again changes nothing (one vote per user)."""
    _check_open(question.session, now or timezone.now())
    vote, _ = QuestionVote.objects.get_or_create(question=question, user=user)
    return vote


def mark_answered(*, user, question: Question, answered: bool = True, now=None) -> Question:
    """Tick a question off as answered (or untick it). Staff only."""
    if not user.is_staff:
        raise OfficeHoursError(STAFF_ONLY)
    question.answered_at = (now or timezone.now()) if answered else None
    question.save(update_fields=["answered_at"])
    return question


def feed_of(user) -> CalendarFeed:
    """Return the user's calendar feed, made on first use."""
    feed, _ = CalendarFeed.objects.get_or_create(user=user)
    return feed


def reset_feed_token(*, user) -> CalendarFeed:
    """Give the user's feed a new secret token: the old feed URL stops working."""
    with transaction.atomic():
        feed = feed_of(user)
        feed.token = new_feed_token()
        feed.save(update_fields=["token"])
    return feed


def set_feed_scope(*, user, scope: str) -> CalendarFeed:
    """Choose what the feed holds: the sessions the user signed up for, or all upcoming ones."""
    if scope not in CalendarFeed.Scope.values:
        raise ValueError(f"Unknown calendar feed scope: {scope!r}")
    feed = feed_of(user)
    feed.scope = scope
    feed.save(update_fields=["scope"])
    return feed
