"""The .ics of a session and the personal calendar feed: parsed with icalendar, right instants, stable UIDs."""

from datetime import UTC, datetime, timedelta

import pytest
from django.urls import reverse
from django.utils import timezone
from icalendar import Calendar

from officehours.calendar_views import FEED_TOKEN_RESET
from officehours.models import CalendarFeed, Registration, Session
from officehours.services import feed_of
from tests.factories import EnrollmentFactory, OfficeHoursTierFactory, SessionFactory, StaffFactory, TierFactory

pytestmark = pytest.mark.django_db


def office_hours_run():
    tier = OfficeHoursTierFactory()  # of a run that started three days ago
    return tier.run, tier


def student(run, tier):
    return EnrollmentFactory(run=run, tier=tier).user


def ics_url(session):
    return reverse("calendar:session_ics", kwargs={"course_slug": session.run.course.slug, "pk": session.pk})


def events(response):
    assert response["Content-Type"].startswith("text/calendar")
    calendar = Calendar.from_ical(response.content)
    return calendar.walk("VEVENT")


def test_session_ics_holds_the_right_utc_instants_and_a_stable_uid(client, settings):
    settings.SITE_URL = "https://testserver.example"
    run, tier = office_hours_run()
    # 08:00 in Jerusalem (IST, UTC+2) on a winter Monday is 06:00 UTC.
    session = SessionFactory(run=run, starts_at=datetime(2031, 1, 6, 6, 0, tzinfo=UTC))
    client.force_login(student(run, tier))

    first, second = client.get(ics_url(session)), client.get(ics_url(session))

    assert first.status_code == 200
    assert "attachment" in first["Content-Disposition"]
    [event] = events(first)
    assert event.decoded("dtstart") == session.starts_at
    assert event.decoded("dtend") == session.starts_at + timedelta(minutes=60)
    assert event.decoded("dtstart").utcoffset() == timedelta(0)
    assert b"DTSTART:20310106T060000Z" in first.content
    assert str(event["uid"]) == f"{session.uid}@testserver.example"
    assert int(event["sequence"]) == 0
    assert str(event["status"]) == "CONFIRMED"
    [again] = events(second)
    assert str(again["uid"]) == str(event["uid"])


def test_session_ics_links_the_office_hours_page_not_the_meeting(client):
    run, tier = office_hours_run()
    session = SessionFactory(run=run)
    client.force_login(student(run, tier))

    response = client.get(ics_url(session))

    [event] = events(response)
    assert session.meeting_url.encode() not in response.content
    assert str(event["url"]).endswith(reverse("officehours:index", kwargs={"slug": run.course.slug}))


def test_moved_session_keeps_its_uid_and_bumps_its_sequence(client):
    run, tier = office_hours_run()
    session = SessionFactory(run=run)
    client.force_login(student(run, tier))
    [before] = events(client.get(ics_url(session)))

    session.starts_at += timedelta(hours=3)
    session.sequence += 1
    session.save()
    [after] = events(client.get(ics_url(session)))

    assert str(after["uid"]) == str(before["uid"])
    assert int(after["sequence"]) == int(before["sequence"]) + 1
    assert after.decoded("dtstart") == session.starts_at


def test_cancelled_session_shows_status_cancelled(client):
    run, tier = office_hours_run()
    session = SessionFactory(run=run, status=Session.Status.CANCELLED, sequence=1)
    client.force_login(student(run, tier))

    [event] = events(client.get(ics_url(session)))

    assert str(event["status"]) == "CANCELLED"
    assert int(event["sequence"]) == 1


def test_session_ics_needs_a_login(client):
    run, _ = office_hours_run()
    session = SessionFactory(run=run)

    response = client.get(ics_url(session))

    assert response.status_code == 302
    assert reverse("account_login") in response["Location"]


def test_standard_tier_student_cannot_download_the_ics(client):
    run, _ = office_hours_run()
    session = SessionFactory(run=run)
    standard = TierFactory(run=run)
    client.force_login(EnrollmentFactory(run=run, tier=standard).user)

    assert client.get(ics_url(session)).status_code == 403


def test_student_whose_window_ended_cannot_download_the_ics(client):
    run, tier = office_hours_run()
    session = SessionFactory(run=run)
    user = student(run, tier)
    run.starts_at = timezone.now() - timedelta(days=400)  # the 4 months of the office-hours tier are over
    run.save()
    client.force_login(user)

    assert client.get(ics_url(session)).status_code == 403


def test_ics_under_another_course_is_404(client):
    run, tier = office_hours_run()
    other_run, _ = office_hours_run()
    session = SessionFactory(run=run)
    client.force_login(student(run, tier))

    url = reverse("calendar:session_ics", kwargs={"course_slug": other_run.course.slug, "pk": session.pk})
    assert client.get(url).status_code == 404


def test_student_of_another_course_cannot_download_the_ics(client):
    run, _ = office_hours_run()
    other_run, other_tier = office_hours_run()
    session = SessionFactory(run=run)
    client.force_login(student(other_run, other_tier))

    assert client.get(ics_url(session)).status_code == 403


# --- The personal feed


def feed_url(user):
    return reverse("calendar:feed", kwargs={"token": feed_of(user).token})


