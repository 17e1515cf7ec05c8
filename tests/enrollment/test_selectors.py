"""The enrollment reads pages show: the run on sale, and the run a student last enrolled in."""

from datetime import timedelta

import pytest
from django.utils import timezone

from enrollment.models import Enrollment
from enrollment.selectors import latest_enrollment, offered_run
from tests.factories import CourseFactory, EnrollmentFactory, RunFactory, UserFactory

pytestmark = pytest.mark.django_db


def test_the_run_on_sale_is_the_next_open_run_to_start():
    now = timezone.now()
    course = CourseFactory()
    RunFactory(course=course, starts_at=now - timedelta(days=5), enrollment_open=True)
    later = RunFactory(course=course, starts_at=now + timedelta(days=60), enrollment_open=True)
    sooner = RunFactory(course=course, starts_at=now + timedelta(days=10), enrollment_open=True)
    RunFactory(course=course, starts_at=now + timedelta(days=1), enrollment_open=False)

    assert offered_run(course=course, now=now) == sooner
    assert offered_run(course=course, now=sooner.starts_at + timedelta(seconds=1)) == later


def test_without_an_open_run_to_come_the_latest_started_open_run_is_on_sale():
    now = timezone.now()
    course = CourseFactory()
    RunFactory(course=course, starts_at=now - timedelta(days=40), enrollment_open=True)
    latest = RunFactory(course=course, starts_at=now - timedelta(days=5), enrollment_open=True)
    RunFactory(starts_at=now + timedelta(days=5), enrollment_open=True)  # another course's

    assert offered_run(course=course, now=now) == latest
    assert offered_run(course=CourseFactory(), now=now) is None


def test_a_students_latest_enrollment_is_in_the_run_that_starts_last_whatever_its_status():
    now = timezone.now()
    student = UserFactory()
    EnrollmentFactory(user=student, run=RunFactory(starts_at=now - timedelta(days=90)))
    latest = EnrollmentFactory(
        user=student, run=RunFactory(starts_at=now + timedelta(days=9)), status=Enrollment.Status.REFUNDED
    )
    EnrollmentFactory(run=RunFactory(starts_at=now + timedelta(days=99)))  # someone else's

    assert latest_enrollment(user=student) == latest
    assert latest_enrollment(user=UserFactory()) is None
