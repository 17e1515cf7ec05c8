"""The release digest: at most one email a day to each student, listing what opened for their run since the last one.

When. A digest belongs to a day of the student's own calendar (mail.recipient_zone) and covers what happened
until DIGEST_LOCAL_HOUR that morning: the digest of 3 May lists what opened after the previous digest and by
3 May, 07:00 in the student's zone. So it comes every morning at the same local time, however many lessons
open and whenever they do (three on one day: one email the next morning listing the three), and later beat
ticks of that day find nothing more to say. The student's zone rather than the site's: a morning email for
everyone, where the site's day would mail some students in the middle of their night.

What. The lessons that opened for the student's run (enrollment.releases: the run's own dates and overrides)
in the digest's span, and the lessons the instructor marked updated for students (Lesson.content_updated_at,
with its change note) in that span after they had opened. Not news, so never listed: a lesson open from the
run's start (no days, or opening at or before the start: the course as the student found it, which the
pre-launch email announces), and what opened or changed before the student enrolled (they met it on
arrival). So a digest's span starts at the latest of the previous digest's end, the enrollment and the
run's start. Nothing new: no row, no email; the next digest starts from the same point.

Who. Students with current access (enrollment.access.gives_course_home: active, window not over, course
published), with an address, who have not turned release digests off (course_email.Kind.DIGESTS); checked
again when sending, so a refund, an unpublished course or an opt-out after the queuing sends nothing.

How. The beat job queues one ReleaseDigest row per enrollment and day (unique: queuing again, on two workers
at once too, adds nothing), recording the lessons it lists, then delivers the queued rows as the announcement
emails do: claim (SELECT … FOR UPDATE SKIP LOCKED), hand to SMTP and mark sent in one transaction, over one
SMTP connection. A worker killed mid-batch leaves the rest queued for the next tick; the only possible
repeat is the message the SMTP server had accepted at the instant of the kill, and it goes with the same
Message-ID (one per enrollment and day).
"""

from datetime import UTC, datetime, time, timedelta

from django.core.mail import EmailMultiAlternatives
from django.db.models import Exists, Max, OuterRef
from django.urls import reverse
from django.utils import timezone

from courses.models import Lesson
from courseweb import mail

from . import course_email
from .access import gives_course_home
from .models import Enrollment, ReleaseDigest, Run
from .releases import schedule_for

KIND = course_email.Kind.DIGESTS
# A digest covers what happened until this hour of the student's morning, and goes at the first tick after it.
DIGEST_LOCAL_HOUR = 7


def digest_day(user, *, now: datetime) -> tuple:
    """Return the day of the user's latest digest at `now` and the instant it covers until (its local morning)."""
    zone = mail.recipient_zone(user)
    local = now.astimezone(zone)
    day = local.date() if local.hour >= DIGEST_LOCAL_HOUR else local.date() - timedelta(days=1)
    return day, datetime.combine(day, time(DIGEST_LOCAL_HOUR), tzinfo=zone).astimezone(UTC)


def audience(run: Run, *, at) -> list[Enrollment]:
    """The run's enrollments to tell at `at`: current access, an address, digests not turned off."""
    enrollments = (
        Enrollment.objects.active()
        .filter(run=run, user__is_active=True)
        .exclude(user__email="")
        .exclude(course_email.opted_out(KIND))
        .select_related("user", "run__course", "tier")
        .order_by("pk")
    )
    return [enrollment for enrollment in enrollments if gives_course_home(enrollment, at=at)]


def news(run: Run, lessons, *, since: datetime, until: datetime, releases) -> tuple[list[int], list[int]]:
    """Return the ids of the lessons that opened for the run in (since, until], and of those marked updated then.

    `lessons` in syllabus order, `releases` the run's schedule. A lesson that opened in the span is listed as
    opened only; one updated before it opened was not updated for anybody.
    """
    opened, updated = [], []
    for lesson in lessons:
        opens_at = releases.opens_at(lesson)
        if opens_at is not None and opens_at > run.starts_at and since < opens_at <= until:
            opened.append(lesson.pk)
            continue
        changed = lesson.content_updated_at
        if changed is not None and since < changed <= until and (opens_at is None or opens_at <= changed):
            updated.append(lesson.pk)
    return opened, updated


def queue_due(*, now=None) -> int:
    """Queue today's digest for every student who has news and has not had it; idempotent. Return how many were new."""
    now = now or timezone.now()
    active = Enrollment.objects.active().filter(run=OuterRef("pk"))
    runs = Run.objects.filter(course__is_published=True, starts_at__lte=now).filter(Exists(active)).order_by("pk")
    return sum(_queue_run(run, now=now) for run in runs)


