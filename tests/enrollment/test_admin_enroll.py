"""Enrolling one student by hand in the admin: by email, found case-insensitively or created."""
import re

import pytest
from django.contrib.auth.models import Permission
from django.urls import reverse

from accounts.models import User
from enrollment.models import TIER_OF_ANOTHER_RUN, Enrollment
from tests.factories import (
    EnrollmentFactory,
    OfficeHoursTierFactory,
    RunFactory,
    StaffFactory,
    TierFactory,
    UserFactory,
)

pytestmark = pytest.mark.django_db

ADD_URL = reverse("admin:enrollment_enrollment_add")


@pytest.fixture
def instructor(client):
    staff = StaffFactory(email="instructor@example.com")
    staff.user_permissions.set(
        Permission.objects.filter(content_type__app_label="enrollment", codename__endswith="_enrollment")
    )
    client.force_login(staff)
    return staff


@pytest.fixture
def run():
    run = RunFactory()
    TierFactory(run=run)
    return run


def add_form(run, tier, email):
    return {
        "email": email,
        "run": run.pk,
        "tier": tier.pk,
        "source": Enrollment.Source.ADMIN,
        "status": Enrollment.Status.ACTIVE,
        "extended_until_0": "",
        "extended_until_1": "",
        # The read-only inline of sent emails, in case the admin shows it on the add page.
        "emails-TOTAL_FORMS": "0",
        "emails-INITIAL_FORMS": "0",
        "emails-MIN_NUM_FORMS": "0",
        "emails-MAX_NUM_FORMS": "1000",
    }


def test_staff_enrolls_existing_user_by_email_in_upper_case(client, instructor, run):
    ann = UserFactory(email="ann@example.com")
    tier = OfficeHoursTierFactory(run=run)
    response = client.post(ADD_URL, add_form(run, tier, "  ANN@Example.COM "))
    assert response.status_code == 302, response.context["adminform"].form.errors
    enrollment = Enrollment.objects.get(run=run)
    assert (enrollment.user, enrollment.tier) == (ann, tier)
    assert User.objects.filter(email__iexact="ann@example.com").count() == 1


def test_staff_enrolls_a_new_student_who_gets_an_account_without_password(client, instructor, run):
    response = client.post(ADD_URL, add_form(run, run.tiers.get(), "New.Student@Example.com"))
    assert response.status_code == 302
    student = User.objects.get(email="new.student@example.com")
    assert not student.has_usable_password()
    assert Enrollment.objects.get(run=run).user == student


def test_admin_refuses_a_second_enrollment_in_the_same_run(client, instructor, run):
    EnrollmentFactory(user=UserFactory(email="ann@example.com"), run=run)
    response = client.post(ADD_URL, add_form(run, run.tiers.get(), "ANN@example.com"))
    assert response.status_code == 200
    assert "ann@example.com is already enrolled" in str(response.context["adminform"].form.non_field_errors())
    assert Enrollment.objects.filter(run=run).count() == 1


def test_admin_refuses_a_tier_of_another_run(client, instructor, run):
    other_tier = TierFactory(run=RunFactory())
    response = client.post(ADD_URL, add_form(run, other_tier, "ann@example.com"))
    assert response.status_code == 200
    assert response.context["adminform"].form.errors["tier"] == [TIER_OF_ANOTHER_RUN]
    assert not User.objects.filter(email="ann@example.com").exists()


def test_student_enrolled_by_hand_after_the_prelaunch_point_gets_that_email_at_once(
    client, instructor, run, eager_celery, mailoutbox, django_capture_on_commit_callbacks
):
    with django_capture_on_commit_callbacks(execute=True):
        response = client.post(ADD_URL, add_form(run, run.tiers.get(), "late@example.com"))

    assert response.status_code == 302
    assert [message.to for message in mailoutbox] == [["late@example.com"]]
    assert Enrollment.objects.get(run=run).emails.get().status == "sent"


def test_an_extension_and_a_status_given_on_the_add_page_are_kept(client, instructor, run):
    form = add_form(run, run.tiers.get(), "ann@example.com")
    form.update(extended_until_0="2031-01-15", extended_until_1="12:00:00", status=Enrollment.Status.CANCELLED)
    response = client.post(ADD_URL, form)
    assert response.status_code == 302, response.context["adminform"].form.errors
    enrollment = Enrollment.objects.get(run=run)
    assert enrollment.status == Enrollment.Status.CANCELLED
    assert (enrollment.extended_until.year, enrollment.extended_until.month) == (2031, 1)
    assert response["Location"] == reverse("admin:enrollment_enrollment_changelist")


