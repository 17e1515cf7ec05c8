"""The access policy: who may see what, and when. Every view asks here.

Rules:
- staff see everything, released or not (the course's current run's dates are shown to them);
- a released free-preview lesson is public (released by the current run's dates for everyone not enrolled);
- a lesson is released by the dates of the student's own run (enrollment/releases.py);
- a student with an active enrollment sees the course home from enrolment until the access
  window ends, and released lessons (and their files) and the forum from the run's start until it ends;
- a section's quiz opens to a student inside their window once every lesson of the section is released;
- nobody else sees course content. A refused request learns why, never the content.
"""

import math
from dataclasses import dataclass
from datetime import datetime, timedelta
from functools import cached_property

from django.utils import timezone
from django.utils.formats import date_format

from .currency import format_amount, minor_units
from .models import Enrollment, Tier
from .releases import ReleaseSchedule, schedule_for
from .selectors import current_run, enrollments_in

LOGIN_REQUIRED = "login-required"
NOT_ENROLLED = "not-enrolled"
NOT_STARTED = "not-started"
ACCESS_ENDED = "access-ended"
REFUNDED = "refunded"
CANCELLED = "cancelled"
NOT_RELEASED = "not-released"
ALREADY_ENROLLED = "already-enrolled"
NOT_OFFICE_HOURS_TIER = "not-office-hours-tier"
NOT_REGISTERED = "not-registered"
NOT_OPEN_YET = "not-open-yet"
SESSION_OVER = "session-over"
QUIZ_NOT_RELEASED = "quiz-not-released"

MESSAGES = {
    LOGIN_REQUIRED: "Log in to open this page.",
    NOT_ENROLLED: "You are not enrolled in this course.",
    NOT_STARTED: "The course starts on {when}. Lessons open then.",
    ACCESS_ENDED: "Your access ended on {when}.",
    REFUNDED: "Your enrollment was refunded, so it no longer gives access.",
    CANCELLED: "Your enrollment was cancelled, so it no longer gives access.",
    NOT_RELEASED: "This lesson opens on {when}.",
    ALREADY_ENROLLED: "You are already enrolled in this run with this tier or a better one.",
    NOT_OFFICE_HOURS_TIER: "Office hours are part of the office-hours tier.",
    NOT_REGISTERED: "Sign up for this session to get its meeting link.",
    NOT_OPEN_YET: "The meeting link appears here at {when}, 15 minutes before the start.",
    SESSION_OVER: "This session is over.",
    QUIZ_NOT_RELEASED: "This quiz opens on {when}, with the last lesson of its section.",
}
# The meeting link shows from this long before a session starts until it ends.
JOIN_EARLY = timedelta(minutes=15)


@dataclass(frozen=True)
class Decision:
    allowed: bool
    reason: str = ""
    when: datetime | None = None

    def __bool__(self):
        return self.allowed

    @property
    def message(self):
        """Explain a refusal, with its date in the active (viewer's) time zone."""
        if self.allowed:
            return ""
        # The site's own format (as on the course home); DATETIME_FORMAT ends in "a.m." and the
        # messages then end in "a.m..".
        when = date_format(timezone.localtime(self.when), "j F Y, H:i") if self.when else ""
        return MESSAGES[self.reason].format(when=when)


ALLOW = Decision(True)


# Where an enrollment stands at a moment (`standing`): the states a student's list of courses shows.
CURRENT = "current"
UPCOMING = "upcoming"
ENDED = "ended"
STANDINGS = {CURRENT: 0, UPCOMING: 1, ENDED: 2, REFUNDED: 3, CANCELLED: 3}


def standing(enrollment, *, at) -> str:
    """Return where the enrollment stands at `at`: current, upcoming, ended, refunded or cancelled.

    Upcoming: active, its run not started (its course home is open, its lessons not yet); current: active
    and inside the window. Load `enrollment.run` and `enrollment.tier` with it.
    """
    if enrollment.status == Enrollment.Status.REFUNDED:
        return REFUNDED
    if enrollment.status != Enrollment.Status.ACTIVE:
        return CANCELLED
    if enrollment.access_starts_at > at:
        return UPCOMING
    if enrollment.access_ends_at <= at:
        return ENDED
    return CURRENT


def _rank(enrollment, at):
    """Order a user's enrollments in one course: current first, then upcoming, then ended, then inactive."""
    state = standing(enrollment, at=at)
    if state == UPCOMING:
        return (1, enrollment.access_starts_at.timestamp())
    if state in {REFUNDED, CANCELLED}:
        return (3, -enrollment.enrolled_at.timestamp())
    return (STANDINGS[state], -enrollment.access_ends_at.timestamp())


