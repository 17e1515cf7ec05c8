"""Announcements: publish one to a run, show the published ones on the course home, dismiss one.

Who sees an announcement is what the access policy says: a student the course home admits sees those of
the run of their enrollment (CourseAccess.enrollment), staff see those of every run of the course. Each
stays on the course home until that user dismisses it. Emails: see enrollment.announcement_emails.
"""

from django.db import IntegrityError, connection, transaction
from django.utils import timezone

from courses.content import built, content_version

from . import announcement_emails
from .access import CourseAccess
from .models import Announcement, AnnouncementDismissal
from .tasks import deliver_announcement

DISMISSED = "Announcement dismissed."
PUBLISHED = "Published “{title}”: {count} student{plural} will get it by email."
ALREADY_PUBLISHED = "“{title}” was published already on {when}; nobody was emailed again."


def publish(*, announcement: Announcement, now=None) -> int:
    """Publish the announcement and queue its email to each student of its run with current access.

    Return how many emails were queued. Locks the announcement: publishing it again (twice at once too)
    changes nothing and queues nothing. The emails are delivered by a task once the transaction commits,
    so a rolled-back publishing sends nothing.
    """
    now = now or timezone.now()
    with transaction.atomic():
        locked = Announcement.objects.select_for_update().get(pk=announcement.pk)
        if locked.published_at is not None:
            announcement.published_at = locked.published_at
            return 0
        locked.published_at = now
        locked.save(update_fields=["published_at"])
        queued = announcement_emails.queue(announcement=locked, now=now)
        announcement_id = locked.pk
        transaction.on_commit(lambda: deliver_announcement.delay(announcement_id), robust=True)
    announcement.published_at = now
    return queued


def visible_to(access: CourseAccess):
    """The published announcements the viewer may see on this course's home (a queryset; none when refused)."""
    published = Announcement.objects.published()
    if access.is_staff:
        return published.filter(run__course=access.course)
    if access.enrollment is None or not access.course_home():
        return published.none()
    return published.filter(run_id=access.enrollment.run_id)


def for_course_home(access: CourseAccess) -> list[Announcement]:
    """The announcements the viewer has not dismissed, newest first: one query whatever their number, none while
    the viewer's run has none.

    The published announcements are read under the course's content version (a saved announcement changes it);
    which of them this user dismissed is always asked of the database.
    """
    if not access.is_authenticated or not (access.is_staff or access.enrollment is not None):
        return []
    if not access.course_home():
        return []
    # Staff see those of every run of the course, a student those of their enrollment's run (visible_to).
    scope = {"run__course": access.course} if access.is_staff else {"run_id": access.enrollment.run_id}
    published = built(
        f"announcements:{access.course.pk}:{'all' if access.is_staff else access.enrollment.run_id}",
        lambda: list(
            Announcement.objects.published().filter(**scope).select_related("run").order_by("-published_at", "-pk")
        ),
        version=content_version(access.course.pk),
    )
    if not published:
        return []
    ids = [announcement.pk for announcement in published]
    table = connection.ops.quote_name(AnnouncementDismissal._meta.db_table)
    with connection.cursor() as cursor:  # plain SQL: the ORM took longer to build this query than to run it
        cursor.execute(
            f"SELECT announcement_id FROM {table} WHERE user_id = %s AND announcement_id IN "
            f"({', '.join(['%s'] * len(ids))})",
            [access.user.pk, *ids],
        )
        dismissed = {pk for (pk,) in cursor.fetchall()}
    return [announcement for announcement in published if announcement.pk not in dismissed]


def dismiss(*, user, announcement: Announcement, now=None) -> AnnouncementDismissal:
    """Dismiss the announcement for the user; idempotent (dismissing again keeps the first time)."""
    try:
        with transaction.atomic():
            return AnnouncementDismissal.objects.create(announcement=announcement, user=user,
                                                        dismissed_at=now or timezone.now())  # fmt: skip
    except IntegrityError:
        return AnnouncementDismissal.objects.get(announcement=announcement, user=user)
