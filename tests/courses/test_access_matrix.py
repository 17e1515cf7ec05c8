"""Every URL of the courses app, for every kind of visitor: nobody sees what they may not see.

A refused request gets the explaining message (or a login redirect) and none of the secret
markers planted in lesson bodies, video and caption bytes and reading files; an allowed one
gets the content, marker included.
"""

import json
from dataclasses import dataclass
from datetime import UTC, datetime, time, timedelta
from io import BytesIO
from zoneinfo import ZoneInfo

import pytest
from django.core.files.base import ContentFile
from django.urls import reverse
from django.utils import timezone
from django.utils.html import escape
from pypdf import PdfReader

from courses.models import LessonProgress
from enrollment.access import (
    ACCESS_ENDED,
    CANCELLED,
    NOT_ENROLLED,
    NOT_RELEASED,
    NOT_STARTED,
    REFUNDED,
    Decision,
)
from enrollment.models import Enrollment
from enrollment.releases import opens_at
from tests.factories import (
    CourseFactory,
    EnrollmentFactory,
    FileResourceFactory,
    LessonFactory,
    RunFactory,
    SectionFactory,
    StaffFactory,
    UserFactory,
)

pytestmark = pytest.mark.django_db

MARK = "SECRET-"
USERS = ["anonymous", "not_enrolled", "before_start", "during", "after_end", "refunded", "cancelled", "staff"]
LESSON_KINDS = ["released", "future", "preview"]
LESSON_URLS = ["lesson", "video", "captions", "resource", "complete", "position"]
COURSE_URLS = ["landing", "faq", "syllabus_pdf", "home"]
TARGETS = [(url, None) for url in COURSE_URLS] + [(url, kind) for kind in LESSON_KINDS for url in LESSON_URLS]


def secret(kind, what):
    return f"{MARK}{kind}-{what}"


@dataclass
class World:
    course: object
    lessons: dict
    resources: dict
    user: object
    enrollment: object
    now: object


def build_world(user_kind):
    """One course with a released, a future and a free-preview lesson, each with files; and the visitor."""
    now = timezone.now()
    course = CourseFactory(slug="secure-course", description="Public description.", contact_email="t@example.com")
    section = SectionFactory(course=course, title="Only section")
    lessons, resources = {}, {}
    for position, kind in enumerate(LESSON_KINDS):
        lesson = LessonFactory(
            section=section,
            order=position,
            slug=f"{kind}-lesson",
            title=f"The {kind} lesson",
            body=f"Intro.\n\n{secret(kind, 'body')}\n",
            video_file=ContentFile(f"video bytes {secret(kind, 'video')}".encode(), name=f"{kind}.mp4"),
            captions=ContentFile(
                f"WEBVTT\n\n00:00.000 --> 00:01.000\n{secret(kind, 'captions')}\n".encode(), name=f"{kind}.vtt"
            ),
            # The "during" run started 3 days ago: the future lesson opens 5 days from now.
            release_after_days=8 if kind == "future" else None,
            is_free_preview=kind == "preview",
        )
        lessons[kind] = lesson
        resources[kind] = FileResourceFactory(
            lesson=lesson, file=ContentFile(f"notes {secret(kind, 'resource')}".encode(), name=f"{kind}-notes.txt")
        )

    user = enrollment = None
    if user_kind == "staff":
        user = StaffFactory()
    elif user_kind != "anonymous":
        user = UserFactory()
    starts_at = {"before_start": now + timedelta(days=10), "after_end": now - timedelta(days=100)}.get(
        user_kind, now - timedelta(days=3)
    )
    status = {"refunded": Enrollment.Status.REFUNDED, "cancelled": Enrollment.Status.CANCELLED}.get(
        user_kind, Enrollment.Status.ACTIVE
    )
    if user_kind in {"before_start", "during", "after_end", "refunded", "cancelled"}:
        run = RunFactory(course=course, starts_at=starts_at)
        enrollment = EnrollmentFactory(user=user, run=run, status=status)
    return World(course, lessons, resources, user, enrollment, now)


@dataclass(frozen=True)
class Outcome:
    kind: str  # "allow", "login" (redirect to log in), "unauthorized" (401 JSON), "refuse" (403 with a reason)
    reason: str = ""


ALLOW = Outcome("allow")


