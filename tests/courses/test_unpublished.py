"""An unpublished course is staff's only: every course URL (found through the URL resolver) answers 404 to
everyone else, students of the course included, and the course is not offered anywhere."""

import re

import pytest
from django.core.files.base import ContentFile
from django.test import Client
from django.urls import URLResolver, get_resolver, reverse
from django.utils import timezone

from courses.models import Course
from tests.factories import (
    AnnouncementFactory,
    BoardFactory,
    CertificateFactory,
    CourseFactory,
    EnrollmentFactory,
    FAQEntryFactory,
    FileResourceFactory,
    LessonFactory,
    OfficeHoursTierFactory,
    PostFactory,
    QuestionFactory,
    QuizAttemptFactory,
    QuizFactory,
    RunFactory,
    SectionFactory,
    SessionFactory,
    StaffFactory,
    ThreadFactory,
    UserFactory,
)

pytestmark = pytest.mark.django_db

TITLE = "Secret Unpublished Course"
PARAMETER = re.compile(r"<(?:\w+:)?(\w+)>")


def course_url_names():
    """Every named URL whose route takes the course's slug: the course's own pages, its forum, its office hours."""
    found = []

    def walk(patterns, prefix, namespace):
        for pattern in patterns:
            route = prefix + str(pattern.pattern)
            if isinstance(pattern, URLResolver):
                walk(pattern.url_patterns, route, pattern.namespace or namespace)
            elif "<slug:slug>" in route and pattern.name:
                found.append((f"{namespace}:{pattern.name}", route))

    walk(get_resolver().url_patterns, "", None)
    return found


COURSE_URLS = course_url_names()


def test_the_resolver_finds_every_part_of_a_course():
    names = {name for name, _route in COURSE_URLS}
    assert {"courses:landing", "courses:faq", "courses:syllabus_pdf", "courses:home", "courses:lesson"} <= names
    assert {"courses:resource", "courses:lesson_video", "forum:index", "forum:thread", "officehours:index"} <= names
    assert len(COURSE_URLS) >= 30


@pytest.fixture
def world():
    """An unpublished course with something behind every URL, and a student of it with office hours."""
    course = CourseFactory(title=TITLE, slug="hidden", is_published=False, with_pictures=True)
    lesson = LessonFactory(
        section=SectionFactory(course=course),
        slug="hidden-lesson",
        is_free_preview=True,
        video_file=ContentFile(b"video bytes", name="hidden.mp4"),
        captions=ContentFile(b"WEBVTT\n", name="hidden.vtt"),
    )
    FAQEntryFactory(course=course)
    run = RunFactory(course=course, enrollment_open=True)
    student = EnrollmentFactory(run=run, tier=OfficeHoursTierFactory(run=run)).user
    thread = ThreadFactory(course=course, author=student)
    session = SessionFactory(run=run)
    objects = {
        "resources": FileResourceFactory(lesson=lesson),
        "threads": thread,
        "posts": PostFactory(thread=thread, author=student),
        "sessions": session,
        "questions": QuestionFactory(session=session, author=student),
        "announcements": AnnouncementFactory(run=run, published_at=timezone.now()),
        "attempts": QuizAttemptFactory(quiz=QuizFactory(section=lesson.section), user=student),
        "certificates": CertificateFactory(run=run, user=student),
    }
    board = BoardFactory(course=course, slug="questions")
    return {"course": course, "lesson": lesson, "board": board, "student": student, "objects": objects}


def url_of(world, name, route):
    kwargs = {}
    for parameter in PARAMETER.findall(route):
        if parameter == "slug":
            kwargs[parameter] = world["course"].slug
        elif parameter == "lesson_slug":
            kwargs[parameter] = world["lesson"].slug
        elif parameter == "section_id":
            kwargs[parameter] = world["lesson"].section_id
        elif parameter == "board_slug":
            kwargs[parameter] = world["board"].slug
        elif parameter == "verification_id":
            kwargs[parameter] = world["objects"]["certificates"].verification_id
        elif parameter == "pk":
            kind = next(kind for kind in world["objects"] if f"/{kind}/<int:pk>/" in f"/{route}")
            kwargs[parameter] = world["objects"][kind].pk
        else:
            raise AssertionError(f"{name}: a parameter the test does not know: {parameter}")
    return reverse(name, kwargs=kwargs)


@pytest.mark.parametrize("who", ["visitor", "user", "student"])
@pytest.mark.parametrize(("name", "route"), COURSE_URLS, ids=[name for name, _ in COURSE_URLS])
def test_unpublished_course_is_404_for_everyone_but_staff(world, who, name, route):
    client = Client()
    if who != "visitor":
        client.force_login(world["student"] if who == "student" else UserFactory())
    url = url_of(world, name, route)

    answers = [client.get(url), client.post(url, {"course": world["course"].slug, "text": "x", "body": "x"})]

    # A view only for POST may answer a GET with 405 before it looks at the course; never anything else.
    assert {response.status_code for response in answers} <= {404, 405}, url
    assert 404 in {response.status_code for response in answers}, url
    assert all(TITLE not in response.content.decode(errors="replace") for response in answers)


@pytest.mark.parametrize(("name", "route"), COURSE_URLS, ids=[name for name, _ in COURSE_URLS])
def test_staff_still_reach_every_url_of_an_unpublished_course(client, world, name, route):
    client.force_login(StaffFactory())
    response = client.get(url_of(world, name, route))
    assert response.status_code != 404


def test_staff_see_the_unpublished_pages_themselves(client, world):
    client.force_login(StaffFactory())
    for url in (
        world["course"].get_absolute_url(),
        reverse("courses:home", args=["hidden"]),
        world["lesson"].get_absolute_url(),
        reverse("forum:index", args=["hidden"]),
        reverse("officehours:index", args=["hidden"]),
    ):
        response = client.get(url)
        assert response.status_code == 200, url
    assert TITLE in client.get(world["course"].get_absolute_url()).content.decode()


def test_publishing_opens_the_course_again(client, world):
    world["course"].is_published = True
    world["course"].save()
    assert client.get(world["course"].get_absolute_url()).status_code == 200
    client.force_login(world["student"])
    assert client.get(reverse("courses:home", args=["hidden"])).status_code == 200


def test_the_site_home_offers_only_published_courses(client, world):
    CourseFactory(title="Public course", slug="public")
    response = client.get(reverse("home"))
    assert response.status_code == 302 and response["Location"] == reverse("courses:landing", args=["public"])
    # A student of the unpublished course only does not find it on their courses; they may browse the public one.
    client.force_login(world["student"])
    content = client.get(reverse("home")).content.decode()
    assert TITLE not in content
    assert "Browse the course" in content and f'href="{reverse("courses:landing", args=["public"])}"' in content


def test_new_courses_start_unpublished():
    assert Course(title="Draft", slug="draft").is_published is False
