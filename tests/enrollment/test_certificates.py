"""Certificates: earned by completing every lesson and passing every quiz, issued once, verifiable, revocable."""

import re
import secrets
from datetime import UTC, datetime, timedelta
from io import BytesIO

import pytest
from django.urls import reverse
from django.utils import timezone
from pypdf import PdfReader

from courses.services import set_lesson_completed
from enrollment import certificates
from enrollment.models import Certificate
from tests.factories import (
    CertificateFactory,
    EnrollmentFactory,
    LessonFactory,
    QuizAttemptFactory,
    QuizFactory,
    RunFactory,
    SectionFactory,
    StaffFactory,
    UserFactory,
)

pytestmark = pytest.mark.django_db


@pytest.fixture
def scene():
    """A course of two sections, three lessons, a published quiz on the first section, and an enrolled student."""
    run = RunFactory(starts_at=timezone.now() - timedelta(days=20))
    first = SectionFactory(course=run.course)
    second = SectionFactory(course=run.course)
    lessons = [LessonFactory(section=first), LessonFactory(section=first), LessonFactory(section=second)]
    quiz = QuizFactory(section=first)
    QuizFactory(section=second, is_published=False)  # being built: it does not count
    student = UserFactory(first_name="Zoë", last_name="Łukasiewicz", email="zoe@example.com")
    EnrollmentFactory(user=student, run=run)
    return run, run.course, lessons, quiz, student


def complete(student, lessons, when=None):
    for lesson in lessons:
        set_lesson_completed(user=student, lesson=lesson, completed=True, now=when)


def page_url(course):
    return reverse("certificates:mine", args=[course.slug])


def pdf_text(content):
    reader = PdfReader(BytesIO(content))
    return " ".join(" ".join(page.extract_text().split()) for page in reader.pages)


def issue_through_page(client, course, name):
    return client.post(page_url(course), {"name": name})


# --- standing and refusals ---


def test_certificate_is_refused_before_every_lesson_is_completed(client, scene):
    run, course, lessons, quiz, student = scene
    complete(student, lessons[:2])
    QuizAttemptFactory(user=student, quiz=quiz)
    client.force_login(student)

    page = client.get(page_url(course))
    posted = issue_through_page(client, course, "Zoë Łukasiewicz")

    assert page.status_code == posted.status_code == 403
    assert "Finish 1 more lesson to earn your certificate." in page.content.decode()
    assert "Finish 1 more lesson to earn your certificate." in posted.content.decode()
    assert not Certificate.objects.exists()


def test_certificate_is_refused_before_the_quiz_is_passed(client, scene):
    run, course, lessons, quiz, student = scene
    complete(student, lessons)
    QuizAttemptFactory(user=student, quiz=quiz, question_count=4, correct_count=2)  # 50 %: failed
    client.force_login(student)

    response = issue_through_page(client, course, "Zoë Łukasiewicz")

    assert response.status_code == 403
    assert "Finish 1 more quiz to earn your certificate." in response.content.decode()
    assert not Certificate.objects.exists()
    with pytest.raises(certificates.CertificateRefused) as refused:
        certificates.issue(user=student, course=course, run=run, name="Zoë")
    assert refused.value.message == certificates.NOT_FINISHED.format(what="1 more quiz")


def test_standing_counts_what_is_left_and_when_the_last_step_was_done(scene):
    run, course, lessons, quiz, student = scene
    assert certificates.standing(user=student, course=course).still_to_do == "3 more lessons and 1 more quiz"

    day = timezone.now() - timedelta(days=5)
    complete(student, lessons, when=day)
    QuizAttemptFactory(user=student, quiz=quiz, submitted_at=day + timedelta(hours=2))
    QuizAttemptFactory(user=student, quiz=quiz, submitted_at=day + timedelta(days=1))  # a retake counts not

    standing = certificates.standing(user=student, course=course)
    assert standing.has_earned
    assert standing.completed_at == day + timedelta(hours=2)


def test_a_visitor_and_a_student_of_another_course_are_refused_the_certificate_page(client, scene):
    run, course, lessons, quiz, student = scene
    assert client.get(page_url(course)).status_code == 302  # to log in
    client.force_login(EnrollmentFactory().user)
    assert client.get(page_url(course)).status_code == 403
    assert not Certificate.objects.exists()


# --- issuing ---