def by_rank(enrollments, *, at) -> list:
    """Return the enrollments best first, as the policy picks one per course: current, upcoming, ended, inactive."""
    return sorted(enrollments, key=lambda e: _rank(e, at))


@dataclass(frozen=True)
class UpgradeOffer:
    """An upgrade the student may buy: from their tier to a better one of the same run, for the difference."""

    enrollment: Enrollment
    from_tier: Tier
    to_tier: Tier
    amount: int  # in the currency's smallest unit (cents), as Stripe counts it
    currency: str

    @property
    def label(self):
        return format_amount(self.amount, self.currency)


def upgrade_offer(enrollment, *, at) -> UpgradeOffer | None:
    """Return the upgrade this enrollment may buy at `at`, or None.

    Offered while the enrollment is active and its window has not ended (before the run starts too),
    whether or not the run is still on sale: the seat is already theirs. The target is the run's
    office-hours tier, when it ranks above the student's tier, costs more, and is priced in the same
    currency. Load `enrollment.run.tiers` (prefetched) and `enrollment.tier` with it.
    """
    if standing(enrollment, at=at) not in {CURRENT, UPCOMING}:
        return None
    current = enrollment.tier
    target = next((tier for tier in enrollment.run.tiers.all() if tier.includes_office_hours), None)
    if target is None or target.rank <= current.rank or target.currency.upper() != current.currency.upper():
        return None
    amount = minor_units(target.price, target.currency) - minor_units(current.price, current.currency)
    if amount <= 0:
        return None
    return UpgradeOffer(enrollment, current, target, amount, target.currency.upper())


def gives_course_home(enrollment, *, at) -> bool:
    """Whether the enrollment lets its student into the course home at `at`: active, its window not over,
    and the course published (an unpublished course is 404 to its students).

    CourseAccess.course_home's rule for one enrollment, for lists of students (the announcement emails).
    Load `enrollment.run.course` with it.
    """
    return (
        enrollment.status == Enrollment.Status.ACTIVE
        and at < enrollment.access_ends_at
        and enrollment.run.course.is_published
    )


