"""Every office-hours URL asks the policy, for every role; the meeting link shows only when the policy allows it."""

from datetime import timedelta
from types import SimpleNamespace

import pytest
from django.urls import reverse
from django.utils import timezone

from accounts.models import User
from enrollment.access import CourseAccess
from enrollment.models import Enrollment
from officehours import services
from officehours.models import Question, QuestionVote, Registration, Session
from officehours.selectors import session_rows
from officehours.views import TIER_MESSAGE
from tests.factories import (
    CourseFactory,
    EnrollmentFactory,
    OfficeHoursTierFactory,
    RunFactory,
    SessionFactory,
    StaffFactory,
    TierFactory,
    UserFactory,
)

pytestmark = pytest.mark.django_db

SECRET_TITLE = "Secret session 3c9b"
SECRET_QUESTION = "Secret question 51ad"
SECRETS = [SECRET_TITLE, SECRET_QUESTION, "meet.example.org"]
ROLES = ["anonymous", "outsider", "other_course", "standard", "expired", "refunded", "office_hours", "staff"]
ALLOWED = {"office_hours", "staff"}


@pytest.fixture
def world():
    course = CourseFactory()
    run = RunFactory(course=course)
    standard_tier = TierFactory(run=run)
    office_tier = OfficeHoursTierFactory(run=run)
    old_run = RunFactory(course=course, starts_at=timezone.now() - timedelta(days=200))
    old_office_tier = OfficeHoursTierFactory(run=old_run)
    users = {
        "anonymous": None,
        "outsider": UserFactory(),
        "other_course": EnrollmentFactory(run=OfficeHoursTierFactory().run).user,
        "standard": EnrollmentFactory(run=run, tier=standard_tier).user,
        "expired": EnrollmentFactory(run=old_run, tier=old_office_tier).user,
        "refunded": EnrollmentFactory(run=run, tier=office_tier, status=Enrollment.Status.REFUNDED).user,
        "office_hours": EnrollmentFactory(run=run, tier=office_tier).user,
        "staff": StaffFactory(),
    }
    upcoming = SessionFactory(run=run, title=SECRET_TITLE, starts_in=timedelta(days=2))
    live = SessionFactory(run=run, title=SECRET_TITLE, starts_in=timedelta(minutes=5))
    old = SessionFactory(run=old_run, title=SECRET_TITLE, starts_in=timedelta(days=1))
    for role in ("office_hours", "expired", "refunded", "standard"):
        # Even a registration does not show the link to someone the policy refuses.
        Registration.objects.create(session=live, user=users[role])
    Registration.objects.create(session=old, user=users["expired"])
    question = services.ask_question(user=users["office_hours"], session=upcoming, text=SECRET_QUESTION)
    return SimpleNamespace(course=course, run=run, upcoming=upcoming, live=live, old=old, question=question,
                           users=users)  # fmt: skip


def office_hours_urls(w):
    """(name, url, method, data) for every office-hours URL."""
    slug, s, q = w.course.slug, w.upcoming.pk, w.question.pk
    return [
        ("index", reverse("officehours:index", args=[slug]), "get", None),
        ("session", reverse("officehours:session", args=[slug, s]), "get", None),
        ("live session", reverse("officehours:session", args=[slug, w.live.pk]), "get", None),
        ("sign_up", reverse("officehours:sign_up", args=[slug, s]), "post", {}),
        ("cancel_sign_up", reverse("officehours:cancel_sign_up", args=[slug, w.live.pk]), "post", {}),
        ("ask_question", reverse("officehours:ask_question", args=[slug, s]), "post", {"text": "Hello?"}),
        ("vote", reverse("officehours:vote", args=[slug, q]), "post", {}),
        ("mark_answered", reverse("officehours:mark_answered", args=[slug, q]), "post", {"answered": "1"}),
        ("run_session", reverse("officehours:run_session", args=[slug, s]), "get", None),
    ]


def request(client, method, url, data):
    return getattr(client, method)(url, data) if data is not None else getattr(client, method)(url)


def snapshot():
    return (
        sorted(Registration.objects.values_list("session", "user")),
        sorted(Question.objects.values_list("pk", "text", "answered_at")),
        sorted(QuestionVote.objects.values_list("question", "user")),
        sorted(User.objects.values_list("pk", "timezone")),
    )


@pytest.mark.parametrize("role", sorted(set(ROLES) - ALLOWED))
def test_refused_roles_get_the_explaining_page_at_every_url_and_nothing_changes(client, world, role):
    user = world.users[role]
    if user:
        client.force_login(user)
    before = snapshot()
    for name, url, method, data in office_hours_urls(world):
        response = request(client, method, url, data)
        content = response.content.decode()
        if role == "anonymous":
            assert response.status_code == 302, name
            assert response.url.startswith(reverse("account_login")), name
        else:
            assert response.status_code == 403, name
            assert TIER_MESSAGE in content, name
        for secret in SECRETS:
            assert secret not in content, (name, secret)
    assert snapshot() == before


