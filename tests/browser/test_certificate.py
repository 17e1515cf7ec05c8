"""The certificate in a browser: a student who finished issues it, downloads it, and anyone verifies it."""

from datetime import timedelta

import pytest
from axe_playwright_python.sync_playwright import Axe
from django.utils import timezone
from playwright.sync_api import expect

from accounts.models import User
from courses.services import set_lesson_completed
from demo.management.commands._demo_activity import FINISHED
from enrollment import certificates
from enrollment.models import Certificate
from tests.factories import EnrollmentFactory, LessonFactory, QuizAttemptFactory, QuizFactory, RunFactory, UserFactory

from .helpers import DEMO_SLUG

pytestmark = pytest.mark.browser

PHONE_WIDTH = 375
BLOCKING = {"serious", "critical"}


def axe_findings(page):
    violations = Axe().run(page).response["violations"]
    return [f"[{v['impact']}] {v['id']}: {v['help']}" for v in violations if v["impact"] in BLOCKING]


def fits_a_phone(page):
    return page.evaluate("document.documentElement.scrollWidth") <= PHONE_WIDTH


@pytest.fixture
def finished(live_server):
    """A student who completed the only lesson and passed the only quiz of a course."""
    run = RunFactory(starts_at=timezone.now() - timedelta(days=20))
    lesson = LessonFactory(section__course=run.course)
    quiz = QuizFactory(section=lesson.section)
    student = UserFactory(first_name="Alexandros", last_name="Papadopoulos")
    EnrollmentFactory(user=student, run=run)
    set_lesson_completed(user=student, lesson=lesson, completed=True)
    QuizAttemptFactory(user=student, quiz=quiz)
    return run.course, student


def test_a_student_issues_the_certificate_with_the_keyboard_on_a_phone(live_server, page, log_in, finished):
    course, student = finished
    log_in(student)
    page.set_viewport_size({"width": PHONE_WIDTH, "height": 740})
    page.goto(f"{live_server.url}/courses/{course.slug}/learn/")
    card = page.get_by_role("region", name="Certificate")
    expect(card).to_contain_text("your certificate is ready to issue")
    card.get_by_role("link", name="Get your certificate").click()

    name = page.get_by_label("Your name, as it should be printed")
    expect(name).to_have_value("Alexandros Papadopoulos")
    assert fits_a_phone(page) and axe_findings(page) == []
    name.fill("李小龙")
    name.press("Enter")
    expect(page.get_by_text("The certificate's font cannot print 李 小 龙 yet.")).to_be_visible()
    assert not Certificate.objects.exists()
    assert axe_findings(page) == []

    name = page.get_by_label("Your name, as it should be printed")
    name.fill("Αλέξανδρος Παπαδόπουλος")
    name.press("Enter")
    expect(page.get_by_role("status").filter(has_text=certificates.ISSUED)).to_have_count(1)
    certificate = Certificate.objects.get(user=student)
    assert certificate.name == "Αλέξανδρος Παπαδόπουλος"
    download = page.get_by_test_id("certificate-download")
    pdf = page.request.get(live_server.url + download.get_attribute("href"))
    assert pdf.status == 200 and pdf.body().startswith(b"%PDF")
    assert fits_a_phone(page) and axe_findings(page) == []


@pytest.mark.parametrize("width", [1280, PHONE_WIDTH])
def test_anyone_verifies_the_demo_certificate_without_logging_in(live_server, page, demo, width):
    certificate = Certificate.objects.get(user__email=FINISHED[0])
    page.set_viewport_size({"width": width, "height": 800})

    page.goto(live_server.url + certificate.get_absolute_url())

    expect(page.get_by_role("heading", name="Certificate verification", level=1)).to_be_visible()
    expect(page.get_by_test_id("certificate-status")).to_have_text("This certificate is valid.")
    expect(page.get_by_test_id("certificate-name")).to_have_text("Zoë Łukasiewicz")
    expect(page.get_by_test_id("certificate-course")).to_have_text(demo.course.title)
    assert FINISHED[0] not in page.content()
    assert width != PHONE_WIDTH or fits_a_phone(page)
    assert axe_findings(page) == []


def test_the_finished_demo_student_downloads_and_then_finds_it_revoked(live_server, page, demo, log_in):
    student = User.objects.get(email=FINISHED[0])
    certificate = Certificate.objects.get(user=student)
    log_in(student)
    page.goto(f"{live_server.url}/courses/{DEMO_SLUG}/learn/")
    page.get_by_role("region", name="Certificate").get_by_role("link", name="Your certificate").click()
    href = page.get_by_test_id("certificate-download").get_attribute("href")
    assert page.request.get(live_server.url + href).body().startswith(b"%PDF")

    certificates.revoke(certificate=certificate, reason="Issued by mistake.")
    page.reload()
    expect(page.get_by_test_id("certificate-revoked")).to_contain_text("This certificate was revoked on")
    expect(page.get_by_test_id("certificate-download")).to_have_count(0)
    assert page.request.get(live_server.url + href).status == 410
    page.goto(live_server.url + certificate.get_absolute_url())
    expect(page.get_by_test_id("certificate-status")).to_contain_text("This certificate was revoked on")
    assert axe_findings(page) == []