class CourseAccess:
    """What one user may do in one course at one moment. Loads the user's enrollments once."""

    def __init__(self, user, course, *, at=None):
        self.user = user
        self.course = course
        self.at = at or timezone.now()
        self.is_authenticated = bool(user and user.is_authenticated)
        self.is_staff = self.is_authenticated and user.is_staff
        self.enrollments = []
        self.enrollment = self._pick_enrollment() if self.is_authenticated and not self.is_staff else None

    def _pick_enrollment(self):
        self.enrollments = enrollments_in(user=self.user, course=self.course)
        return min(self.enrollments, key=lambda e: _rank(e, self.at), default=None)

    def _enrollment_refusal(self, *, lessons):
        if not self.is_authenticated:
            return Decision(False, LOGIN_REQUIRED)
        enrollment = self.enrollment
        if enrollment is None:
            return Decision(False, NOT_ENROLLED)
        if enrollment.status == Enrollment.Status.REFUNDED:
            return Decision(False, REFUNDED)
        if enrollment.status == Enrollment.Status.CANCELLED:
            return Decision(False, CANCELLED)
        if lessons and self.at < enrollment.access_starts_at:
            return Decision(False, NOT_STARTED, enrollment.access_starts_at)
        if self.at >= enrollment.access_ends_at:
            return Decision(False, ACCESS_ENDED, enrollment.access_ends_at)
        return None

    def course_home(self) -> Decision:
        """May the user see the course home (syllabus and progress)?"""
        if self.is_staff:
            return ALLOW
        # A refusal is a falsy Decision, so test for None rather than truth.
        refusal = self._enrollment_refusal(lessons=False)
        return refusal if refusal is not None else ALLOW

    def lesson(self, lesson) -> Decision:
        """May the user open this lesson of the course?"""
        if self.is_staff:
            return ALLOW
        return self._lesson(lesson, None if lesson.is_free_preview else self._enrollment_refusal(lessons=True))

    def _lesson(self, lesson, refusal) -> Decision:
        if self.is_staff:
            return ALLOW
        if not lesson.is_free_preview and refusal is not None:
            return refusal
        if not self.releases.is_released(lesson, at=self.at):
            return Decision(False, NOT_RELEASED, self.releases.opens_at(lesson))
        return ALLOW

    def quiz(self, lessons) -> Decision:
        """May the user take the quiz of a section with these lessons? Staff always; a student inside their
        window (from the run's start) once every lesson of the section is released for them (none: at the start).
        """
        if self.is_staff:
            return ALLOW
        refusal = self._enrollment_refusal(lessons=True)
        if refusal is not None:
            return refusal
        waiting = [when for lesson in lessons if (when := self.releases.opens_at(lesson)) and when > self.at]
        if waiting:
            return Decision(False, QUIZ_NOT_RELEASED, max(waiting))
        return ALLOW

    def may_open(self):
        """Return a function answering "may the user open this lesson?" for many lessons (a course outline):
        `lesson()`'s answer, with the enrollment checked once rather than once a lesson."""
        refusal = None if self.is_staff else self._enrollment_refusal(lessons=True)
        return lambda lesson: bool(self._lesson(lesson, refusal))

    @cached_property
    def run(self):
        """The run whose release dates apply: the student's own; for staff and everyone else the current run."""
        if self.enrollment is not None:
            return self.enrollment.run
        return current_run(course=self.course, now=self.at)

    @cached_property
    def releases(self) -> ReleaseSchedule:
        """The release dates of `run` (loaded on first use)."""
        return schedule_for(self.run)

    def forum(self) -> Decision:
        """May the user read and post in the course's forum? Staff, and students inside their window."""
        if self.is_staff:
            return ALLOW
        refusal = self._enrollment_refusal(lessons=True)
        return refusal if refusal is not None else ALLOW

    def office_hours(self) -> Decision:
        """May the user see and join office hours? Staff, and office-hours-tier students inside their window."""
        if self.is_staff:
            return ALLOW
        refusal = self._enrollment_refusal(lessons=True)
        if refusal is not None:
            return refusal
        if not self.enrollment.tier.includes_office_hours:
            return Decision(False, NOT_OFFICE_HOURS_TIER)
        return ALLOW

    def meeting_link(self, *, starts_at, ends_at, registered: bool) -> Decision:
        """May the user see a session's meeting link now? Signed up (or staff), from 15 minutes before to the end."""
        decision = self.office_hours()
        if not decision:
            return decision
        if self.is_staff:
            return ALLOW
        if not registered:
            return Decision(False, NOT_REGISTERED)
        if not (starts_at - JOIN_EARLY <= self.at < ends_at):
            return Decision(False, NOT_OPEN_YET if self.at < starts_at else SESSION_OVER, starts_at - JOIN_EARLY)
        return ALLOW

    def may_buy(self, tier) -> Decision:
        """May the user buy this tier? Not a seat they hold already (an upgrade is fine)."""
        held = next((e for e in self.enrollments if e.run_id == tier.run_id), None)
        if held is not None and held.status == Enrollment.Status.ACTIVE and held.tier.rank >= tier.rank:
            return Decision(False, ALREADY_ENROLLED)
        return ALLOW

    def upgrade(self) -> UpgradeOffer | None:
        """The upgrade the user's enrollment in this course may buy now (see `upgrade_offer`), or None."""
        if self.enrollment is None:
            return None
        return upgrade_offer(self.enrollment, at=self.at)

    def resource(self, resource) -> Decision:
        """May the user download this reading item? Exactly when they may open its lesson."""
        return self.lesson(resource.lesson)

    @property
    def access_ends_at(self):
        return self.enrollment.access_ends_at if self.enrollment else None

    @property
    def days_left(self):
        """Whole days of access left (rounded up), or None for staff and visitors."""
        ends_at = self.access_ends_at
        if ends_at is None:
            return None
        return max(0, math.ceil((ends_at - self.at).total_seconds() / 86400))


def course_access(user, course, *, at=None) -> CourseAccess:
    return CourseAccess(user, course, at=at)


def can_view_course_home(user, course, *, at=None) -> Decision:
    return CourseAccess(user, course, at=at).course_home()


def can_open_lesson(user, lesson, *, at=None) -> Decision:
    return CourseAccess(user, lesson.course, at=at).lesson(lesson)


def can_use_forum(user, course, *, at=None) -> Decision:
    return CourseAccess(user, course, at=at).forum()


def can_join_office_hours(user, course, *, at=None) -> Decision:
    return CourseAccess(user, course, at=at).office_hours()


def can_download_resource(user, resource, *, at=None) -> Decision:
    return CourseAccess(user, resource.lesson.course, at=at).resource(resource)
