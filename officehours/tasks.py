"""Celery tasks of office hours: the email to the students of a session that was moved or cancelled, and reminders."""

import logging

from celery import shared_task
from django.conf import settings
from django.core.mail import EmailMultiAlternatives, get_connection
from django.template.loader import render_to_string
from django.urls import reverse
from django.utils import timezone

from enrollment.emails import absolute, student_zone

from . import reminders
from .models import Session

logger = logging.getLogger(__name__)

# A beat tick that waited in the broker longer than the beat period is dropped: the next tick does the same work.
REMINDERS_EXPIRES = 55

CHANGE_SUBJECTS = {
    "moved": "Office hours moved: {title} is now on {when}",
    "cancelled": "Office hours cancelled: {title} on {when}",
}


@shared_task
def notify_session_changed(session_id, change):
    """Email each student signed up for the session that it was moved or cancelled. Return how many were sent.

    Each email shows the session's time in the student's own zone, over one SMTP connection. A second
    run sends the emails again (the change is the session's current state, so they say the same).
    """
    if change not in CHANGE_SUBJECTS:
        raise ValueError(f"Unknown change {change!r}")
    session = Session.objects.select_related("run__course").filter(pk=session_id).first()
    if session is None:
        return 0
    users = [r.user for r in session.registrations.select_related("user").order_by("pk")]
    messages = [build_change_message(session=session, user=user, change=change) for user in users if user.email]
    if not messages:
        return 0
    with get_connection() as connection:
        return connection.send_messages(messages) or 0


def build_change_message(*, session: Session, user, change: str) -> EmailMultiAlternatives:
    zone = student_zone(user)
    with timezone.override(zone):
        starts_at = timezone.localtime(session.starts_at)
        ends_at = timezone.localtime(session.ends_at)
        when = f"{starts_at:%A} {starts_at.day} {starts_at:%B %Y, %H:%M} ({zone})"
        subject = CHANGE_SUBJECTS[change].format(title=session.title, when=when)
        context = {
            "subject": subject,
            "user": user,
            "session": session,
            "run": session.run,
            "course": session.run.course,
            "change": change,
            "moved": change == "moved",
            "starts_at": starts_at,
            "ends_at": ends_at,
            "zone_name": str(zone),
            "course_url": absolute(reverse("courses:home", args=[session.run.course.slug])),
            "profile_url": absolute(reverse("profile")),
            "site_name": settings.SITE_NAME,
            "site_url": settings.SITE_URL,
        }
        text = render_to_string("email/officehours_changed.txt", context)
        html = render_to_string("email/officehours_changed.html", context)
    message = EmailMultiAlternatives(subject=subject, body=text, to=[user.email],
                                     headers={"X-Courseweb-Email": f"officehours-{change}:{session.pk}"})  # fmt: skip
    message.attach_alternative(html, "text/html")
    return message


@shared_task(expires=REMINDERS_EXPIRES)
def send_office_hours_reminders():
    """Beat job: send the day-before and hour-before reminders that are due. Safe to run twice or at once.

    Not retried on SMTP errors: what was not sent is still due at the next tick, a minute later.
    """
    return reminders.send_due_reminders()