def test_moving_an_enrollment_to_a_run_the_student_is_in_is_a_form_error(client):
    client.force_login(StaffFactory(is_superuser=True))
    first, second = RunFactory(), RunFactory()
    user = UserFactory(email="twice@example.com")
    enrollment = EnrollmentFactory(user=user, run=first, tier=TierFactory(run=first))
    EnrollmentFactory(user=user, run=second, tier=TierFactory(run=second))
    data = {"run": second.pk, "tier": second.tiers.get().pk, "source": "admin", "status": "active",
            "extended_until_0": "", "extended_until_1": "",
            "emails-TOTAL_FORMS": "0", "emails-INITIAL_FORMS": "0",
            "extensions-TOTAL_FORMS": "0", "extensions-INITIAL_FORMS": "0"}  # fmt: skip
    response = client.post(reverse("admin:enrollment_enrollment_change", args=[enrollment.pk]), data)
    assert response.status_code == 200
    assert f"twice@example.com is already enrolled in {second}." in response.content.decode()
    assert Enrollment.objects.get(pk=enrollment.pk).run == first


def test_run_and_tier_drop_downs_name_their_course_and_tiers_say_their_run(client):
    client.force_login(StaffFactory(is_superuser=True))
    run = RunFactory(title="Spring", slug="spring-26", course__title="WebRTC")
    tier = TierFactory(run=run, name="Basic")
    page = client.get(ADD_URL).content.decode()
    assert "WebRTC – Spring (spring-26)" in page
    assert f'data-run="{run.pk}"' in page and "WebRTC – Spring – Basic" in page
    assert "js/admin-tier-by-run.js" in page
    assert tier.pk


def test_the_run_list_shows_slugs(client):
    client.force_login(StaffFactory(is_superuser=True))
    RunFactory(slug="webrtc-next")
    page = client.get(reverse("admin:enrollment_run_changelist")).content.decode()
    assert "webrtc-next" in page and "column-slug" in page


def test_a_tiers_office_hours_flag_must_match_its_kind_and_two_tiers_of_a_kind_are_refused(client):
    client.force_login(StaffFactory(is_superuser=True))
    run = RunFactory()
    data = {"course": run.course_id, "title": run.title, "slug": run.slug, "starts_at_0": "2099-01-01",
            "starts_at_1": "10:00", "prelaunch_email_days": 2,
            "tiers-TOTAL_FORMS": "2", "tiers-INITIAL_FORMS": "0",
            "office_hour_slots-TOTAL_FORMS": "0", "office_hour_slots-INITIAL_FORMS": "0"}  # fmt: skip
    tier = {"kind": "standard", "name": "S", "price": "10", "currency": "USD", "months": 2}
    data |= {f"tiers-0-{k}": v for k, v in (tier | {"includes_office_hours": "on"}).items()}
    data |= {f"tiers-1-{k}": v for k, v in tier.items()}
    response = client.post(reverse("admin:enrollment_run_change", args=[run.pk]), data)
    page = response.content.decode()
    assert response.status_code == 200
    assert "A standard tier does not include office hours" in page
    assert not run.tiers.exists()

    data |= {f"tiers-0-{k}": v for k, v in tier.items()}
    del data["tiers-0-includes_office_hours"]
    response = client.post(reverse("admin:enrollment_run_change", args=[run.pk]), data)
    errors = re.findall(r"<ul class=\"errorlist[^>]*>(.*?)</ul>", response.content.decode())
    assert response.status_code == 200
    assert "A run has one Standard tier" in str(errors) or "duplicate data for kind" in str(errors), errors
    assert not run.tiers.exists()

    TierFactory(run=run)  # one standard tier saved already: a new one is still a form error
    data["tiers-TOTAL_FORMS"] = "1"
    response = client.post(reverse("admin:enrollment_run_change", args=[run.pk]), data)
    assert response.status_code == 200 and "A run has one Standard tier" in response.content.decode()
    assert run.tiers.count() == 1
