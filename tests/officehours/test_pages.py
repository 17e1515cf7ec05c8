"""The office-hours pages: times in the viewer's zone, sign-up, questions and the instructor's page."""

from datetime import UTC, datetime, timedelta
from types import SimpleNamespace

import pytest
from django.contrib.messages import get_messages
from django.urls import reverse
from django.utils import timezone

from accounts.forms import UNKNOWN_ZONE
from officehours import services
from officehours.models import Question, Registration, Session
from officehours.views import SIGNED_UP, TIER_MESSAGE
from tests.factories import (
    EnrollmentFactory,
    OfficeHoursTierFactory,
    SessionFactory,
    StaffFactory,
    TierFactory,
    UserFactory,
)

pytestmark = pytest.mark.django_db


@pytest.fixture
def oh():
    tier = OfficeHoursTierFactory()
    run = tier.run
    student = EnrollmentFactory(run=run, tier=tier, user=UserFactory(timezone="America/Los_Angeles")).user
    return SimpleNamespace(run=run, course=run.course, student=student, staff=StaffFactory(),
                           url=reverse("officehours:index", args=[run.course.slug]))  # fmt: skip


def next_year(month, day, hour, minute=0):
    """A fixed UTC moment in the coming year, so it is always upcoming."""
    return datetime(timezone.now().year + 1, month, day, hour, minute, tzinfo=UTC)


def messages_of(response):
    return [str(message) for message in get_messages(response.wsgi_request)]


def test_times_are_shown_in_the_viewers_zone_with_the_zone_named(client, oh):
    # 17:00 UTC on 15 January is 09:00 in Los Angeles (PST, UTC-8); on 15 July 10:00 (PDT, UTC-7).
    winter = SessionFactory(run=oh.run, starts_at=next_year(1, 15, 17))
    summer = SessionFactory(run=oh.run, starts_at=next_year(7, 15, 17))
    client.force_login(oh.student)
    content = client.get(oh.url).content.decode()
    assert "America/Los_Angeles" in content
    assert f"{winter.starts_at:%A} 15 January {winter.starts_at.year}, 09:00–10:00 PST" in content
    assert f"{summer.starts_at:%A} 15 July {summer.starts_at.year}, 10:00–11:00 PDT" in content
    # The countdown counts to the UTC instant; the server-rendered time is the fallback text.
    assert f'data-starts-at="{winter.starts_at.year}-01-15T17:00:00Z"' in content
    assert "Starts " in content


def test_upcoming_sessions_are_listed_in_time_order_across_slots(client, oh):
    later = SessionFactory(run=oh.run, starts_at=next_year(1, 14, 17), title="Thursday slot")
    earlier = SessionFactory(run=oh.run, starts_at=next_year(1, 11, 6), title="Monday slot")
    latest = SessionFactory(run=oh.run, starts_at=next_year(1, 18, 6), title="Next Monday slot")
    client.force_login(oh.student)

    content = client.get(oh.url).content.decode()

    listing = content[content.index("Upcoming sessions"):]
    urls = [f'href="{reverse("officehours:session", args=[oh.course.slug, session.pk])}"'
            for session in (earlier, later, latest)]  # fmt: skip
    positions = [listing.index(url) for url in urls]
    assert positions == sorted(positions)


def test_another_viewer_sees_the_same_session_in_their_own_zone(client, oh):
    session = SessionFactory(run=oh.run, starts_at=next_year(1, 15, 17))
    tokyo = EnrollmentFactory(run=oh.run, tier=oh.run.tiers.get(), user=UserFactory(timezone="Asia/Tokyo")).user
    client.force_login(tokyo)
    content = client.get(reverse("officehours:session", args=[oh.course.slug, session.pk])).content.decode()
    assert "16 January" in content and "02:00–03:00 JST" in content and "Asia/Tokyo" in content


def test_past_sessions_show_recordings_and_notes(client, oh):
    SessionFactory(run=oh.run, starts_at=timezone.now() - timedelta(days=3), recording_url="https://video.example.org/rec-1",
                 notes="We covered simulcast.")  # fmt: skip
    SessionFactory(run=oh.run, starts_at=timezone.now() - timedelta(days=6), status=Session.Status.CANCELLED,
                 recording_url="https://video.example.org/never")  # fmt: skip
    client.force_login(oh.student)
    content = client.get(oh.url).content.decode()
    assert "https://video.example.org/rec-1" in content and "We covered simulcast." in content
    assert "https://video.example.org/never" not in content


def test_sign_up_and_cancel_from_the_list(client, oh):
    session = SessionFactory(run=oh.run, starts_at=timezone.now() + timedelta(days=1), capacity=3)
    client.force_login(oh.student)
    response = client.post(reverse("officehours:sign_up", args=[oh.course.slug, session.pk]), {"next": "list"})
    assert response.url == oh.url
    assert SIGNED_UP in messages_of(response)
    assert "You are signed up." in client.get(oh.url).content.decode()
    assert "2 of 3 seats left." in client.get(oh.url).content.decode()
    client.post(reverse("officehours:cancel_sign_up", args=[oh.course.slug, session.pk]))
    assert not Registration.objects.exists()


