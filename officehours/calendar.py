"""Calendar files: one session as an .ics, and a user's personal feed (secret token in its URL).

Each session keeps its UID for life and carries its SEQUENCE (bumped when it is moved or cancelled), so
a calendar app updates the event it has instead of adding a second one. A cancelled session stays in
the feed with STATUS:CANCELLED for the same reason. Times are written in UTC ("Z"): every calendar app
shows them in its own zone, and no VTIMEZONE can be wrong.

The meeting link is never written into a calendar: a feed is fetched by a calendar server, without a
login, long before the link may be shown (see CourseAccess.meeting_link). The event links to the
office-hours page instead, where the link appears for those who may see it, when they may.
"""

from datetime import UTC, timedelta
from urllib.parse import urlsplit

from django.conf import settings
from django.db import transaction
from django.urls import reverse
from django.utils import timezone
from icalendar import Calendar, Event

from courses.models import Course
from courseweb import mail
from enrollment.access import CourseAccess

from .models import CalendarFeed, Session, new_feed_token

PRODID = "-//Courseweb//Office hours//EN"
# A feed keeps the sessions of the last weeks, so that calendar apps do not drop what already happened.
FEED_KEEPS_PAST = timedelta(days=30)
FEED_TOKEN_RESET = "Your calendar feed has a new address. The old one no longer works."
FEED_SCOPE_SAVED = "Your calendar feed now holds: {scope}."


def uid_host() -> str:
    return urlsplit(settings.SITE_URL).hostname or "localhost"


def office_hours_page_path(course) -> str:
    return reverse("officehours:index", kwargs={"slug": course.slug})


def session_ics_path(session) -> str:
    return reverse("calendar:session_ics", kwargs={"course_slug": session.run.course.slug, "pk": session.pk})


def session_event(session: Session, *, now) -> Event:
    """Return the VEVENT of one session (no meeting link, see the module docstring)."""
    course = session.run.course
    page = mail.absolute(office_hours_page_path(course))
    event = Event()
    event.add("uid", f"{session.uid}@{uid_host()}")
    event.add("sequence", session.sequence)
    event.add("dtstamp", now.astimezone(UTC))
    event.add("dtstart", session.starts_at.astimezone(UTC))
    event.add("dtend", session.ends_at.astimezone(UTC))
    summary = f"{session.title}: {course.title}"
    if session.is_cancelled:
        summary = f"Cancelled: {summary}"
    event.add("summary", summary)
    event.add("status", "CANCELLED" if session.is_cancelled else "CONFIRMED")
    event.add("url", page)
    event.add("description", f"The link to join appears on the office-hours page 15 minutes before the start: {page}")
    return event


def build_calendar(sessions, *, name, now=None) -> bytes:
    """Return a VCALENDAR holding one VEVENT per session, as bytes."""
    now = now or timezone.now()
    calendar = Calendar()
    calendar.add("prodid", PRODID)
    calendar.add("version", "2.0")
    calendar.add("calscale", "GREGORIAN")
    calendar.add("method", "PUBLISH")
    calendar.add("x-wr-calname", name)
    for session in sessions:
        calendar.add_component(session_event(session, now=now))
    return calendar.to_ical()


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