def test_expired_student_learns_when_access_ended_and_that_office_hours_are_a_tier(client, world):
    client.force_login(world.users["expired"])
    content = client.get(reverse("officehours:index", args=[world.course.slug])).content.decode()
    assert "Your access ended on" in content and TIER_MESSAGE in content


@pytest.mark.parametrize("role", sorted(ALLOWED))
def test_office_hours_students_and_staff_can_use_every_url(client, world, role):
    client.force_login(world.users[role])
    for name, url, method, data in office_hours_urls(world):
        response = request(client, method, url, data)
        if role != "staff" and name == "run_session":
            assert response.status_code == 403, name
            continue
        assert response.status_code in {200, 302}, (name, response.status_code)
        if response.status_code == 302:
            assert not response.url.startswith(reverse("account_login")), name


def test_students_cannot_run_a_session_or_tick_questions(client, world):
    client.force_login(world.users["office_hours"])
    slug = world.course.slug
    assert client.get(reverse("officehours:run_session", args=[slug, world.upcoming.pk])).status_code == 403
    client.post(reverse("officehours:mark_answered", args=[slug, world.question.pk]), {"answered": "1"})
    assert Question.objects.get().answered_at is None


def test_a_student_sees_only_their_runs_sessions(client, world):
    client.force_login(world.users["office_hours"])
    slug = world.course.slug
    assert client.get(reverse("officehours:session", args=[slug, world.old.pk])).status_code == 404
    assert client.post(reverse("officehours:sign_up", args=[slug, world.old.pk])).status_code == 404
    assert not Registration.objects.filter(session=world.old, user=world.users["office_hours"]).exists()
    client.force_login(world.users["staff"])
    assert client.get(reverse("officehours:session", args=[slug, world.old.pk])).status_code == 200


# --- The meeting link ---


def pages(client, world, session):
    slug = world.course.slug
    return [client.get(reverse("officehours:index", args=[slug])).content.decode(),
            client.get(reverse("officehours:session", args=[slug, session.pk])).content.decode()]  # fmt: skip


def test_signed_up_student_sees_the_link_inside_the_window(client, world):
    client.force_login(world.users["office_hours"])
    for content in pages(client, world, world.live):
        assert world.live.meeting_url in content


def test_no_link_before_the_window_even_when_signed_up(client, world):
    student = world.users["office_hours"]
    soon = SessionFactory(run=world.run, title=SECRET_TITLE, starts_in=timedelta(minutes=16))
    services.sign_up(user=student, session=soon)
    services.sign_up(user=student, session=world.upcoming)
    client.force_login(student)
    for content in pages(client, world, soon):
        assert soon.meeting_url not in content
        assert world.upcoming.meeting_url not in content
        assert "The meeting link appears here at" in content


def test_no_link_without_signing_up(client, world):
    student = world.users["office_hours"]
    services.cancel_sign_up(user=student, session=world.live)
    client.force_login(student)
    for content in pages(client, world, world.live):
        assert world.live.meeting_url not in content
        assert "meet.example.org" not in content


def test_no_link_after_the_session(client, world):
    student = world.users["office_hours"]
    past = SessionFactory(run=world.run, title=SECRET_TITLE, starts_in=-timedelta(minutes=61), duration_minutes=60)
    Registration.objects.create(session=past, user=student)
    client.force_login(student)
    for content in pages(client, world, past):
        assert past.meeting_url not in content


def test_link_window_opens_exactly_15_minutes_before_and_closes_at_the_end(world):
    student = world.users["office_hours"]
    session = world.upcoming
    Registration.objects.create(session=session, user=student)

    def link_at(at):
        access = CourseAccess(student, world.course, at=at)
        [row] = session_rows(Session.objects.filter(pk=session.pk), access=access, user=student)
        return row.meeting_url

    start = session.starts_at
    assert link_at(start - timedelta(minutes=15, seconds=1)) == ""
    assert link_at(start - timedelta(minutes=15)) == session.meeting_url
    assert link_at(session.ends_at - timedelta(seconds=1)) == session.meeting_url
    assert link_at(session.ends_at) == ""


def test_staff_see_every_link(client, world):
    client.force_login(world.users["staff"])
    content = client.get(reverse("officehours:index", args=[world.course.slug])).content.decode()
    assert world.upcoming.meeting_url in content and world.live.meeting_url in content