def expected(user_kind, url, lesson_kind):
    """The promise, written out: what each visitor gets at each URL."""
    if url in {"landing", "faq", "syllabus_pdf"}:
        return ALLOW
    if user_kind == "staff":
        return ALLOW
    if user_kind == "anonymous":
        if url == "position":
            return Outcome("unauthorized")
        if lesson_kind == "preview" and url != "complete":
            return ALLOW
        return Outcome("login")
    if lesson_kind == "preview":
        return ALLOW
    refusal = {
        "not_enrolled": NOT_ENROLLED,
        "refunded": REFUNDED,
        "cancelled": CANCELLED,
        "after_end": ACCESS_ENDED,
    }.get(user_kind)
    if refusal:
        return Outcome("refuse", refusal)
    if url == "home":
        return ALLOW  # before the start too: the syllabus shows when the course starts
    if user_kind == "before_start":
        return Outcome("refuse", NOT_STARTED)
    if lesson_kind == "future":
        return Outcome("refuse", NOT_RELEASED)
    return ALLOW


def url_for(world, url, lesson_kind):
    slug = world.course.slug
    if url in COURSE_URLS:
        name = {
            "landing": "courses:landing",
            "faq": "courses:faq",
            "syllabus_pdf": "courses:syllabus_pdf",
            "home": "courses:home",
        }[url]
        return reverse(name, args=[slug])
    if url == "resource":
        return reverse("courses:resource", args=[slug, world.resources[lesson_kind].pk])
    name = {
        "lesson": "courses:lesson",
        "video": "courses:lesson_video",
        "captions": "courses:lesson_captions",
        "complete": "courses:lesson_complete",
        "position": "courses:lesson_position",
    }[url]
    return reverse(name, args=[slug, world.lessons[lesson_kind].slug])


def body_of(response):
    if getattr(response, "streaming", False):
        return b"".join(response.streaming_content)
    return response.content


def expected_message(world, reason, lesson_kind):
    when = {
        NOT_STARTED: world.enrollment.access_starts_at if world.enrollment else None,
        ACCESS_ENDED: world.enrollment.access_ends_at if world.enrollment else None,
    }.get(reason)
    if reason == NOT_RELEASED:  # only a student inside their window meets it: the dates of their run
        when = opens_at(world.lessons[lesson_kind], run=world.enrollment.run)
    return Decision(False, reason, when).message


def progress_snapshot():
    return sorted(
        LessonProgress.objects.values_list("user_id", "lesson_id", "completed_at", "video_position", "updated_at")
    )


@pytest.mark.parametrize("user_kind", USERS)
@pytest.mark.parametrize(("url", "lesson_kind"), TARGETS, ids=[f"{u}-{k}" if k else u for u, k in TARGETS])
def test_every_course_url_shows_content_only_to_those_allowed(client, user_kind, url, lesson_kind):
    world = build_world(user_kind)
    if world.user is not None:
        client.force_login(world.user)
        # Earlier progress, so a refused POST can be seen to leave it alone.
        long_ago = world.now - timedelta(days=1)
        for lesson in world.lessons.values():
            LessonProgress.objects.create(user=world.user, lesson=lesson, video_position=12, updated_at=long_ago)
    before = progress_snapshot()
    address = url_for(world, url, lesson_kind)

    if url == "complete":
        response = client.post(address, {"completed": "1"})
    elif url == "position":
        response = client.post(address, {"seconds": "42.5"})
    else:
        response = client.get(address)
    content = body_of(response).decode("utf-8", errors="replace")
    outcome = expected(user_kind, url, lesson_kind)

    if outcome.kind != "allow":
        assert MARK not in content
        assert progress_snapshot() == before
    if outcome.kind == "login":
        assert response.status_code == 302
        assert response["Location"].startswith(reverse("account_login") + "?next=")
        return
    if outcome.kind == "unauthorized":
        assert response.status_code == 401
        return
    if outcome.kind == "refuse":
        assert response.status_code == 403
        message = expected_message(world, outcome.reason, lesson_kind)
        if url == "position":
            assert json.loads(content) == {"error": message}
        else:
            assert escape(message) in content
        return

    # Allowed.
    if url in {"landing", "faq", "home"}:
        assert response.status_code == 200
        assert MARK not in content  # course pages never show lesson bodies or files
        if url == "home":
            assert "Your progress" in content
    elif url == "syllabus_pdf":
        assert response.status_code == 200
        assert response["Content-Type"] == "application/pdf"
        text = "".join(page.extract_text() for page in PdfReader(BytesIO(response.content)).pages)
        assert "The released lesson" in text
        assert MARK not in text
    elif url == "lesson":
        assert response.status_code == 200
        assert secret(lesson_kind, "body") in content
    elif url in {"video", "captions", "resource"}:
        assert response.status_code == 200
        assert secret(lesson_kind, url) in content
        if url == "resource":
            assert response["Content-Disposition"].startswith("attachment")
    elif url == "complete":
        assert response.status_code == 302
        assert response["Location"] == world.lessons[lesson_kind].get_absolute_url()
        assert LessonProgress.objects.get(user=world.user, lesson=world.lessons[lesson_kind]).completed_at
    elif url == "position":
        assert response.status_code == 200
        assert LessonProgress.objects.get(user=world.user, lesson=world.lessons[lesson_kind]).video_position == 42.5


