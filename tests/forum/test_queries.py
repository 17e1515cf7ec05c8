"""The board's thread list and a thread page cost the same number of queries for 10 and for 1,000 rows."""

from datetime import timedelta

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import timezone

from courses.markdown import render_markdown
from forum.models import Board, Post, Thread, ThreadRead
from tests.factories import CourseFactory, EnrollmentFactory, LessonFactory, RunFactory, SectionFactory, StaffFactory

pytestmark = pytest.mark.django_db

MAX_QUERIES = 8  # session, user, course, enrollments; board, or thread and its reader's state; count; the rows


def build_forum(size, *, student, staff):
    """A course whose Questions board has `size` threads, and one thread with `size` posts (bulk_create)."""
    run = RunFactory(course=CourseFactory())
    EnrollmentFactory(run=run, user=student)
    course = run.course
    lesson = LessonFactory(section=SectionFactory(course=course))
    board = Board.objects.get(course=course, slug="questions")
    start = timezone.now() - timedelta(days=30)
    threads = Thread.objects.bulk_create(
        Thread(board=board, course=course, title=f"Thread {i}", author=staff if i % 2 else student,
               lesson=lesson if i % 3 == 0 else None, is_pinned=i % 50 == 0, created_at=start,
               last_post_at=start + timedelta(minutes=i), reply_count=1)
        for i in range(size)
    )  # fmt: skip
    html = render_markdown("Some `code`.")
    Post.objects.bulk_create(
        Post(thread=thread, author=thread.author, body="Some `code`.", body_html=html, created_at=start)
        for thread in threads
    )
    long_thread = threads[0]
    Post.objects.bulk_create(
        Post(thread=long_thread, author=staff if i % 2 else student, body=f"Reply {i}", body_html=f"<p>Reply {i}</p>",
             created_at=start + timedelta(seconds=i + 1), author_is_staff=bool(i % 2),
             edited_at=start if i % 7 else None)
        for i in range(size)
    )  # fmt: skip
    ThreadRead.objects.bulk_create(ThreadRead(user=student, thread=t, last_read_at=start) for t in threads[::2])
    return course, board, long_thread


@pytest.fixture
def forums():
    student = EnrollmentFactory().user
    staff = StaffFactory()
    small = build_forum(10, student=student, staff=staff)
    large = build_forum(1000, student=student, staff=staff)
    return student, staff, small, large


def count(client, url):
    client.get(url)  # what is built once per content version is built (a live site's cache is warm)
    with CaptureQueriesContext(connection) as queries:
        response = client.get(url)
    assert response.status_code == 200
    return len(queries)


@pytest.mark.parametrize("role", ["student", "staff"])
def test_thread_list_queries_do_not_grow_with_the_board(client, forums, role):
    student, staff, (small_course, small_board, _), (large_course, large_board, _) = forums
    client.force_login(student if role == "student" else staff)
    small = count(client, reverse("forum:board", args=[small_course.slug, small_board.slug]))
    large = count(client, reverse("forum:board", args=[large_course.slug, large_board.slug]))
    large_page_3 = count(client, reverse("forum:board", args=[large_course.slug, large_board.slug]) + "?page=3")
    assert small == large == large_page_3
    assert large <= MAX_QUERIES


@pytest.mark.parametrize("role", ["student", "staff"])
def test_thread_page_queries_do_not_grow_with_the_thread(client, forums, role):
    student, staff, (small_course, _, small_thread), (large_course, _, large_thread) = forums
    client.force_login(student if role == "student" else staff)
    # Open each once, so both make the same writes (the read mark exists) when counted.
    small_url = reverse("forum:thread", args=[small_course.slug, small_thread.pk])
    large_url = reverse("forum:thread", args=[large_course.slug, large_thread.pk]) + "?page=20"
    client.get(small_url)
    client.get(large_url)
    small = count(client, small_url)
    large = count(client, large_url)
    assert small == large
    assert large <= MAX_QUERIES


def test_forum_index_queries_do_not_grow(client, forums):
    student, _, (small_course, _, _), (large_course, _, _) = forums
    client.force_login(student)
    assert count(client, reverse("forum:index", args=[small_course.slug])) == count(
        client, reverse("forum:index", args=[large_course.slug])
    )


def test_the_read_mark_is_one_statement_and_not_written_again_when_unchanged(client, forums):
    student, _, _, (large_course, _, large_thread) = forums
    client.force_login(student)
    url = reverse("forum:thread", args=[large_course.slug, large_thread.pk])

    def writes():
        with CaptureQueriesContext(connection) as queries:
            assert client.get(url).status_code == 200
        return [query["sql"] for query in queries if not query["sql"].lstrip().upper().startswith("SELECT")]

    first = writes()
    assert len(first) == 1 and "forum_threadread" in first[0]
    assert (
        ThreadRead.objects.get(user=student, thread=large_thread).last_read_at
        == large_thread.posts.order_by("created_at", "id")[24].created_at
    )  # read up to the last post of the first page
    assert writes() == []