def test_feed_holds_the_signed_up_sessions_with_their_utc_instants(client):
    run, tier = office_hours_run()
    user = student(run, tier)
    signed_up = SessionFactory(run=run, starts_at=datetime(2031, 3, 13, 22, 0, tzinfo=UTC))
    SessionFactory(run=run, starts_at=datetime(2031, 3, 14, 22, 0, tzinfo=UTC))
    Registration.objects.create(session=signed_up, user=user)

    response = client.get(feed_url(user))  # no login: the token is the key

    assert response.status_code == 200
    [event] = events(response)
    assert event.decoded("dtstart") == signed_up.starts_at
    assert str(event["uid"]).startswith(f"{signed_up.uid}@")
    assert signed_up.meeting_url.encode() not in response.content


def test_feed_of_scope_all_holds_every_session_of_the_run_also_cancelled(client):
    run, tier = office_hours_run()
    user = student(run, tier)
    sessions = [SessionFactory(run=run, starts_at=timezone.now() + timedelta(days=d)) for d in (1, 2, 3)]
    sessions[1].status = Session.Status.CANCELLED
    sessions[1].sequence = 1
    sessions[1].save()
    other_run, _ = office_hours_run()
    SessionFactory(run=other_run)
    feed = feed_of(user)
    feed.scope = CalendarFeed.Scope.ALL
    feed.save()

    found = {str(e["uid"]).split("@")[0]: e for e in events(client.get(feed_url(user)))}

    assert set(found) == {str(s.uid) for s in sessions}
    assert str(found[str(sessions[1].uid)]["status"]) == "CANCELLED"
    assert int(found[str(sessions[1].uid)]["sequence"]) == 1


def test_feed_uids_are_stable_and_a_move_bumps_the_sequence(client):
    run, tier = office_hours_run()
    user = student(run, tier)
    session = SessionFactory(run=run)
    Registration.objects.create(session=session, user=user)
    [before] = events(client.get(feed_url(user)))

    session.starts_at += timedelta(days=1)
    session.sequence += 1
    session.save()
    [after] = events(client.get(feed_url(user)))

    assert str(after["uid"]) == str(before["uid"])
    assert int(after["sequence"]) == 1
    assert after.decoded("dtstart") == session.starts_at


def test_standard_tier_users_feed_has_no_sessions(client):
    run, _ = office_hours_run()
    standard = TierFactory(run=run)
    user = EnrollmentFactory(run=run, tier=standard).user
    SessionFactory(run=run)
    feed = feed_of(user)
    feed.scope = CalendarFeed.Scope.ALL
    feed.save()

    response = client.get(feed_url(user))

    assert response.status_code == 200
    assert events(response) == []


def test_unknown_feed_token_is_404(client):
    assert client.get(reverse("calendar:feed", kwargs={"token": "not-a-token"})).status_code == 404


def test_reset_token_makes_the_old_feed_url_404(client):
    run, tier = office_hours_run()
    user = student(run, tier)
    old_url = feed_url(user)
    assert client.get(old_url).status_code == 200
    client.force_login(user)

    response = client.post(reverse("calendar:reset"), follow=True)

    assert FEED_TOKEN_RESET in response.text
    new_url = feed_url(user)
    assert new_url != old_url
    assert client.get(old_url).status_code == 404
    assert client.get(new_url).status_code == 200


def test_reset_needs_post(client):
    run, tier = office_hours_run()
    user = student(run, tier)
    client.force_login(user)

    assert client.get(reverse("calendar:reset")).status_code == 405


def test_settings_page_shows_the_feed_url_and_saves_the_scope(client):
    run, tier = office_hours_run()
    user = student(run, tier)
    client.force_login(user)

    page = client.get(reverse("calendar:settings"))
    assert page.status_code == 200
    assert feed_of(user).token in page.text

    client.post(reverse("calendar:settings"), {"scope": CalendarFeed.Scope.ALL})
    assert feed_of(user).scope == CalendarFeed.Scope.ALL


def test_settings_page_needs_a_login(client):
    response = client.get(reverse("calendar:settings"))
    assert response.status_code == 302


def test_staff_can_download_any_ics(client):
    run, _ = office_hours_run()
    session = SessionFactory(run=run)
    client.force_login(StaffFactory())

    assert client.get(ics_url(session)).status_code == 200


def test_profile_links_to_the_calendar_feed_settings(client):
    client.force_login(StaffFactory())

    assert reverse("calendar:settings") in client.get(reverse("profile")).text


def test_office_hours_student_cannot_download_the_ics_of_another_run_of_the_course(client):
    """The pages show a student their own run's sessions only; the .ics of another run's leaked title and time."""
    run, tier = office_hours_run()
    next_run, _ = office_hours_run()
    next_run.course = run.course
    next_run.save()
    other_session = SessionFactory(run=next_run, title="Next cohort's kick-off")
    client.force_login(student(run, tier))

    response = client.get(ics_url(other_session))

    assert response.status_code == 404
    assert b"kick-off" not in response.content


def test_staff_download_the_ics_of_any_run_of_the_course(client):
    run, _ = office_hours_run()
    session = SessionFactory(run=run)
    client.force_login(StaffFactory())

    assert len(events(client.get(ics_url(session)))) == 1