def test_before_start_course_home_says_when_the_course_starts(client):
    world = build_world("before_start")
    client.force_login(world.user)
    response = client.get(reverse("courses:home", args=[world.course.slug]))
    assert response.status_code == 200
    assert "The course starts on" in response.content.decode()
    assert "Start the course" not in response.content.decode()


def test_student_of_one_course_cannot_open_lesson_of_another(client):
    world = build_world("during")
    other = build_other_course()
    client.force_login(world.user)

    response = client.get(reverse("courses:lesson", args=[other["course"].slug, other["lesson"].slug]))
    assert response.status_code == 403
    assert escape(Decision(False, NOT_ENROLLED).message) in response.content.decode()
    assert "OTHER-SECRET" not in response.content.decode()
    for name in ["courses:lesson_video", "courses:lesson_captions"]:
        response = client.get(reverse(name, args=[other["course"].slug, other["lesson"].slug]))
        assert response.status_code == 403
        assert b"OTHER-SECRET" not in body_of(response)
    response = client.get(reverse("courses:resource", args=[other["course"].slug, other["resource"].pk]))
    assert response.status_code == 403
    assert b"OTHER-SECRET" not in body_of(response)
    response = client.get(reverse("courses:home", args=[other["course"].slug]))
    assert response.status_code == 403


def test_lesson_of_another_course_under_own_course_address_is_404(client):
    world = build_world("during")
    other = build_other_course()
    client.force_login(world.user)
    own = world.course.slug
    for name in ["courses:lesson", "courses:lesson_video", "courses:lesson_captions"]:
        response = client.get(reverse(name, args=[own, other["lesson"].slug]))
        assert response.status_code == 404
        assert b"OTHER-SECRET" not in body_of(response)
    assert client.get(reverse("courses:resource", args=[own, other["resource"].pk])).status_code == 404
    before = progress_snapshot()
    complete = client.post(reverse("courses:lesson_complete", args=[own, other["lesson"].slug]), {"completed": "1"})
    assert complete.status_code == 404
    position = client.post(reverse("courses:lesson_position", args=[own, other["lesson"].slug]), {"seconds": "5"})
    assert position.status_code == 404
    assert progress_snapshot() == before


def build_other_course():
    course = CourseFactory(slug="other-course")
    lesson = LessonFactory(
        section=SectionFactory(course=course),
        slug="other-lesson",
        body="OTHER-SECRET body",
        video_file=ContentFile(b"OTHER-SECRET video", name="other.mp4"),
        captions=ContentFile(b"WEBVTT\n\nOTHER-SECRET", name="other.vtt"),
    )
    resource = FileResourceFactory(lesson=lesson, file=ContentFile(b"OTHER-SECRET notes", name="other.txt"))
    return {"course": course, "lesson": lesson, "resource": resource}


