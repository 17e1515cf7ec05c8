"""The demo instructor in the admin, in a real browser: nothing typed is lost, times are in the form's zone."""

from datetime import UTC, datetime

import pytest
from playwright.sync_api import expect

from courses.models import Lesson
from enrollment.models import Enrollment
from officehours.models import Session

pytestmark = pytest.mark.browser


@pytest.fixture
def instructor(demo, log_in, page, live_server):
    demo.instructor.timezone = "Asia/Jerusalem"
    demo.instructor.save(update_fields=["timezone"])
    log_in(demo.instructor)
    return demo


def test_a_duplicate_lesson_slug_is_a_form_error_that_keeps_what_was_typed(instructor, page, live_server):
    taken = Lesson.objects.filter(course=instructor.course).order_by("pk").first().slug
    count = Lesson.objects.count()
    page.goto(f"{live_server.url}/admin/courses/lesson/add/")
    page.select_option("#id_section", index=2)
    page.fill("#id_title", "Another introduction")
    page.click("#id_slug")
    page.keyboard.press("Control+A")
    page.keyboard.type(taken)
    page.fill("#id_body", "A body that took a while to write.")
    page.click("input[name=_save]")

    expect(page.locator(".errorlist")).to_contain_text(f"already has a lesson with the slug '{taken}'")
    expect(page.locator("#id_title")).to_have_value("Another introduction")
    expect(page.locator("#id_body")).to_have_value("A body that took a while to write.")
    assert Lesson.objects.count() == count


def test_the_enrollment_form_offers_only_the_chosen_runs_tiers(instructor, page, live_server):
    page.goto(f"{live_server.url}/admin/enrollment/enrollment/add/")
    next_run = "os => os.find(o => o.textContent.includes('(webrtc-next)')).value"
    page.select_option("#id_run", page.eval_on_selector_all("#id_run option", next_run))
    shown = "os => os.filter(o => !o.hidden && o.value).map(o => o.textContent)"
    offered = page.eval_on_selector_all("#id_tier option", shown)
    assert offered and all("Next cohort" in label for label in offered)


def test_moving_a_session_in_the_slots_zone_as_an_instructor_in_jerusalem(instructor, page, live_server):
    session = Session.objects.filter(slot__timezone="America/New_York").order_by("starts_at").first()
    page.goto(f"{live_server.url}/admin/officehours/session/{session.pk}/change/")
    expect(page.locator(".field-starts_at")).to_contain_text("In America/New_York, the zone of this session's weekly")
    expect(page.locator("#id_starts_at_1")).to_have_value("18:00:00")
    expect(page.locator(".timezonewarning")).to_be_hidden()
    page.fill("#id_starts_at_1", "19:00:00")
    page.click("input[name=_continue]")

    expect(page.locator(".messagelist")).to_contain_text("was changed successfully")
    expect(page.locator("#id_starts_at_1")).to_have_value("19:00:00")
    session.refresh_from_db()
    assert session.starts_at.hour in (23, 0)  # 19:00 in New York: 23:00 UTC in summer time, 00:00 in winter


def test_extending_access_from_the_enrollment_list(instructor, page, live_server):
    enrollment = Enrollment.objects.filter(user=instructor.student).first()
    page.goto(f"{live_server.url}/admin/enrollment/enrollment/")
    page.check(f"input.action-select[value='{enrollment.pk}']")
    page.select_option("select[name=action]", "extend_access")
    page.click("button[name=index]")
    page.fill("#id_until", f"{datetime.now(UTC).year + 2}-01-31")
    page.click("input[name=extend]")

    expect(page.locator(".messagelist")).to_contain_text("Access extended to 31 January")
    enrollment.refresh_from_db()
    assert enrollment.extended_until.date().month == 1
