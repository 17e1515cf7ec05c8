from datetime import UTC, date, datetime, time

import pytest
from django.contrib.admin.helpers import ACTION_CHECKBOX_NAME
from django.urls import reverse

from officehours.admin import GENERATED, NO_OFFICE_HOURS_TIER
from officehours.models import Question, Registration, Session, WeeklySlot
from tests.factories import OfficeHoursTierFactory, RunFactory, StaffFactory, TierFactory, UserFactory

pytestmark = pytest.mark.django_db

THURSDAY = 3


def utc(*args):
    return datetime(*args, tzinfo=UTC)


@pytest.fixture
def staff_client(client):
    client.force_login(StaffFactory(is_superuser=True))
    return client


@pytest.fixture
def run():
    # Far in the future, so that the action's "now" cuts no session.
    run = RunFactory(starts_at=utc(2099, 3, 1))
    TierFactory(run=run, months=2)
    OfficeHoursTierFactory(run=run, months=4)
    WeeklySlot.objects.create(run=run, weekday=THURSDAY, local_time=time(18, 0), timezone="America/New_York",
                              meeting_url="https://meet.example.org/oh")  # fmt: skip
    return run


def generate(client, run):
    return client.post(
        reverse("admin:enrollment_run_changelist"),
        {"action": "generate_office_hours", ACTION_CHECKBOX_NAME: [run.pk]},
        follow=True,
    )


def test_staff_generates_a_runs_sessions_from_the_run_list_and_again_changes_nothing(staff_client, run):
    response = generate(staff_client, run)

    assert response.status_code == 200
    count = Session.objects.filter(run=run).count()
    assert count == 17  # Thursdays from 4 March to 24 June 2099
    assert GENERATED.format(run=run, created=17, existing=0) in response.content.decode()
    response = generate(staff_client, run)
    assert GENERATED.format(run=run, created=0, existing=17) in response.content.decode()
    assert Session.objects.filter(run=run).count() == 17


def test_generate_action_warns_about_a_run_without_an_office_hours_tier(staff_client):
    run = RunFactory(starts_at=utc(2099, 3, 1))
    TierFactory(run=run)
    response = generate(staff_client, run)
    assert NO_OFFICE_HOURS_TIER.format(run=run) in response.content.decode()
    assert not Session.objects.filter(run=run).exists()


def test_run_page_shows_the_weekly_slots_inline(staff_client, run):
    response = staff_client.get(reverse("admin:enrollment_run_change", args=[run.pk]))
    assert response.status_code == 200
    assert "office_hour_slots-TOTAL_FORMS" in response.content.decode()


@pytest.fixture
def session(staff_client, run):
    generate(staff_client, run)
    return Session.objects.get(run=run, slot_date=date(2099, 3, 19))


@pytest.fixture
def signed_up(session):
    user = UserFactory(email="signed-up@example.com", timezone="Europe/Berlin")
    Registration.objects.create(session=session, user=user)
    UserFactory(email="bystander@example.com")
    Question.objects.create(session=session, author=user, text="How do fixtures compose?")
    return user


def test_session_list_shows_utc_and_slot_zone_times_and_sign_ups(staff_client, session, signed_up):
    response = staff_client.get(reverse("admin:officehours_session_changelist"), {"run__id__exact": session.run_id})
    page = response.content.decode()

    assert response.status_code == 200
    assert "2099-03-19 22:00 UTC" in page
    assert "Thu 2099-03-19 18:00 America/New_York" in page
    assert staff_client.get(reverse("admin:officehours_session_changelist"), {"q": session.title}).status_code == 200


def test_session_page_shows_registrations_and_questions(staff_client, session, signed_up):
    response = staff_client.get(reverse("admin:officehours_session_change", args=[session.pk]))
    page = response.content.decode()
    assert "signed-up@example.com" in page
    assert "How do fixtures compose?" in page


