"""Forum search: finds posts by their words and their thread's title, best first, only what the user may see."""

import pytest
from django.db import connection
from django.utils import timezone

from courses.markdown import render_markdown
from forum.models import Board, Post, Thread
from forum.search import search_posts
from forum.services import (
    create_default_boards,
    delete_post,
    edit_post,
    reply,
    set_post_hidden,
    set_thread_flags,
    start_thread,
)
from tests.factories import CourseFactory, StaffFactory, UserFactory

pytestmark = pytest.mark.django_db


@pytest.fixture
def forum():
    course = CourseFactory()
    create_default_boards(course=course)
    staff = StaffFactory()
    return course, Board.objects.filter(course=course).first(), staff


def post_thread(board, user, title, body):
    return start_thread(user=user, board=board, title=title, body=body)


def found(course, user, query):
    return list(search_posts(course=course, user=user, query=query))


def test_finds_posts_by_words_in_the_body(forum):
    course, board, staff = forum
    thread = post_thread(board, staff, "Week one", "Welcome to the course.")
    answer = reply(user=staff, thread=thread, body="The jitter buffer trades latency for smoothness.")
    reply(user=staff, thread=thread, body="Unrelated remark about codecs.")

    assert [post.pk for post in found(course, UserFactory(), "jitter")] == [answer.pk]


def test_finds_posts_by_words_in_the_thread_title(forum):
    course, board, staff = forum
    thread = post_thread(board, staff, "Simulcast layers", "Which one is chosen?")
    post_thread(board, staff, "Something else", "Nothing to see.")

    assert {post.thread_id for post in found(course, UserFactory(), "simulcast")} == {thread.pk}


def test_ranks_the_better_match_first_even_when_older(forum, on_postgres):
    course, board, staff = forum
    other = post_thread(board, staff, "Misc", "Loss, loss and more loss: packet loss everywhere.")
    strong = other.posts.get()
    thread = post_thread(board, staff, "Congestion control", "Bandwidth estimation reacts to jitter.")
    weak = reply(user=staff, thread=thread, body="A note on loss.")

    results = [post.pk for post in found(course, UserFactory(), "loss")]
    assert results[0] == strong.pk
    assert results == [strong.pk, weak.pk]


def test_each_result_has_a_safe_snippet_with_the_match_marked(forum):
    course, board, staff = forum
    post_thread(board, staff, "Snippets", "<script>alert(1)</script> The jitter buffer is <b>adaptive</b>.")

    [post] = found(course, UserFactory(), "jitter")
    assert "<mark>" in post.snippet.lower() and "jitter" in post.snippet.lower()
    assert "<script>" not in post.snippet and "<b>" not in post.snippet


def test_students_do_not_find_hidden_or_deleted_posts_but_staff_do(forum):
    course, board, staff = forum
    student = UserFactory()
    thread = post_thread(board, staff, "Thread", "Opening words.")
    hidden = reply(user=staff, thread=thread, body="hidden turnip")
    deleted = reply(user=student, thread=thread, body="deleted turnip")
    kept = reply(user=staff, thread=thread, body="visible turnip")
    set_post_hidden(user=staff, post=hidden, hidden=True)
    delete_post(user=student, post=deleted)

    assert {post.pk for post in found(course, student, "turnip")} == {kept.pk}
    assert {post.pk for post in found(course, staff, "turnip")} == {hidden.pk, deleted.pk, kept.pk}


def test_students_do_not_find_posts_of_hidden_threads_but_staff_do(forum):
    course, board, staff = forum
    thread = post_thread(board, staff, "Thread", "A parsnip in a hidden thread.")
    set_thread_flags(user=staff, thread=thread, hidden=True)

    assert found(course, UserFactory(), "parsnip") == []
    assert len(found(course, staff, "parsnip")) == 1


def test_posts_of_other_courses_are_not_found(forum):
    course, board, staff = forum
    other = CourseFactory()
    create_default_boards(course=other)
    post_thread(Board.objects.filter(course=other).first(), staff, "Elsewhere", "A radish elsewhere.")

    assert found(course, staff, "radish") == []
    assert len(found(other, staff, "radish")) == 1


@pytest.mark.parametrize("query", ["", "   ", None])
def test_an_empty_query_finds_nothing(forum, query):
    course, board, staff = forum
    post_thread(board, staff, "Thread", "Some words.")

    assert found(course, staff, query) == []


