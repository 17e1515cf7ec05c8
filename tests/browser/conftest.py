"""Fixtures for the browser tests: the demo course, a fast login and a video lesson."""

import io
from types import SimpleNamespace

import pytest
from django.conf import settings
from django.core.files.storage import default_storage
from django.core.management import call_command
from django.test import Client

from accounts.models import User
from courses.models import Course
from tests.factories import EnrollmentFactory, LessonFactory, RunFactory, SectionFactory, UserFactory

from .helpers import DEMO_SLUG, DEMO_STUDENT, DEMO_VIDEO

TRANSCRIPT = """00:00 Welcome.
00:20 The big picture.
00:30 The details.
00:45 What to read next."""


@pytest.fixture
def browser_context_args(browser_context_args):
    # bypass_csp: Playwright's wait_for_function evaluates strings in the page, which the site's Content
    # Security Policy forbids (no 'unsafe-eval'); test_content_security_policy.py opens its own context that
    # keeps the policy.
    return {**browser_context_args, "viewport": {"width": 1280, "height": 900}, "bypass_csp": True}


@pytest.fixture
def page(page):
    page.set_default_timeout(10_000)
    page.set_default_navigation_timeout(15_000)
    return page


@pytest.fixture
def demo(live_server):
    """The demo course from seed_demo: 26 lessons, a coming-soon lesson, three runs, a student with 2 lessons done."""
    # --force: pytest-django runs the live server with DEBUG off, and this test database is no server.
    call_command("seed_demo", "--force", stdout=io.StringIO())
    return SimpleNamespace(
        course=Course.objects.get(slug=DEMO_SLUG),
        student=User.objects.get(email=DEMO_STUDENT[0]),
        instructor=User.objects.get(email="instructor@example.com"),
    )


@pytest.fixture
def log_in(live_server, page):
    """Log a user in without the login form: copy a session cookie into the browser."""

    def _log_in(user):
        client = Client()
        client.force_login(user)
        cookie = client.cookies[settings.SESSION_COOKIE_NAME]
        page.context.add_cookies([{"name": cookie.key, "value": cookie.value, "url": live_server.url}])

    return _log_in


@pytest.fixture
def video_lesson(live_server):
    """A released lesson with an uploaded 60 s WebM video and a transcript, and an enrolled student."""
    with DEMO_VIDEO.open("rb") as handle:
        name = default_storage.save("lessons/videos/demo-lesson.webm", handle)
    run = RunFactory()
    section = SectionFactory(course=run.course)
    lesson = LessonFactory(section=section, video_file=name, transcript=TRANSCRIPT, video_minutes=1)
    student = EnrollmentFactory(run=run, user=UserFactory()).user
    return SimpleNamespace(lesson=lesson, student=student, url=live_server.url + lesson.get_absolute_url())