def change_form(session, **changes):
    data = {
        "run": session.run_id, "title": session.title, "starts_at_0": "2099-03-19", "starts_at_1": "18:00:00",
        "duration_minutes": session.duration_minutes, "meeting_url": session.meeting_url, "capacity": "",
        "status": session.status, "recording_url": "", "notes": "",
    }  # fmt: skip
    for prefix in ("registrations", "questions"):
        data |= {f"{prefix}-TOTAL_FORMS": "0", f"{prefix}-INITIAL_FORMS": "0"}
    return data | changes


def test_moving_a_session_in_the_admin_bumps_its_sequence_and_emails_its_students(
    staff_client, session, signed_up, mailoutbox, django_capture_on_commit_callbacks
):
    data = change_form(session, starts_at_0="2099-03-20", starts_at_1="12:00:00", notes="Moved a day.")  # New York
    with django_capture_on_commit_callbacks(execute=True):
        response = staff_client.post(reverse("admin:officehours_session_change", args=[session.pk]), data)

    assert response.status_code == 302
    session.refresh_from_db()
    assert (session.starts_at, session.sequence, session.notes) == (utc(2099, 3, 20, 16, 0), 1, "Moved a day.")
    assert [m.to for m in mailoutbox] == [["signed-up@example.com"]]
    assert "Friday 20 March 2099, 17:00 to 18:00 (Europe/Berlin)" in mailoutbox[0].body


def test_editing_other_fields_neither_bumps_the_sequence_nor_emails(
    staff_client, session, signed_up, mailoutbox, django_capture_on_commit_callbacks
):
    data = change_form(session, notes="Bring your laptop.")
    with django_capture_on_commit_callbacks(execute=True):
        staff_client.post(reverse("admin:officehours_session_change", args=[session.pk]), data)

    session.refresh_from_db()
    assert (session.notes, session.sequence) == ("Bring your laptop.", 0)
    assert mailoutbox == []


def test_cancelling_through_the_status_field_emails_the_students(
    staff_client, session, signed_up, mailoutbox, django_capture_on_commit_callbacks
):
    data = change_form(session, status=Session.Status.CANCELLED)
    with django_capture_on_commit_callbacks(execute=True):
        staff_client.post(reverse("admin:officehours_session_change", args=[session.pk]), data)

    session.refresh_from_db()
    assert (session.status, session.sequence) == (Session.Status.CANCELLED, 1)
    assert [m.to for m in mailoutbox] == [["signed-up@example.com"]]


def test_cancel_action_cancels_sessions_and_emails_only_signed_up_students(
    staff_client, session, signed_up, mailoutbox, django_capture_on_commit_callbacks
):
    other = Session.objects.get(run=session.run, slot_date=date(2099, 3, 26))
    with django_capture_on_commit_callbacks(execute=True):
        response = staff_client.post(
            reverse("admin:officehours_session_changelist"),
            {"action": "cancel_sessions", ACTION_CHECKBOX_NAME: [session.pk, other.pk]},
            follow=True,
        )

    assert "2 sessions cancelled" in response.content.decode()
    assert set(Session.objects.filter(pk__in=[session.pk, other.pk]).values_list("status", "sequence")) == {
        (Session.Status.CANCELLED, 1)
    }
    assert [m.to for m in mailoutbox] == [["signed-up@example.com"]]
    assert "cancelled" in mailoutbox[0].subject


def test_staff_adds_a_single_session(staff_client, run):
    data = change_form(Session(run=run, title="Extra session", duration_minutes=30, meeting_url="https://x.example/m"),
                       starts_at_0="2099-05-01", starts_at_1="12:00:00")  # fmt: skip
    response = staff_client.post(reverse("admin:officehours_session_add"), data)

    assert response.status_code == 302
    extra = Session.objects.get(title="Extra session")
    assert (extra.starts_at, extra.ends_at, extra.slot, extra.sequence) == (
        utc(2099, 5, 1, 12), utc(2099, 5, 1, 12, 30), None, 0,
    )  # fmt: skip