def test_a_full_session_says_so_and_changes_nothing(client, oh):
    session = SessionFactory(run=oh.run, starts_at=timezone.now() + timedelta(days=1), capacity=1)
    services.sign_up(user=UserFactory(), session=session)
    client.force_login(oh.student)
    assert "Full" in client.get(oh.url).content.decode()
    response = client.post(reverse("officehours:sign_up", args=[oh.course.slug, session.pk]))
    assert services.SESSION_FULL in messages_of(response)
    assert Registration.objects.count() == 1


def test_students_ask_and_upvote_and_the_instructor_sees_the_most_wanted_first(client, oh):
    session = SessionFactory(run=oh.run, starts_at=timezone.now() + timedelta(days=1))
    slug = oh.course.slug
    client.force_login(oh.student)
    response = client.post(reverse("officehours:ask_question", args=[slug, session.pk]), {"text": "Less wanted"})
    assert response.status_code == 302
    popular = services.ask_question(user=UserFactory(), session=session, text="Most wanted")
    for _ in range(2):
        client.post(reverse("officehours:vote", args=[slug, popular.pk]))
    services.vote(user=UserFactory(), question=popular)
    assert popular.votes.count() == 2

    client.force_login(oh.staff)
    content = client.get(reverse("officehours:run_session", args=[slug, session.pk])).content.decode()
    assert content.index("Most wanted") < content.index("Less wanted")
    assert "2 votes" in content
    client.post(reverse("officehours:mark_answered", args=[slug, popular.pk]), {"answered": "1"})
    assert Question.objects.get(pk=popular.pk).answered_at is not None
    assert "✓" in client.get(reverse("officehours:run_session", args=[slug, session.pk])).content.decode()


def test_an_empty_question_is_refused_on_the_page(client, oh):
    session = SessionFactory(run=oh.run, starts_at=timezone.now() + timedelta(days=1))
    client.force_login(oh.student)
    response = client.post(reverse("officehours:ask_question", args=[oh.course.slug, session.pk]), {"text": " "})
    assert response.status_code == 400
    assert not Question.objects.exists()


def test_the_page_offers_the_browsers_zone_and_one_click_saves_it(client, oh):
    client.force_login(oh.student)
    content = client.get(oh.url).content.decode()
    # The offer is the site-wide one (base.html): it posts to the profile and comes back here.
    assert 'id="timezone-offer"' in content and 'data-user-zone="America/Los_Angeles"' in content
    url = reverse("profile_timezone")
    assert f'action="{url}"' in content and f'name="next" value="{oh.url}"' in content
    response = client.post(url, {"timezone": "Europe/Berlin", "next": oh.url})
    assert response.url == oh.url
    oh.student.refresh_from_db()
    assert oh.student.timezone == "Europe/Berlin"
    response = client.post(url, {"timezone": "Mars/Olympus_Mons", "next": oh.url})
    assert UNKNOWN_ZONE.format(zone="Mars/Olympus_Mons") in messages_of(response)
    oh.student.refresh_from_db()
    assert oh.student.timezone == "Europe/Berlin"


def test_standard_student_sees_the_tier_message_and_no_sessions(client, oh):
    SessionFactory(run=oh.run, starts_at=timezone.now() + timedelta(days=1), title="Hidden session 88")
    standard = EnrollmentFactory(run=oh.run, tier=TierFactory(run=oh.run)).user
    client.force_login(standard)
    response = client.get(oh.url)
    assert response.status_code == 403
    content = response.content.decode()
    assert TIER_MESSAGE in content and "Hidden session 88" not in content


def test_course_home_links_to_office_hours_only_when_the_policy_allows(client, oh):
    home = reverse("courses:home", args=[oh.course.slug])
    client.force_login(oh.student)
    assert oh.url in client.get(home).content.decode()
    client.force_login(EnrollmentFactory(run=oh.run, tier=TierFactory(run=oh.run)).user)
    assert oh.url not in client.get(home).content.decode()


@pytest.mark.parametrize("zone", ["UTC", "America/Los_Angeles", "Asia/Kolkata", "Australia/Lord_Howe"])
def test_session_times_read_as_the_date_filter_writes_them(zone):
    import zoneinfo

    from django.template.defaultfilters import date
    from django.utils.timezone import localtime, override

    from officehours.templatetags.officehours_tags import day_month, day_month_time, when

    for starts_at in (next_year(1, 4, 23, 30), next_year(7, 31, 2, 5)):
        session = Session(starts_at=starts_at, ends_at=starts_at + timedelta(minutes=90))
        with override(zoneinfo.ZoneInfo(zone)):
            starts, ends = localtime(session.starts_at), localtime(session.ends_at)
            expected = f"{date(starts, 'l j F Y, H:i')}–{date(ends, 'H:i T')}"
            assert when(session) == f'<time datetime="{starts_at:%Y-%m-%dT%H:%M:%SZ}">{expected}</time>'
            assert day_month(starts) == date(starts, "j F")
            assert day_month_time(starts) == date(starts, "j F, H:i")
