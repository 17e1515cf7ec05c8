"""Certificates of completion: who has earned one, issuing it once, revoking it.

A student has earned the course's certificate when every lesson of the course is completed and every
published quiz passed (courses.quizzes). They issue it themselves, once, with the name to print (prefilled
from their profile); asking again returns the same certificate. Anyone may verify it at its address, which
carries an unguessable id; the instructor revokes it in the admin. Who may ask at all is the access
policy's (CourseAccess.course_home): the views ask it first.
"""

import zoneinfo
from dataclasses import dataclass
from datetime import date, datetime

from django.conf import settings
from django.db import IntegrityError, connection, transaction
from django.db.models import Count, Max, OuterRef, Subquery
from django.utils import timezone

from courses.models import Lesson, LessonProgress, Quiz, QuizAttempt
from courses.pdf import unprintable
from courseweb.errors import Refusal
from courseweb.text import one_line

from .models import CERTIFICATE_NAME_MAX_LENGTH, Certificate

NOT_FINISHED = "Finish {what} to earn your certificate."
NAME_MISSING = "Write the name to print on your certificate."
NAME_TOO_LONG = "The name can have at most {limit} characters."
NAME_UNPRINTABLE = (
    "The certificate's font cannot print {chars} yet. Write your name in Latin, Greek or Cyrillic letters, "
    "as you would in a passport."
)
NO_REASON = "Give a reason for revoking the certificate: it is kept with it."
REVOKED_ON = "This certificate was revoked on {when}."
ISSUED = "Your certificate is ready."


class CertificateRefused(Refusal):
    """No certificate was issued or changed; the message says why."""


@dataclass(frozen=True)
class Standing:
    """How far a student is from the certificate of a course."""

    lesson_count: int
    lessons_left: int
    quizzes_left: int
    completed_at: datetime | None  # when the last requirement was met; None while any is left

    @property
    def has_earned(self) -> bool:
        return self.lessons_left == 0 and self.quizzes_left == 0

    @property
    def still_to_do(self) -> str:
        """What is left, in words: "3 more lessons and 1 more quiz"."""
        parts = []
        if self.lessons_left:
            parts.append(f"{self.lessons_left} more lesson{'s' if self.lessons_left != 1 else ''}")
        if self.quizzes_left:
            parts.append(f"{self.quizzes_left} more quiz{'zes' if self.quizzes_left != 1 else ''}")
        return " and ".join(parts)

    @property
    def refusal(self) -> str:
        return NOT_FINISHED.format(what=self.still_to_do)


def _first_passes(*, user, course) -> list[datetime | None]:
    """When the user first passed each published quiz of the course (None: not yet), in one query.

    A later failed attempt takes nothing away, as in courses.quizzes.passed_every_quiz.
    """
    first_pass = QuizAttempt.objects.filter(quiz=OuterRef("pk"), user=user, passed=True).order_by("submitted_at")
    return list(
        Quiz.objects.published()
        .filter(section__course=course)
        .annotate(passed_at=Subquery(first_pass.values("submitted_at")[:1]))
        .values_list("passed_at", flat=True)
    )


def standing(*, user, course) -> Standing:
    """Return how far the user is from the course's certificate: two queries, whatever the course's or class's size."""
    completion = LessonProgress.objects.filter(lesson=OuterRef("pk"), user=user, completed_at__isnull=False)
    lessons = (
        Lesson.objects.filter(course=course)
        .annotate(completed_at=Subquery(completion.values("completed_at")[:1]))
        .aggregate(total=Count("id"), done=Count("completed_at"), last=Max("completed_at"))
    )
    quizzes = _first_passes(user=user, course=course)
    lessons_left = lessons["total"] - lessons["done"]
    quizzes_left = sum(1 for passed_at in quizzes if passed_at is None)
    completed_at = None
    if not lessons_left and not quizzes_left:
        completed_at = max([moment for moment in (lessons["last"], *quizzes) if moment is not None], default=None)
    return Standing(lessons["total"], lessons_left, quizzes_left, completed_at)


