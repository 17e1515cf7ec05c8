"""Helpers shared by the enrollment tests."""

from datetime import timedelta
from types import SimpleNamespace

from django.utils import timezone

from accounts.models import User
from enrollment import course_email
from enrollment.models import Enrollment, SentEmail
from tests.factories import (
    CourseFactory,
    EnrollmentFactory,
    OfficeHoursTierFactory,
    RunFactory,
    StaffFactory,
    TierFactory,
    UserFactory,
)


def roster_state():
    """Everything enrolling from a roster may write (users, enrollments, emails), to compare before and after."""
    return {
        "users": sorted(User.objects.values_list("email", "first_name", "last_name", "password")),
        "enrollments": sorted(Enrollment.objects.values_list("user__email", "run_id", "tier_id", "status")),
        "emails": sorted(SentEmail.objects.values_list("enrollment_id", "kind", "status")),
    }


# --- Announcements ---


def announcement_class():
    """A run that started 90 days ago, with a student of each kind the announcement emails sort.

    The standard tier's 2 months are over (`ended`); the office-hours tier's 4 months are not (`current`,
    `opted_out`, and the `refunded` and `cancelled` ones, whose status ends their access). `other` is a
    current student of another run of the course, `staff` the instructor.
    """
    course = CourseFactory(title="WebRTC in practice", instructor_name="Ada Teacher")
    run = RunFactory(course=course, title="Spring cohort", starts_at=timezone.now() - timedelta(days=90))
    standard, office_hours = TierFactory(run=run), OfficeHoursTierFactory(run=run)
    other_run = RunFactory(course=course, title="Autumn cohort", starts_at=timezone.now() - timedelta(days=3))

    def student(name, *, tier=office_hours, run=run, zone="UTC", **enrollment):
        user = UserFactory(email=f"{name}@example.com", first_name=name.title(), timezone=zone)
        EnrollmentFactory(user=user, run=run, tier=tier, **enrollment)
        return user

    scene = SimpleNamespace(
        course=course,
        run=run,
        other_run=other_run,
        current=student("current", zone="America/Los_Angeles"),
        opted_out=student("optedout"),
        ended=student("ended", tier=standard),
        refunded=student("refunded", status=Enrollment.Status.REFUNDED),
        cancelled=student("cancelled", status=Enrollment.Status.CANCELLED),
        other=student("other", run=other_run, tier=TierFactory(run=other_run)),
        staff=StaffFactory(email="teacher@example.com", is_superuser=True),
    )
    course_email.set_wanted(user=scene.opted_out, kind=course_email.Kind.ANNOUNCEMENTS, wanted=False)
    return scene
