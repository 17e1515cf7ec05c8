"""The course search page: what each user finds, where each hit leads, and the queries it costs."""

from datetime import timedelta
from pathlib import Path

import pytest
from django.urls import reverse
from django.utils import timezone

from courses.markdown import render_markdown
from courses.models import Lesson, Section
from forum.models import Board
from search.views import NO_RESULTS, SHORTENED
from tests.factories import (
    CourseFactory,
    EnrollmentFactory,
    FAQEntryFactory,
    LessonFactory,
    ResourceFactory,
    RunFactory,
    SectionFactory,
    StaffFactory,
    ThreadFactory,
    UserFactory,
)

pytestmark = pytest.mark.django_db

XSS_PAYLOADS = Path(__file__).resolve().parent.parent / "data" / "xss-payloads-sample.txt"


def search_url(course, query=None):
    url = reverse("search:course", args=[course.slug])
    return url if query is None else f"{url}?q={query}"


@pytest.fixture
def scene():
    """A course whose run started 3 days ago: an open lesson, one opening in 7 days; a thread; a Q&A entry."""
    course = CourseFactory(title="WebRTC")
    run = RunFactory(course=course)
    section = SectionFactory(course=course, title="Media")
    open_lesson = LessonFactory(
        section=section, title="Jitter buffers", slug="jitter-buffers", body="How a jitter buffer works.",
        transcript="00:00 Hello.\n12:34 The jitter buffer grows under loss.",
    )  # fmt: skip
    later = LessonFactory(
        section=section, title="Jitter in depth", slug="jitter-in-depth", body="Advanced jitter.",
        transcript="00:07 More jitter.", release_after_days=7,
    )  # fmt: skip
    ResourceFactory(lesson=later, title="Jitter paper", note="A jitter study.")
    ResourceFactory(lesson=open_lesson, title="Jitter notes", note="Read this first.")
    thread = ThreadFactory(board=Board.objects.get(course=course, slug="questions"), title="Jitter question",
                           first_post__body="Why does my jitter grow?")  # fmt: skip
    entry = FAQEntryFactory(course=course, question="Is jitter covered?", answer="Yes.")
    student = EnrollmentFactory(run=run).user
    return type("Scene", (), dict(locals()))


def test_visitors_log_in_and_outsiders_are_refused(client, scene):
    response = client.get(search_url(scene.course, "jitter"))
    assert response.status_code == 302 and "/accounts/login/" in response.url

    client.force_login(UserFactory())
    response = client.get(search_url(scene.course, "jitter"))
    assert response.status_code == 403
    assert b"Jitter buffers" not in response.content


def test_student_finds_every_kind_and_where_it_is(client, scene):
    client.force_login(scene.student)
    response = client.get(search_url(scene.course, "jitter"))
    page = response.content.decode()

    assert response.status_code == 200
    lesson_url = scene.open_lesson.get_absolute_url()
    assert f'href="{lesson_url}"' in page
    assert f'href="{lesson_url}?t=754"' in page and "Transcript at 12:34" in page
    assert "Media › Jitter buffers" in page
    assert "Media › Jitter buffers › Reading" in page
    assert reverse("forum:post", args=[scene.course.slug, scene.thread.posts.get().pk]) in page
    assert f"{reverse('courses:faq', args=[scene.course.slug])}#faq-{scene.entry.pk}" in page
    assert "<mark>" in page


def test_a_lesson_not_released_for_the_students_run_never_appears(client, scene):
    client.force_login(scene.student)
    page = client.get(search_url(scene.course, "jitter")).content.decode()

    # (the matched words are marked in what is shown, so look for the others)
    assert "in depth" not in page and "jitter-in-depth" not in page
    assert "paper" not in page and "study" not in page and "More " not in page


def test_the_same_lesson_appears_for_a_run_that_has_released_it(client, scene):
    earlier = RunFactory(course=scene.course, starts_at=timezone.now() - timedelta(days=30))
    client.force_login(EnrollmentFactory(run=earlier).user)
    page = client.get(search_url(scene.course, "jitter")).content.decode()

    assert "jitter-in-depth" in page and "<mark>Jitter</mark> paper" in page