def certificate_of(*, user, course) -> Certificate | None:
    """Return the user's certificate of the course (revoked or not), if they have one."""
    if user is None or not user.is_authenticated:
        return None
    return Certificate.objects.select_related("course", "run").filter(user=user, course=course).first()


def verifiable(verification_id: str) -> Certificate | None:
    """Return the certificate with this public id, with what its verification page shows."""
    return Certificate.objects.select_related("course", "user").filter(verification_id=verification_id).first()


@dataclass(frozen=True)
class CourseHomeCard:
    certificate: Certificate | None
    standing: Standing | None


def for_course_home(access, *, lesson_count: int, completed_count: int, quizzes_left: int) -> CourseHomeCard | None:
    """The certificate card of a student's course home (None for staff, or when the home is refused).

    The page has counted the lessons, the student's completed ones and the published quizzes not passed yet (its
    syllabus); one query more.
    """
    if access.enrollment is None or not access.course_home():
        return None
    # The card says whether it was revoked, and links to the student's certificate page by the course's slug.
    table = connection.ops.quote_name(Certificate._meta.db_table)
    mine = Certificate.objects.raw(  # plain SQL: the ORM took longer to build this query than Postgres to run it
        f"SELECT id, revoked_at FROM {table} WHERE user_id = %s AND course_id = %s LIMIT 1",
        [access.user.pk, access.course.pk],
    )
    certificate = next(iter(mine), None)
    if certificate is not None:
        return CourseHomeCard(certificate, None)
    return CourseHomeCard(None, Standing(lesson_count, lesson_count - completed_count, quizzes_left, None))


def clean_name(name: str) -> str:
    """Return the name as it will be printed, or refuse it with a message for the student."""
    name = one_line(name)
    if not name:
        raise CertificateRefused(NAME_MISSING)
    if len(name) > CERTIFICATE_NAME_MAX_LENGTH:
        raise CertificateRefused(NAME_TOO_LONG.format(limit=CERTIFICATE_NAME_MAX_LENGTH))
    missing = unprintable(name)
    if missing:
        raise CertificateRefused(NAME_UNPRINTABLE.format(chars=" ".join(missing)))
    return name


def issue(*, user, course, run, name: str, now=None) -> Certificate:
    """Issue the user's certificate of the course, earned in `run`, with `name` printed on it.

    Return the certificate the user already has, unchanged, if any (a second request, or two at once, get the
    same one). Refuse, creating nothing, before every lesson is completed and every published quiz passed, or
    for a name the certificate cannot print.
    """
    now = now or timezone.now()
    existing = certificate_of(user=user, course=course)
    if existing is not None:
        return existing
    current = standing(user=user, course=course)
    if not current.has_earned:
        raise CertificateRefused(current.refusal)
    name = clean_name(name)
    try:
        with transaction.atomic():
            return Certificate.objects.create(
                user=user, course=course, run=run, name=name, completed_at=current.completed_at or now, issued_at=now
            )
    except IntegrityError:
        return Certificate.objects.get(user=user, course=course)


def revoke(*, certificate: Certificate, reason: str, now=None) -> Certificate:
    """Revoke the certificate, keeping the reason. Revoking it again keeps the first date and updates the reason.

    Locks the certificate's row.
    """
    reason = one_line(reason)
    if not reason:
        raise CertificateRefused(NO_REASON)
    with transaction.atomic():
        locked = Certificate.objects.select_for_update().get(pk=certificate.pk)
        locked.revoked_at = locked.revoked_at or now or timezone.now()
        locked.revoked_reason = reason[:300]
        locked.save(update_fields=["revoked_at", "revoked_reason"])
    certificate.revoked_at, certificate.revoked_reason = locked.revoked_at, locked.revoked_reason
    return certificate


def completed_on(certificate: Certificate) -> date:
    """The day of completion on the student's calendar: the same date on the PDF and for every verifier."""
    try:
        zone = zoneinfo.ZoneInfo(certificate.user.timezone or settings.TIME_ZONE)
    except (zoneinfo.ZoneInfoNotFoundError, ValueError):
        zone = zoneinfo.ZoneInfo(settings.TIME_ZONE)
    return timezone.localtime(certificate.completed_at, zone).date()