@pytest.mark.parametrize(
    "query",
    ["'", '"', "\\", "!!!", "a & b | !c", "(unbalanced", "foo:*", "<script>", "%_%", "-", "\"quoted phrase\" -not",
     "or", "the", "x" * 500, "💥 émoji", "\x00"],
)  # fmt: skip
def test_special_characters_do_not_error(forum, query):
    course, board, staff = forum
    post_thread(board, staff, "Thread", "Some words, a quoted phrase and 'quotes' & ampersands.")

    assert isinstance(found(course, staff, query), list)


def test_phrase_and_exclusion_follow_web_search_syntax(forum, on_postgres):
    course, board, staff = forum
    thread = post_thread(board, staff, "Thread", "The remote peer answers.")
    other = reply(user=staff, thread=thread, body="The peer is remote, the answers local.")

    assert [post.pk for post in found(course, staff, '"remote peer"')] == [thread.posts.first().pk]
    assert [post.pk for post in found(course, staff, "peer -local")] == [thread.posts.first().pk]
    assert other.pk in [post.pk for post in found(course, staff, "peer")]


def test_an_edited_post_is_found_by_its_new_words(forum):
    course, board, staff = forum
    thread = post_thread(board, staff, "Thread", "Before the edit.")
    edit_post(user=staff, post=thread.posts.get(), body="After the edit: artichoke.")

    assert len(found(course, staff, "artichoke")) == 1
    assert found(course, staff, "before") == []


def test_the_results_work_as_a_subquery(forum):
    course, board, staff = forum
    thread = post_thread(board, staff, "Thread", "A beetroot here.")
    reply(user=staff, thread=thread, body="Nothing.")
    results = search_posts(course=course, user=staff, query="beetroot")

    outer = Post.objects.filter(pk__in=results.values("pk"))
    assert list(outer) == [thread.posts.first()]
    if connection.vendor == "postgresql":
        sql = str(outer.query)  # the subquery's vector is its own posts', not the outer query's
        assert '"search_vector" @@' in sql and '"forum_post"."search_vector"' not in sql
    assert list(Thread.objects.filter(posts__in=results.values("pk"))) == [thread]


def test_the_search_indexes_exist(on_postgres):
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT indexname, indexdef FROM pg_indexes WHERE indexname IN (%s, %s)",
            ["forum_post_search_vector_idx", "forum_thread_title_search_idx"],
        )
        definitions = dict(cursor.fetchall())
    assert set(definitions) == {"forum_post_search_vector_idx", "forum_thread_title_search_idx"}
    assert all("USING gin" in definition for definition in definitions.values())
    assert "to_tsvector" in definitions["forum_thread_title_search_idx"]


def test_the_search_uses_the_gin_index(forum, on_postgres):
    course, board, staff = forum
    now = timezone.now()
    thread = post_thread(board, staff, "Bulk", "First.")
    words = ["offer", "answer", "candidate", "codec", "bitrate", "jitter", "latency", "packet"]
    bodies = [f"Post {n} about the {words[n % len(words)]} and the {words[(n * 3) % len(words)]}." for n in range(3000)]
    bodies[1234] = "The only zucchini here."
    Post.objects.bulk_create(
        Post(thread=thread, author=staff, body=body, body_html=render_markdown(body), created_at=now) for body in bodies
    )
    with connection.cursor() as cursor:
        cursor.execute("ANALYZE forum_post")
        cursor.execute("ANALYZE forum_thread")
        cursor.execute("SET LOCAL enable_seqscan = off")  # prove the index is usable, whatever the table's size
    results = search_posts(course=course, user=UserFactory(), query="zucchini")

    plan = results.explain()
    assert "forum_post_search_vector_idx" in plan, plan
    assert [post.body for post in results] == ["The only zucchini here."]


def test_sqlite_search_matches_every_word_in_body_or_title(forum):
    if connection.vendor == "postgresql":
        pytest.skip("the SQLite fallback")
    course, board, staff = forum
    thread = post_thread(board, staff, "Turnip soup", "Boil the water.")
    post_thread(board, staff, "Other", "Water only.")

    assert [post.pk for post in found(course, staff, "turnip water")] == [thread.posts.get().pk]
    assert "<mark>" in found(course, staff, "water")[0].snippet


def test_a_forum_without_posts_finds_nothing(forum):
    course, board, staff = forum
    assert Thread.objects.count() == 0
    assert found(course, staff, "anything") == []