def test_a_student_who_finished_issues_the_certificate_once_with_the_name_they_give(client, scene):
    run, course, lessons, quiz, student = scene
    complete(student, lessons)
    QuizAttemptFactory(user=student, quiz=quiz)
    client.force_login(student)

    form = client.get(page_url(course))
    assert form.status_code == 200
    assert 'value="Zoë Łukasiewicz"' in form.content.decode()  # prefilled from the profile

    first = issue_through_page(client, course, "  Zoë   Łukasiewicz-Nowak ")
    again = issue_through_page(client, course, "Somebody Else")

    assert first.status_code == again.status_code == 302
    certificate = Certificate.objects.get()
    assert (certificate.user, certificate.course, certificate.run) == (student, course, run)
    assert certificate.name == "Zoë Łukasiewicz-Nowak"
    assert certificates.issue(user=student, course=course, run=run, name="Third") == certificate
    page = client.get(page_url(course)).content.decode()
    assert reverse("certificates:download", args=[course.slug, certificate.verification_id]) in page


def test_the_verification_id_is_long_random_and_different_for_each_certificate(scene):
    ids = {CertificateFactory().verification_id for _ in range(5)}
    assert len(ids) == 5
    assert all(re.fullmatch(r"[A-Za-z0-9_-]{22}", id_) for id_ in ids)  # 128 random bits


@pytest.mark.parametrize(
    "name, message",
    [
        ("   ", "This field is required."),
        ("李小龙", certificates.NAME_UNPRINTABLE.format(chars="李 小 龙")),
        ("שלום", certificates.NAME_UNPRINTABLE.format(chars="ש ל ו ם")),
        ("x" * 121, "Ensure this value has at most 120 characters (it has 121)."),
    ],
)
def test_a_name_the_certificate_cannot_print_gets_a_clear_message_and_creates_nothing(client, scene, name, message):
    run, course, lessons, quiz, student = scene
    complete(student, lessons)
    QuizAttemptFactory(user=student, quiz=quiz)
    client.force_login(student)

    response = issue_through_page(client, course, name)

    assert response.status_code == 400
    assert message in response.content.decode().replace("&#x27;", "'")
    assert not Certificate.objects.exists()


def test_staff_are_pointed_to_the_admin_and_issue_nothing(client, scene):
    run, course, *_ = scene
    client.force_login(StaffFactory())
    response = client.get(page_url(course))
    posted = issue_through_page(client, course, "Ada")
    assert response.status_code == posted.status_code == 200
    assert reverse("admin:enrollment_certificate_changelist") in response.content.decode()
    assert not Certificate.objects.exists()


# --- the PDF ---


@pytest.mark.parametrize("name", ["Zoë Łukasiewicz", "Αλέξανδρος Παπαδόπουλος", "Дмитрий Шостакович"])
def test_the_pdf_opens_and_holds_the_name_course_run_date_and_verification_address(client, scene, name):
    run, course, lessons, quiz, student = scene
    complete(student, lessons)
    QuizAttemptFactory(user=student, quiz=quiz)
    certificate = certificates.issue(user=student, course=course, run=run, name=name)
    client.force_login(student)

    response = client.get(reverse("certificates:download", args=[course.slug, certificate.verification_id]))

    assert response.status_code == 200
    assert response["Content-Type"] == "application/pdf"
    assert response.content.startswith(b"%PDF")
    text = pdf_text(response.content)
    assert name in text
    assert course.title in text and run.title in text
    assert certificates.completed_on(certificate).strftime("%-d %B %Y") in text
    assert f"/certificates/{certificate.verification_id}/" in text
    fonts = PdfReader(BytesIO(response.content)).pages[0]["/Resources"]["/Font"]
    assert all("DejaVuSans" in str(font.get_object()["/BaseFont"]) for font in fonts.values())


def test_another_students_certificate_is_not_downloadable(client, scene):
    run, course, *_ = scene
    certificate = CertificateFactory(run=run)
    client.force_login(EnrollmentFactory(run=run).user)

    response = client.get(reverse("certificates:download", args=[course.slug, certificate.verification_id]))

    assert response.status_code == 404


# --- verification ---


def verify_url(verification_id):
    return reverse("certificates:verify", args=[verification_id])


def test_the_verification_page_for_a_random_id_is_404(client, scene):
    CertificateFactory()
    assert client.get(verify_url(secrets.token_urlsafe(16))).status_code == 404


def test_anyone_sees_name_course_and_date_on_the_verification_page_and_not_the_email(client, scene):
    run, course, *_ = scene
    student = UserFactory(email="private.person@example.com", timezone="Asia/Tokyo")
    EnrollmentFactory(user=student, run=run)
    # 20:00 UTC on 3 March is 4 March in Tokyo: the student's calendar decides the date, for every viewer.
    completed = datetime(2026, 3, 3, 20, 0, tzinfo=UTC)
    certificate = CertificateFactory(run=run, user=student, name="Дмитрий Шостакович", completed_at=completed)

    response = client.get(verify_url(certificate.verification_id))

    page = response.content.decode()
    assert response.status_code == 200
    assert "This certificate is valid." in page
    assert "Дмитрий Шостакович" in page and course.title in page and "4 March 2026" in page
    assert "private.person" not in page and "example.com" not in page
    assert run.title not in page


