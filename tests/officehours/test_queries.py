"""The office-hours page costs the same number of queries for a few sessions and for many."""

from datetime import timedelta

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import timezone

from officehours.models import Registration, Session
from tests.factories import EnrollmentFactory, OfficeHoursTierFactory, StaffFactory, UserFactory

pytestmark = pytest.mark.django_db

# The viewer's enrollments, upcoming sessions (with seats and the viewer's sign-up), past sessions; the session,
# the user, the course and its runs come from the cache once the first request has built them.
MAX_QUERIES = 3


def office_hours(size):
    """A run with `size` past and `size` upcoming sessions, a few of them signed up for; its office-hours student."""
    tier = OfficeHoursTierFactory()
    student = EnrollmentFactory(run=tier.run, tier=tier).user
    now = timezone.now()
    sessions = [
        Session(run=tier.run, title=f"Session {n}", starts_at=now + timedelta(days=n), ends_at=now + timedelta(days=n,
                hours=1), meeting_url=f"https://meet.example.org/{n}", capacity=5 if n % 2 else None,
                recording_url="https://video.example.org/r" if n < 0 else "", notes="Notes." if n < 0 else "")
        for n in range(-size, size) if n != 0
    ]  # fmt: skip
    Session.objects.bulk_create(sessions)
    other = UserFactory()
    Registration.objects.bulk_create(
        Registration(session=session, user=user) for session in sessions[size:][:3] for user in (student, other)
    )
    return tier.run.course, student


def count(client, url):
    client.get(url)  # what is built once per content version is built (a live site's cache is warm)
    with CaptureQueriesContext(connection) as queries:
        response = client.get(url)
    assert response.status_code == 200
    return len(queries), response.content.decode()


@pytest.mark.parametrize("role", ["student", "staff"])
def test_office_hours_queries_do_not_grow_with_the_sessions(client, role):
    (small_course, small_student), (large_course, large_student) = office_hours(3), office_hours(60)
    staff = StaffFactory()
    client.force_login(small_student if role == "student" else staff)
    small, _ = count(client, reverse("officehours:index", args=[small_course.slug]))
    client.force_login(large_student if role == "student" else staff)
    large, page = count(client, reverse("officehours:index", args=[large_course.slug]))

    assert small == large <= MAX_QUERIES
    assert page.count("You are signed up.") == (3 if role == "student" else 0)
    assert "Session 59" in page and "Session -60" in page