def _queue_run(run: Run, *, now) -> int:
    enrollments = audience(run, at=now)
    if not enrollments:
        return 0
    releases = schedule_for(run)
    lessons = list(
        Lesson.objects.filter(course_id=run.course_id)
        .in_syllabus_order()
        .only("id", "release_after_days", "release_time", "content_updated_at")
    )
    ids = [enrollment.pk for enrollment in enrollments]
    last = dict(
        ReleaseDigest.objects.filter(enrollment_id__in=ids)
        .values("enrollment_id")
        .annotate(until=Max("covers_until"))
        .values_list("enrollment_id", "until")
    )
    rows = []
    for enrollment in enrollments:  # in id order: two ticks inserting the same rows wait instead of deadlocking
        day, until = digest_day(enrollment.user, now=now)
        since = max(last.get(enrollment.pk) or run.starts_at, enrollment.enrolled_at, run.starts_at)
        if until <= since:
            continue
        opened, updated = news(run, lessons, since=since, until=until, releases=releases)
        if opened or updated:
            rows.append(ReleaseDigest(enrollment=enrollment, day=day, covers_from=since, covers_until=until,
                                      opened=opened, updated=updated, queued_at=now))  # fmt: skip
    if not rows:
        return 0
    before = ReleaseDigest.objects.filter(enrollment_id__in=ids).count()
    ReleaseDigest.objects.bulk_create(rows, ignore_conflicts=True, batch_size=1000)
    return ReleaseDigest.objects.filter(enrollment_id__in=ids).count() - before


def deliver_queued(*, now=None) -> int:
    """Claim, send and mark each queued digest, one transaction each; return how many were sent. Safe to run twice.

    A digest whose student lost access, or turned digests off, since it was queued is marked skipped. Errors
    that may pass (SMTP down, 4xx) propagate and leave the row being sent queued for the next tick.
    """
    now = now or timezone.now()

    def message_for(row):
        enrollment = row.enrollment
        if row.opted_out or not enrollment.user.is_active or not gives_course_home(enrollment, at=now):
            return None
        return build_message(row)

    queued = ReleaseDigest.objects.filter(status=ReleaseDigest.Status.QUEUED).order_by("pk")
    return mail.deliver_outbox(queued.values_list("pk", flat=True), claim=_claim, message_for=message_for)


def _claim(pk: int) -> ReleaseDigest | None:
    """Lock the row if it is still queued and no other transaction holds it; None when it is taken or done.

    Call inside the transaction that sends the email.
    """
    return (
        ReleaseDigest.objects.select_for_update(skip_locked=True, of=("self",))
        .select_related("enrollment__user", "enrollment__run__course", "enrollment__tier")
        .annotate(opted_out=course_email.opted_out(KIND, user_field="enrollment__user"))
        .filter(pk=pk, status=ReleaseDigest.Status.QUEUED)
        .first()
    )


def subject_for(course_title: str, *, opened: int, updated: int) -> str:
    parts = []
    if opened:
        parts.append(f"{opened} new lesson{'' if opened == 1 else 's'} open")
    if updated:
        parts.append(f"{updated} lesson{'' if updated == 1 else 's'} updated")
    return f"{course_title}: {', '.join(parts)}"


def build_message(row: ReleaseDigest) -> EmailMultiAlternatives | None:
    """Render one student's digest in their zone, each lesson with its link; None when its lessons are gone.

    Its Message-ID comes from the enrollment and the day: a repeat after a worker died mid-hand-over is the
    same message.
    """
    enrollment, user = row.enrollment, row.enrollment.user
    run, course = enrollment.run, enrollment.run.course
    found = Lesson.objects.filter(pk__in=[*row.opened, *row.updated], course_id=course.pk).select_related("section")
    found = {lesson.pk: lesson for lesson in found}
    releases = schedule_for(run)
    zone = mail.recipient_zone(user)

    def item(pk):
        lesson = found[pk]
        return {
            "lesson": lesson,
            "section": lesson.section,
            "url": mail.absolute(reverse("courses:lesson", args=[course.slug, lesson.slug])),
            "opened_at": timezone.localtime(releases.opens_at(lesson), zone) if pk in row.opened else None,
            "updated_at": timezone.localtime(lesson.content_updated_at, zone) if lesson.content_updated_at else None,
        }

    opened = [item(pk) for pk in row.opened if pk in found]
    updated = [item(pk) for pk in row.updated if pk in found]
    if not opened and not updated:
        return None
    unsubscribe_url = course_email.unsubscribe_url(user, KIND)
    context = {
        "user": user,
        "run": run,
        "course": course,
        "opened": opened,
        "updated": updated,
        "since": timezone.localtime(row.covers_from, zone),
        "course_url": mail.absolute(reverse("courses:home", args=[course.slug])),
        "unsubscribe_url": unsubscribe_url,
        "settings_url": mail.absolute(reverse("forum_email:settings")),
    }
    subject = subject_for(course.title, opened=len(opened), updated=len(updated))
    message_id = mail.message_id("release-digest", row.enrollment_id, row.day.isoformat())
    return mail.render("release_digest", to=user.email, subject=subject, context=context, zone=zone,
                       headers={**mail.one_click_headers(unsubscribe_url),
                                "X-Courseweb-Email": f"release-digest:{row.day.isoformat()}"},
                       message_id=message_id)  # fmt: skip