def test_a_revoked_certificate_says_so_and_its_pdf_is_no_longer_served(client, scene):
    run, course, lessons, quiz, student = scene
    certificate = CertificateFactory(run=run, user=student)
    revoked_at = datetime(2026, 5, 7, 12, 0, tzinfo=UTC)
    certificates.revoke(certificate=certificate, reason="Shared answers in the forum.", now=revoked_at)
    client.force_login(student)

    verification = client.get(verify_url(certificate.verification_id)).content.decode()
    download = client.get(reverse("certificates:download", args=[course.slug, certificate.verification_id]))
    own_page = client.get(page_url(course)).content.decode()

    assert "This certificate was revoked on 7 May 2026." in verification
    assert "Shared answers" not in verification
    assert download.status_code == 410 and not download.content.startswith(b"%PDF")
    assert "revoked on 7 May 2026" in own_page
    assert reverse("certificates:download", args=[course.slug, certificate.verification_id]) not in own_page


def test_revoking_needs_a_reason_and_keeps_the_first_date(scene):
    certificate = CertificateFactory()
    with pytest.raises(certificates.CertificateRefused):
        certificates.revoke(certificate=certificate, reason="  ")
    certificate.refresh_from_db()
    assert certificate.revoked_at is None

    first = timezone.now() - timedelta(days=1)
    certificates.revoke(certificate=certificate, reason="Plagiarism.", now=first)
    certificates.revoke(certificate=certificate, reason="Plagiarism, confirmed.")
    certificate.refresh_from_db()
    assert (certificate.revoked_at, certificate.revoked_reason) == (first, "Plagiarism, confirmed.")


def test_the_instructor_revokes_a_certificate_in_the_admin(client, scene):
    certificate = CertificateFactory()
    client.force_login(StaffFactory(is_superuser=True))
    url = reverse("admin:enrollment_certificate_change", args=[certificate.pk])

    assert client.get(url).status_code == 200
    response = client.post(url, {"revoked_reason": "Issued by mistake."})

    assert response.status_code == 302
    certificate.refresh_from_db()
    assert certificate.is_revoked and certificate.revoked_reason == "Issued by mistake."
    assert client.get(reverse("admin:enrollment_certificate_add")).status_code == 403


# --- the course home card ---


def test_the_course_home_says_what_is_left_then_offers_the_certificate(client, scene):
    run, course, lessons, quiz, student = scene
    client.force_login(student)
    home = reverse("courses:home", args=[course.slug])

    before = client.get(home).content.decode()
    complete(student, lessons)
    QuizAttemptFactory(user=student, quiz=quiz)
    after = client.get(home).content.decode()

    assert "Finish 3 more lessons and 1 more quiz to earn your certificate." in before
    assert page_url(course) not in before
    assert "Get your certificate" in after and page_url(course) in after
    assert not Certificate.objects.exists()  # the card offers; only the student's request issues


# --- queries ---


def test_the_certificate_pages_queries_do_not_grow_with_the_course(client, scene, django_assert_max_num_queries):
    run, course, lessons, quiz, student = scene
    for section in course.sections.all():
        for _ in range(10):
            lessons.append(LessonFactory(section=section))
        QuizFactory(section=SectionFactory(course=course))
    complete(student, lessons)
    for each in course.sections.exclude(quiz=None):
        if each.quiz.is_published:
            QuizAttemptFactory(user=student, quiz=each.quiz)
    client.force_login(student)

    with django_assert_max_num_queries(12):
        assert client.get(page_url(course)).status_code == 200
    certificate = certificates.issue(user=student, course=course, run=run, name="Zoë")
    with django_assert_max_num_queries(12):
        assert client.get(page_url(course)).status_code == 200
    client.logout()
    with django_assert_max_num_queries(2):
        assert client.get(verify_url(certificate.verification_id)).status_code == 200


def test_a_long_name_and_course_title_wrap_onto_the_page_whole(client, scene):
    run, course, lessons, quiz, student = scene
    course.title = " ".join(["Architecture"] * 15)  # 194 characters (200 at most)
    course.save()
    name = " ".join(["Wolfeschlegelsteinhausen"] * 3) + " Bergerdorff Ænæs-Øster"
    complete(student, lessons)
    QuizAttemptFactory(user=student, quiz=quiz)
    certificate = certificates.issue(user=student, course=course, run=run, name=name)
    client.force_login(student)

    response = client.get(reverse("certificates:download", args=[course.slug, certificate.verification_id]))

    reader = PdfReader(BytesIO(response.content))
    assert len(reader.pages) == 1
    words = pdf_text(response.content).split()
    assert words.count("Wolfeschlegelsteinhausen") == 3 and "Ænæs-Øster" in words
    assert words.count("Architecture") == 15
