"""Enrolling one student by hand in the admin: by email, found case-insensitively or created."""

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