def test_nothing_from_another_course(client, scene):
    other = CourseFactory(title="Other course")
    LessonFactory(section=SectionFactory(course=other), title="Their jitter lesson", slug="their-jitter")
    FAQEntryFactory(course=other, question="Their jitter question?")
    client.force_login(scene.student)
    page = client.get(search_url(scene.course, "jitter")).content.decode()

    assert "Their" not in page and "their-jitter" not in page
    # and a student of the other course does not search this one
    client.force_login(EnrollmentFactory(run=RunFactory(course=other)).user)
    assert client.get(search_url(scene.course, "jitter")).status_code == 403


def test_forum_hits_are_hidden_from_a_student_without_forum_access(client, scene):
    # Enrolled in a run that starts next week: the course home opens, the forum (and the lessons) not yet.
    upcoming = RunFactory(course=scene.course, starts_at=timezone.now() + timedelta(days=7))
    client.force_login(EnrollmentFactory(run=upcoming).user)
    response = client.get(search_url(scene.course, "jitter"))
    page = response.content.decode()

    assert response.status_code == 200
    assert 'data-kind="forum"' not in page and "/forum/" not in page and "Why does my" not in page
    assert "buffers" not in page  # the lessons have not started for them either
    assert "Is <mark>jitter</mark> covered?" in page  # the Q&A is public


def test_staff_find_everything(client, scene):
    client.force_login(StaffFactory())
    page = client.get(search_url(scene.course, "jitter")).content.decode()

    assert "jitter-in-depth" in page and "<mark>Jitter</mark> question" in page


def test_what_staff_found_first_is_never_shown_to_a_student_who_may_not_open_it(client, scene):
    client.force_login(StaffFactory())
    assert "jitter-in-depth" in client.get(search_url(scene.course, "jitter")).content.decode()

    client.force_login(scene.student)
    page = client.get(search_url(scene.course, "jitter")).content.decode()

    assert "jitter-in-depth" not in page and "paper" not in page and "More " not in page
    assert "jitter-buffers" in page


def test_a_change_in_the_admin_shows_in_the_next_search(client, scene):
    client.force_login(scene.student)
    assert "Jitter buffers" in client.get(search_url(scene.course, "jitter")).content.decode()

    scene.open_lesson.title = "Jitter queues"
    scene.open_lesson.save()
    scene.entry.question = "Is jitter explained?"
    scene.entry.save()
    page = client.get(search_url(scene.course, "jitter")).content.decode()

    assert "Media › <mark>Jitter</mark> queues" in page or "Media › Jitter queues" in page
    assert "Jitter buffers" not in page and "covered" not in page and "explained" in page


def test_a_new_forum_post_shows_in_the_next_search(client, scene):
    client.force_login(scene.student)
    assert "Jitter again" not in client.get(search_url(scene.course, "jitter")).content.decode()

    ThreadFactory(board=scene.thread.board, title="Jitter again", first_post__body="Still jittery.")

    assert "<mark>Jitter</mark> again" in client.get(search_url(scene.course, "jitter")).content.decode()


def test_no_results_says_so_and_changes_nothing(client, scene):
    client.force_login(scene.student)
    page = client.get(search_url(scene.course, "zzzqqq")).content.decode()

    assert NO_RESULTS.format(query="zzzqqq") in page


def test_a_long_query_is_shortened_and_says_so(client, scene):
    client.force_login(scene.student)
    page = client.get(search_url(scene.course), {"q": "jitter " + "x" * 300}).content.decode()
    main = page[page.index('<main id="main"') :]  # the page's own links (the zone offer's `next`) keep the address

    assert SHORTENED.format(limit=200) in main
    assert main.count("x" * 193) >= 1 and "x" * 194 not in main  # "jitter " + 193 x = 200 characters