def test_weekly_slot_list_filters_by_run(staff_client, run):
    response = staff_client.get(reverse("admin:officehours_weeklyslot_changelist"), {"run__id__exact": run.pk})
    assert response.status_code == 200
    assert "America/New_York" in response.content.decode()


def test_a_new_length_or_un_cancelling_bumps_the_sequence_without_email(
    staff_client, session, signed_up, mailoutbox, django_capture_on_commit_callbacks
):
    url = reverse("admin:officehours_session_change", args=[session.pk])
    with django_capture_on_commit_callbacks(execute=True):
        staff_client.post(url, change_form(session, duration_minutes=90))
    session.refresh_from_db()
    assert (session.ends_at, session.sequence) == (utc(2099, 3, 19, 23, 30), 1)

    Session.objects.filter(pk=session.pk).update(status=Session.Status.CANCELLED)
    session.refresh_from_db()
    with django_capture_on_commit_callbacks(execute=True):
        staff_client.post(url, change_form(session, status=Session.Status.SCHEDULED))
    session.refresh_from_db()
    assert (session.status, session.sequence) == (Session.Status.SCHEDULED, 2)
    assert mailoutbox == []


def test_an_instructor_in_another_zone_moves_a_session_in_the_slots_zone_and_students_get_that_instant(
    client, session, mailoutbox, django_capture_on_commit_callbacks
):
    client.force_login(StaffFactory(is_superuser=True, timezone="Asia/Jerusalem"))
    berlin = UserFactory(email="berlin@example.com", timezone="Europe/Berlin")
    tokyo = UserFactory(email="tokyo@example.com", timezone="Asia/Tokyo")
    for user in (berlin, tokyo):
        Registration.objects.create(session=session, user=user)
    url = reverse("admin:officehours_session_change", args=[session.pk])

    page = client.get(url).content.decode()
    assert "In America/New_York, the zone of this session's weekly slot." in page
    assert 'value="18:00:00"' in page  # 22:00 UTC shown as the slot's 18:00, not Jerusalem's midnight
    assert "In UTC" not in page

    with django_capture_on_commit_callbacks(execute=True):
        response = client.post(url, change_form(session, starts_at_0="2099-03-26", starts_at_1="19:00:00"))

    assert response.status_code == 302
    session.refresh_from_db()
    assert session.starts_at == utc(2099, 3, 26, 23, 0)  # 19:00 in New York (EDT)
    assert str(session) == "Office hours 2099-03-26 23:00 UTC"
    by_address = {m.to[0]: m for m in mailoutbox}
    assert "Friday 27 March 2099, 00:00" in by_address["berlin@example.com"].body
    assert "(Europe/Berlin)" in by_address["berlin@example.com"].body
    assert "Friday 27 March 2099, 08:00" in by_address["tokyo@example.com"].body
    assert "(Asia/Tokyo)" in by_address["tokyo@example.com"].body


def test_a_session_without_a_slot_is_typed_in_the_sites_zone(client, run, settings):
    settings.TIME_ZONE = "Europe/London"
    client.force_login(StaffFactory(is_superuser=True, timezone="Asia/Jerusalem"))
    page = client.get(reverse("admin:officehours_session_add")).content.decode()
    assert "In Europe/London, the site's zone (this session has no weekly slot)." in page
    data = change_form(Session(run=run, title="Extra", duration_minutes=30, meeting_url="https://x.example/m"),
                       starts_at_0="2099-07-01", starts_at_1="12:00:00")  # fmt: skip
    assert client.post(reverse("admin:officehours_session_add"), data).status_code == 302
    assert Session.objects.get(title="Extra").starts_at == utc(2099, 7, 1, 11, 0)  # BST