@pytest.mark.parametrize("user_kind", ["anonymous", "during", "staff"])
def test_nonexistent_lesson_resource_or_course_is_404(client, user_kind):
    world = build_world(user_kind)
    if world.user:
        client.force_login(world.user)
    slug = world.course.slug
    for name in ["courses:lesson", "courses:lesson_video", "courses:lesson_captions"]:
        assert client.get(reverse(name, args=[slug, "no-such-lesson"])).status_code == 404
    assert client.get(reverse("courses:resource", args=[slug, 999999])).status_code == 404
    for name in ["courses:landing", "courses:faq", "courses:syllabus_pdf", "courses:home"]:
        assert client.get(reverse(name, args=["no-such-course"])).status_code == 404
    assert client.get(reverse("courses:lesson", args=["no-such-course", "released-lesson"])).status_code == 404
    if world.user:
        complete = client.post(reverse("courses:lesson_complete", args=[slug, "nope"]), {"completed": "1"})
        assert complete.status_code == 404
        position = client.post(reverse("courses:lesson_position", args=[slug, "nope"]), {"seconds": "3"})
        assert position.status_code == 404


def test_lesson_without_uploaded_video_has_no_video_file(client):
    world = build_world("during")
    client.force_login(world.user)
    lesson = LessonFactory(section=world.lessons["released"].section, video_url="https://youtu.be/dQw4w9WgXcQ")
    assert client.get(reverse("courses:lesson_video", args=[world.course.slug, lesson.slug])).status_code == 404
    assert client.get(reverse("courses:lesson_captions", args=[world.course.slug, lesson.slug])).status_code == 404


def test_refused_link_resource_does_not_reveal_its_address(client):
    world = build_world("not_enrolled")
    client.force_login(world.user)
    link = world.lessons["released"].resources.create(title="Secret link", url="https://example.org/secret-reading")
    response = client.get(reverse("courses:resource", args=[world.course.slug, link.pk]))
    assert response.status_code == 403
    assert "secret-reading" not in response.content.decode()
    assert "Location" not in response


def test_allowed_link_resource_redirects_to_its_address(client):
    world = build_world("during")
    client.force_login(world.user)
    link = world.lessons["released"].resources.create(title="A link", url="https://example.org/reading")
    response = client.get(reverse("courses:resource", args=[world.course.slug, link.pk]))
    assert response.status_code == 302
    assert response["Location"] == "https://example.org/reading"


def test_refusal_shows_the_release_date_in_the_viewers_time_zone(client, settings):
    settings.TIME_ZONE = "UTC"
    world = build_world("during")
    world.user.timezone = "America/Los_Angeles"
    world.user.save()
    client.force_login(world.user)
    lesson = world.lessons["future"]
    lesson.release_after_days, lesson.release_time = 8, time(3, 30)  # 03:30 UTC: the evening before in Los Angeles
    lesson.save()
    release_at = datetime.combine(world.enrollment.run.starts_at.date() + timedelta(days=8), time(3, 30), tzinfo=UTC)

    response = client.get(lesson.get_absolute_url())

    assert response.status_code == 403
    los_angeles = ZoneInfo("America/Los_Angeles")
    local = release_at.astimezone(los_angeles)
    with timezone.override(los_angeles):
        message = Decision(False, NOT_RELEASED, release_at).message
    assert escape(message) in response.content.decode()
    assert f"{local.day} {local:%B %Y, %H:%M}" in message and local.day != release_at.day


def test_refused_complete_and_position_posts_change_nothing(client):
    world = build_world("after_end")
    client.force_login(world.user)
    lesson = world.lessons["released"]
    LessonProgress.objects.filter(user=world.user, lesson=lesson).delete()
    completed_at = world.now - timedelta(days=50)
    LessonProgress.objects.create(
        user=world.user, lesson=lesson, completed_at=completed_at, video_position=7, updated_at=completed_at
    )
    before = progress_snapshot()

    complete = client.post(
        reverse("courses:lesson_complete", args=[world.course.slug, lesson.slug]), {"completed": "0"}
    )
    assert complete.status_code == 403
    position = client.post(reverse("courses:lesson_position", args=[world.course.slug, lesson.slug]), {"seconds": "99"})
    assert position.status_code == 403
    assert progress_snapshot() == before


def test_get_on_post_only_endpoints_is_refused_without_changes(client):
    world = build_world("during")
    client.force_login(world.user)
    before = progress_snapshot()
    lesson = world.lessons["released"]
    assert client.get(reverse("courses:lesson_complete", args=[world.course.slug, lesson.slug])).status_code == 405
    assert client.get(reverse("courses:lesson_position", args=[world.course.slug, lesson.slug])).status_code == 405
    assert progress_snapshot() == before