def test_an_empty_query_shows_the_form_only(client, scene):
    client.force_login(scene.student)
    response = client.get(search_url(scene.course))

    assert response.status_code == 200
    assert b'id="course-search-q"' in response.content and b"result-count" not in response.content


def test_the_course_home_has_a_labelled_search_form(client, scene):
    client.force_login(scene.student)
    page = client.get(reverse("courses:home", args=[scene.course.slug])).content.decode()

    assert f'action="{search_url(scene.course)}"' in page
    assert '<label for="course-search-q"' in page and 'role="search"' in page


PAYLOADS = [line for line in XSS_PAYLOADS.read_text().splitlines() if line.strip() and not line.startswith("#")]


def test_xss_payloads_in_content_and_query_are_escaped(client, scene):
    for payload in PAYLOADS:
        LessonFactory(section=scene.section, title=f"{payload} jitter", body=f"{payload} jitter",
                      transcript=f"00:01 {payload} jitter")  # fmt: skip
    FAQEntryFactory(course=scene.course, question=f"{PAYLOADS[0]} jitter", answer=PAYLOADS[1])
    client.force_login(scene.student)

    for payload in PAYLOADS:
        response = client.get(search_url(scene.course), {"q": f"jitter {payload}"})
        main = response.content.decode().split("<main", 1)[1].split("</main>", 1)[0]
        assert response.status_code == 200
        assert "<script" not in main.lower(), payload
        assert "<" not in payload or payload.strip() not in main, payload
    main = client.get(search_url(scene.course, "jitter")).content.decode().split("<main", 1)[1]
    assert "<script" not in main.split("</main>", 1)[0].lower()
    assert main.count("<mark>") > len(PAYLOADS)  # the lessons were found, their text shown escaped


def test_lesson_page_starts_an_embedded_video_at_t(client, scene):
    lesson = LessonFactory(section=scene.section, video_url="https://www.youtube.com/watch?v=abcdefghijk")
    client.force_login(scene.student)

    page = client.get(lesson.get_absolute_url(), {"t": "754"}).content.decode()
    assert "youtube-nocookie.com/embed/abcdefghijk?rel=0&amp;start=754" in page

    for bad in ["-5", "abc", "1e3", "9" * 5000, "999999"]:
        assert client.get(lesson.get_absolute_url(), {"t": bad}).status_code == 200


def build_course(size):
    """A course of `size` lessons (bulk_create), each matching "jitter" in its title, text and transcript."""
    course = CourseFactory()
    run = RunFactory(course=course)
    section = Section.objects.create(course=course, title="All")
    body = "The jitter buffer."
    Lesson.objects.bulk_create(
        Lesson(
            course=course, section=section, title=f"Jitter {n}", slug=f"jitter-{n}", order=n, body=body,
            body_html=render_markdown(body), transcript=f"00:0{n % 10} jitter at {n}",
            release_after_days=7 if n % 5 == 4 else None,
        )
        for n in range(size)
    )  # fmt: skip
    for lesson in Lesson.objects.filter(course=course)[:5]:
        ResourceFactory(lesson=lesson, title=f"Jitter reading {lesson.pk}")
    ThreadFactory(board=Board.objects.get(course=course, slug="questions"), title="Jitter thread")
    FAQEntryFactory(course=course, question="Jitter?")
    return course, EnrollmentFactory(run=run).user


MAX_QUERIES = 7  # session, user, course, enrollments, release dates, forum titles, forum posts (the rest cached)


@pytest.mark.parametrize("size", [5, 200])
def test_query_count_does_not_grow_with_the_lessons(client, django_assert_max_num_queries, size):
    course, student = build_course(size)
    client.force_login(student)
    client.get(search_url(course, "jitter"))  # warm up anything cached per process

    with django_assert_max_num_queries(MAX_QUERIES):
        response = client.get(search_url(course, "jitter"))
    assert response.status_code == 200
    assert b"Transcript at" in response.content and b"<mark>Jitter</mark> thread" in response.content
