"""The enrollment emails: queued as SentEmail rows, each delivered exactly once.

Delivery takes one queued row at a time under SELECT … FOR UPDATE SKIP LOCKED and marks it
sent in the same transaction, over one SMTP connection per batch. Two workers never take the
same row; a worker that dies mid-batch rolls its row back to queued, so after a restart the
rest go out. The only possible repeat is the one message that was being handed to the SMTP
server at the instant a worker was killed.
"""

import zoneinfo
from datetime import timedelta

from django.conf import settings
from django.core.mail import EmailMultiAlternatives, get_connection
from django.db import transaction
from django.template.loader import render_to_string
from django.urls import reverse
from django.utils import timezone

from courses.models import Section

from .models import Enrollment, Run, SentEmail

# A run whose start is longer ago than this gets no pre-launch sweep (late enrolments get theirs at once).
PRELAUNCH_SWEEP_GRACE = timedelta(days=7)
SUBJECTS = {
    SentEmail.Kind.PRELAUNCH: "{course} starts on {date}",
    SentEmail.Kind.WELCOME: "Welcome to {course}: your enrolment is confirmed",
}


def prelaunch_is_due(run: Run, *, now) -> bool:
    return run.prelaunch_email_at <= now


def queue(*, enrollments, kind, now=None, status=SentEmail.Status.QUEUED) -> int:
    """Queue one email of `kind` per enrollment; enrollments that have one already are left alone."""
    now = now or timezone.now()
    rows = [SentEmail(enrollment_id=getattr(e, "pk", e), kind=kind, status=status, queued_at=now) for e in enrollments]
    before = SentEmail.objects.filter(kind=kind, enrollment_id__in=[row.enrollment_id for row in rows]).count()
    SentEmail.objects.bulk_create(rows, ignore_conflicts=True, batch_size=1000)
    after = SentEmail.objects.filter(kind=kind, enrollment_id__in=[row.enrollment_id for row in rows]).count()
    return after - before


def queue_due_prelaunch(*, now=None) -> int:
    """Queue the pre-launch email for every active enrollment of a run whose pre-launch time has come."""
    now = now or timezone.now()
    queued = 0
    for run in Run.objects.filter(starts_at__gt=now - PRELAUNCH_SWEEP_GRACE):
        if not prelaunch_is_due(run, now=now):
            continue
        missing = (
            Enrollment.objects.active()
            .filter(run=run)
            .exclude(emails__kind=SentEmail.Kind.PRELAUNCH)
            .values_list("pk", flat=True)
        )
        queued += queue(enrollments=list(missing), kind=SentEmail.Kind.PRELAUNCH, now=now)
    return queued


def deliver_queued(*, limit=None) -> int:
    """Send queued emails, one row per transaction, over one SMTP connection. Return how many were sent."""
    sent = 0
    sections_by_course = {}
    with get_connection() as connection:
        while limit is None or sent < limit:
            with transaction.atomic():
                row = (
                    SentEmail.objects.select_for_update(skip_locked=True, of=("self",))
                    .filter(status=SentEmail.Status.QUEUED)
                    .select_related("enrollment__user", "enrollment__run__course", "enrollment__tier")
                    .order_by("queued_at", "pk")
                    .first()
                )
                if row is None:
                    break
                if row.enrollment.status != Enrollment.Status.ACTIVE:
                    row.status = SentEmail.Status.SKIPPED
                    row.save(update_fields=["status"])
                    continue
                course = row.enrollment.run.course
                if course.pk not in sections_by_course:
                    sections_by_course[course.pk] = list(Section.objects.filter(course=course))
                message = build_message(row, sections=sections_by_course[course.pk])
                connection.send_messages([message])
                row.status = SentEmail.Status.SENT
                row.sent_at = timezone.now()
                row.save(update_fields=["status", "sent_at"])
                sent += 1
    return sent


def absolute(path: str) -> str:
    return f"{settings.SITE_URL}{path}"


def build_message(row: SentEmail, *, sections) -> EmailMultiAlternatives:
    """Render the email of one row in the student's own time zone, with text and HTML parts."""
    enrollment = row.enrollment
    user, run, course, tier = enrollment.user, enrollment.run, enrollment.run.course, enrollment.tier
    zone = zoneinfo.ZoneInfo(user.timezone or settings.TIME_ZONE)
    with timezone.override(zone):
        context = {
            "user": user,
            "run": run,
            "course": course,
            "tier": tier,
            "enrollment": enrollment,
            "sections": sections,
            "starts_at": timezone.localtime(run.starts_at),
            "access_ends_at": timezone.localtime(enrollment.access_ends_at),
            "zone_name": str(zone),
            "has_password": user.has_usable_password(),
            "login_code_url": absolute(reverse("account_request_login_code")),
            "password_reset_url": absolute(reverse("account_reset_password")),
            "course_url": absolute(reverse("courses:home", args=[course.slug])),
            "profile_url": absolute(reverse("profile")),
            "payment": enrollment.payments.order_by("-created_at").first(),
            "site_name": settings.SITE_NAME,
        }
        subject = SUBJECTS[row.kind].format(course=course.title, date=context["starts_at"].strftime("%-d %B %Y"))
        text = render_to_string(f"email/{row.kind}.txt", context)
        html = render_to_string(f"email/{row.kind}.html", context)
    message = EmailMultiAlternatives(subject=subject, body=text, to=[user.email],
                                     headers={"X-Courseweb-Email": f"{row.kind}:{row.pk}"})  # fmt: skip
    message.attach_alternative(html, "text/html")
    return message
