"""The email of an announcement: once to each student of the run with current access, even if a worker dies.

Publishing queues one AnnouncementEmail row per student whose enrollment gives current access (active, its
window not over: enrollment.access.gives_course_home) and who has not turned announcement email off, in the
transaction that publishes (unique per announcement and enrollment: queuing again adds nothing). The task
that publishing starts on commit delivers them: it claims each queued row (SELECT … FOR UPDATE SKIP LOCKED),
hands its message to SMTP and marks it sent in the same transaction, over one SMTP connection. A task that
runs twice, is retried, or runs again after its worker died mails nobody twice; the only possible repeat is
the message the SMTP server had accepted at the instant a worker was killed, and it goes with the same
Message-ID. What a task left queued goes with the minutely beat sweep. A student whose access ended, whose
enrollment was refunded or cancelled, or who turned announcement email off after the queuing is skipped.
"""

from datetime import timedelta

from django.core.mail import EmailMultiAlternatives
from django.urls import reverse
from django.utils import timezone

from courseweb import mail

from . import course_email
from .access import gives_course_home
from .models import Announcement, AnnouncementEmail, Enrollment

KIND = course_email.Kind.ANNOUNCEMENTS
# The sweep leaves a row this long to the task its publishing started.
SWEEP_AFTER = timedelta(minutes=2)
SUBJECT = "{course}: {title}"


def audience(announcement: Announcement, *, at) -> list[Enrollment]:
    """The enrollments of the announcement's run to email at `at`: current access, an address, not opted out."""
    enrollments = (
        Enrollment.objects.active()
        .filter(run_id=announcement.run_id, user__is_active=True)
        .exclude(user__email="")
        .exclude(course_email.opted_out(KIND))
        .select_related("run__course", "tier")
        .order_by("pk")
    )
    return [enrollment for enrollment in enrollments if gives_course_home(enrollment, at=at)]


def queue(*, announcement: Announcement, now=None) -> int:
    """Queue the announcement's email for each student in its audience now; idempotent. Return how many were new."""
    now = now or timezone.now()
    # In id order, so that two runs inserting the same rows at once wait for each other instead of deadlocking.
    rows = [AnnouncementEmail(announcement=announcement, enrollment_id=enrollment.pk, queued_at=now)
            for enrollment in audience(announcement, at=now)]  # fmt: skip
    before = AnnouncementEmail.objects.filter(announcement=announcement).count()
    AnnouncementEmail.objects.bulk_create(rows, ignore_conflicts=True, batch_size=1000)
    return AnnouncementEmail.objects.filter(announcement=announcement).count() - before


def deliver_announcement(*, announcement_id: int) -> int:
    """Send the queued emails of one announcement; return how many were sent. Safe to run twice."""
    return deliver(AnnouncementEmail.objects.filter(announcement_id=announcement_id))


def deliver_left_over(*, now=None) -> int:
    """Beat job: send the announcement emails a task left queued (its worker died, its retries ran out)."""
    now = now or timezone.now()
    return deliver(AnnouncementEmail.objects.filter(queued_at__lte=now - SWEEP_AFTER), now=now)


def deliver(rows, *, now=None) -> int:
    """Claim, send and mark each queued row of `rows` (an AnnouncementEmail queryset), one transaction each.

    A row whose student lost access or turned announcement email off since it was queued is marked
    skipped. Errors that may pass (SMTP down, 4xx) propagate and leave the row being sent queued: retry.
    """
    now = now or timezone.now()

    def message_for(row):
        enrollment = row.enrollment
        if row.opted_out or not enrollment.user.is_active or not gives_course_home(enrollment, at=now):
            return None
        return build_message(row)

    queued = rows.filter(status=AnnouncementEmail.Status.QUEUED).order_by("pk").values_list("pk", flat=True)
    return mail.deliver_outbox(queued, claim=_claim, message_for=message_for)


def _claim(pk: int) -> AnnouncementEmail | None:
    """Lock the row if it is still queued and no other transaction holds it; None when it is taken or done.

    Call inside the transaction that sends the email.
    """
    return (
        AnnouncementEmail.objects.select_for_update(skip_locked=True, of=("self",))
        .select_related("announcement__run__course", "enrollment__user", "enrollment__run__course", "enrollment__tier")
        .annotate(opted_out=course_email.opted_out(KIND, user_field="enrollment__user"))
        .filter(pk=pk, status=AnnouncementEmail.Status.QUEUED)
        .first()
    )


def build_message(row: AnnouncementEmail) -> EmailMultiAlternatives:
    """Render the announcement for one student, in their zone, with the one-click unsubscribe.

    Its Message-ID comes from the announcement's uid and the enrollment: a repeat after a worker died
    mid-hand-over is the same message.
    """
    announcement, user = row.announcement, row.enrollment.user
    run, course = announcement.run, announcement.run.course
    zone = mail.recipient_zone(user)
    unsubscribe_url = course_email.unsubscribe_url(user, KIND)
    context = {
        "user": user,
        "announcement": announcement,
        "run": run,
        "course": course,
        "published_at": timezone.localtime(announcement.published_at, zone),
        "course_url": mail.absolute(reverse("courses:home", args=[course.slug])),
        "unsubscribe_url": unsubscribe_url,
        "settings_url": mail.absolute(reverse("forum_email:settings")),
    }
    subject = SUBJECT.format(course=course.title, title=announcement.title)
    message_id = mail.message_id("announcement", announcement.uid, row.enrollment_id)
    return mail.render("announcement", to=user.email, subject=subject, context=context, zone=zone,
                       headers={**mail.one_click_headers(unsubscribe_url),
                                "X-Courseweb-Email": f"announcement:{announcement.pk}"},
                       message_id=message_id)  # fmt: skip
