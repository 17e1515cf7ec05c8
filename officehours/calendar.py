"""Calendar files: one session as an .ics, and a user's personal feed (secret token in its URL).

Each session keeps its UID for life and carries its SEQUENCE (bumped when it is moved or cancelled), so
a calendar app updates the event it has instead of adding a second one. A cancelled session stays in
the feed with STATUS:CANCELLED for the same reason. Times are written in UTC ("Z"): every calendar app
shows them in its own zone, and no VTIMEZONE can be wrong.

The meeting link is never written into a calendar: a feed is fetched by a calendar server, without a
login, long before the link may be shown (see CourseAccess.meeting_link). The event links to the
office-hours page instead, where the link appears for those who may see it, when they may.

This module only builds calendars: which sessions a feed holds is selectors.feed_sessions; the feed's
token and scope are changed by services.
"""

from datetime import UTC
from urllib.parse import urlsplit

from django.conf import settings
from django.urls import reverse
from django.utils import timezone
from icalendar import Calendar, Event

from courseweb import mail

from .models import Session

PRODID = "-//Courseweb//Office hours//EN"


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

