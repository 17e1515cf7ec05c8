"""The instructor sets release days on lessons, a run's own dates on the run, and publishes a course, in the admin."""

from datetime import UTC, datetime, time
from html import unescape
from html.parser import HTMLParser

import pytest
from django.urls import reverse

from courses.models import RELEASE_TIME_WITHOUT_DAYS, Course, Lesson
from enrollment.models import ReleaseOverride
from enrollment.releases import schedule_for
from tests.factories import CourseFactory, LessonFactory, RunFactory, StaffFactory, TierFactory

pytestmark = pytest.mark.django_db


class FormFields(HTMLParser):
    """The fields of the page's main form as a browser would post them unchanged."""

    def __init__(self):
        super().__init__()
        self.data, self._select, self._textarea = {}, None, None

    def handle_starttag(self, tag, attrs):
        attrs = dict(attrs)
        name = attrs.get("name")
        if tag == "input" and name and attrs.get("type") not in {"submit", "button", "file"}:
            if attrs.get("type") in {"checkbox", "radio"}:
                if "checked" in attrs:
                    self.data[name] = attrs.get("value", "on")
            else:
                self.data[name] = attrs.get("value", "")
        elif tag == "select" and name:
            self._select = name
            self.data.setdefault(name, "")
        elif tag == "option" and self._select and "selected" in attrs:
            self.data[self._select] = attrs.get("value", "")
        elif tag == "textarea" and name:
            self._textarea = name
            self.data[name] = ""

    def handle_endtag(self, tag):
        if tag == "select":
            self._select = None
        elif tag == "textarea":
            self._textarea = None

    def handle_data(self, data):
        if self._textarea:
            self.data[self._textarea] += data


def form_data(client, url):
    response = client.get(url)
    assert response.status_code == 200
    parser = FormFields()
    parser.feed(response.content.decode())
    return {key: value for key, value in parser.data.items() if "__prefix__" not in key}


@pytest.fixture
def staff_client(client):
    client.force_login(StaffFactory(is_superuser=True))
    return client


@pytest.fixture
def run():
    run = RunFactory(starts_at=datetime(2026, 9, 7, 8, 0, tzinfo=UTC))
    TierFactory(run=run)
    return run


def override_prefix(data):
    return next(key.removesuffix("-TOTAL_FORMS") for key in data if key.startswith("release_overrides-"))


def add_override(client, run, lesson, *, day, at):
    url = reverse("admin:enrollment_run_change", args=[run.pk])
    data = form_data(client, url)
    prefix = override_prefix(data)
    data.update({
        f"{prefix}-TOTAL_FORMS": "1", f"{prefix}-0-lesson": str(lesson.pk),
        f"{prefix}-0-opens_at_0": day, f"{prefix}-0-opens_at_1": at, f"{prefix}-0-run": str(run.pk),
    })  # fmt: skip
    return client.post(url, data)


def test_instructor_sets_a_runs_own_date_for_a_lesson_in_the_run_admin(settings, staff_client, run):
    settings.TIME_ZONE = "UTC"
    lesson = LessonFactory(section__course=run.course, release_after_days=10)
    assert schedule_for(run).opens_at(lesson) == datetime(2026, 9, 17, 8, 0, tzinfo=UTC)

    response = add_override(staff_client, run, lesson, day="2026-09-09", at="18:30:00")

    assert response.status_code == 302, response.content.decode()[:3000]
    assert schedule_for(run).opens_at(lesson) == datetime(2026, 9, 9, 18, 30, tzinfo=UTC)


def test_a_lesson_of_another_course_is_refused_with_a_form_error(staff_client, run):
    stranger = LessonFactory(title="Lesson of another course")

    response = add_override(staff_client, run, stranger, day="2026-09-09", at="18:30:00")

    assert response.status_code == 200  # the form again, with the error; nothing saved
    assert not ReleaseOverride.objects.exists()
    assert "Select a valid choice" in response.content.decode()  # the drop-down holds the run's lessons only


def test_lesson_admin_takes_days_and_a_time_of_day_and_names_the_zone(settings, staff_client, run):
    settings.TIME_ZONE = "Europe/Berlin"
    lesson = LessonFactory(section__course=run.course, slug="later")
    url = reverse("admin:courses_lesson_change", args=[lesson.pk])
    page = unescape(staff_client.get(url).content.decode())
    assert "In Europe/Berlin, the site's zone" in page

    data = form_data(staff_client, url)
    data.update({"release_after_days": "3", "release_time": "09:00"})
    assert staff_client.post(url, data).status_code == 302
    lesson.refresh_from_db()
    assert (lesson.release_after_days, lesson.release_time) == (3, time(9, 0))
    # 09:00 in Berlin (summer time, UTC+2) on the 10th.
    assert schedule_for(run).opens_at(lesson) == datetime(2026, 9, 10, 7, 0, tzinfo=UTC)

    data.update({"release_after_days": "", "release_time": "09:00"})
    response = staff_client.post(url, data)
    assert response.status_code == 200
    assert RELEASE_TIME_WITHOUT_DAYS in unescape(response.content.decode())
    assert Lesson.objects.get(pk=lesson.pk).release_after_days == 3


def test_course_list_shows_and_toggles_published(staff_client):
    course = CourseFactory(title="Draft course", is_published=False)
    url = reverse("admin:courses_course_changelist")
    data = form_data(staff_client, url)
    assert data["form-0-id"] == str(course.pk) and "form-0-is_published" not in data

    data.update({"form-0-is_published": "on", "_save": "Save"})
    response = staff_client.post(url, data)

    assert response.status_code == 302
    assert Course.objects.get(pk=course.pk).is_published
    assert staff_client.get(url + "?is_published__exact=1").content.decode().count("Draft course") >= 1


def test_a_course_added_in_the_admin_starts_unpublished(staff_client):
    url = reverse("admin:courses_course_add")
    data = form_data(staff_client, url)
    data.update({"title": "New course", "slug": "new-course"})
    assert staff_client.post(url, data).status_code == 302
    assert Course.objects.get(slug="new-course").is_published is False
    assert staff_client.get(reverse("courses:landing", args=["new-course"])).status_code == 200
    staff_client.logout()
    assert staff_client.get(reverse("courses:landing", args=["new-course"])).status_code == 404



def test_a_runs_date_is_entered_in_the_zone_the_form_names(client, run):
    client.force_login(StaffFactory(is_superuser=True, timezone="Asia/Jerusalem"))
    lesson = LessonFactory(section__course=run.course, release_after_days=10)
    page = unescape(client.get(reverse("admin:enrollment_run_change", args=[run.pk])).content.decode())
    assert "In Asia/Jerusalem; for this run's students only." in page

    assert add_override(client, run, lesson, day="2026-09-09", at="18:30:00").status_code == 302

    # 18:30 in Jerusalem in September (UTC+3) is 15:30 UTC.
    assert ReleaseOverride.objects.get().opens_at == datetime(2026, 9, 9, 15, 30, tzinfo=UTC)