def test_a_session_of_no_length_is_a_form_error(staff_client, session):
    url = reverse("admin:officehours_session_change", args=[session.pk])
    response = staff_client.post(url, change_form(session, duration_minutes=0))
    assert response.status_code == 200 and "greater than or equal to 1" in response.content.decode()
    session.refresh_from_db()
    assert session.duration_minutes == 60


def test_saving_weekly_slots_on_the_run_page_generates_its_sessions_once(staff_client):
    run = RunFactory(starts_at=utc(2099, 3, 1))
    OfficeHoursTierFactory(run=run, months=4)
    data = {"course": run.course_id, "title": run.title, "slug": run.slug, "starts_at_0": "2099-03-01",
            "starts_at_1": "00:00:00", "prelaunch_email_days": 2,
            "tiers-TOTAL_FORMS": "1", "tiers-INITIAL_FORMS": "1", "tiers-0-id": run.tiers.get().pk,
            "tiers-0-run": run.pk, "tiers-0-kind": "office-hours", "tiers-0-name": "OH", "tiers-0-price": "1",
            "tiers-0-currency": "USD", "tiers-0-months": 4, "tiers-0-includes_office_hours": "on",
            "office_hour_slots-TOTAL_FORMS": "1", "office_hour_slots-INITIAL_FORMS": "0",
            "office_hour_slots-0-title": "Office hours", "office_hour_slots-0-weekday": THURSDAY,
            "office_hour_slots-0-local_time": "18:00", "office_hour_slots-0-timezone": "America/New_York",
            "office_hour_slots-0-duration_minutes": 60, "office_hour_slots-0-meeting_url": "https://m.example/oh",
            "office_hour_slots-0-capacity": "", "release_overrides-TOTAL_FORMS": "0",
            "release_overrides-INITIAL_FORMS": "0"}  # fmt: skip
    url = reverse("admin:enrollment_run_change", args=[run.pk])
    response = staff_client.post(url, data, follow=True)
    assert GENERATED.format(run=run, created=17, existing=0) in response.content.decode()
    slot = run.office_hour_slots.get()
    data |= {"office_hour_slots-INITIAL_FORMS": "1", "office_hour_slots-0-id": slot.pk,
             "office_hour_slots-0-run": run.pk, "office_hour_slots-0-capacity": "5"}  # fmt: skip
    response = staff_client.post(url, data, follow=True)
    assert GENERATED.format(run=run, created=0, existing=17) in response.content.decode()
    assert Session.objects.filter(run=run).count() == 17


def test_the_session_page_names_the_zone_of_its_end_and_hides_djangos_offset_note(staff_client, session):
    page = staff_client.get(reverse("admin:officehours_session_change", args=[session.pk])).content.decode()
    assert "Thu 2099-03-19 19:00 America/New_York" in page
    assert "css/admin-session.css" in page


def test_a_slot_saved_on_its_own_page_generates_its_runs_sessions(staff_client):
    run = RunFactory(starts_at=utc(2099, 3, 1))
    OfficeHoursTierFactory(run=run, months=4)
    data = {"run": run.pk, "title": "Office hours", "weekday": THURSDAY, "local_time": "18:00",
            "timezone": "America/New_York", "duration_minutes": 60, "meeting_url": "https://m.example/oh",
            "capacity": ""}  # fmt: skip
    response = staff_client.post(reverse("admin:officehours_weeklyslot_add"), data, follow=True)
    assert GENERATED.format(run=run, created=17, existing=0) in response.content.decode()
    assert Session.objects.filter(run=run).count() == 17


def test_the_session_list_shows_a_session_without_a_slot_in_the_sites_zone(staff_client, run, settings):
    settings.TIME_ZONE = "Europe/London"
    Session.objects.create(run=run, title="Extra", starts_at=utc(2099, 7, 1, 11), meeting_url="https://x.example/m")
    page = staff_client.get(reverse("admin:officehours_session_changelist")).content.decode()
    assert "Wed 2099-07-01 12:00 Europe/London" in page
