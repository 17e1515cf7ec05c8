"""forum.selectors.search_hits: the forum's part of the course search, one hit per thread, only what the user sees."""

import pytest

from forum.selectors import search_hits
from forum.services import reply, set_thread_flags, start_thread

pytestmark = pytest.mark.django_db


def test_one_hit_per_thread_best_first(forum):
    first = start_thread(user=forum.staff, board=forum.board, title="Jitter", body="Jitter jitter jitter buffer.")
    reply(user=forum.alice, thread=first, body="Also jitter here.")
    second = start_thread(user=forum.alice, board=forum.board, title="Other", body="A word on jitter.")

    hits = search_hits(course=forum.course, user=forum.alice, query="jitter")

    assert sorted(post.thread_id for post in hits) == sorted([first.pk, second.pk])
    assert all("<mark>" in post.snippet.lower() for post in hits)


def test_hidden_threads_are_not_found_by_students(forum):
    thread = start_thread(user=forum.alice, board=forum.board, title="Quokka", body="About the quokka.")
    set_thread_flags(user=forum.staff, thread=thread, hidden=True)

    assert search_hits(course=forum.course, user=forum.bob, query="quokka") == []
    assert [post.thread_id for post in search_hits(course=forum.course, user=forum.staff, query="quokka")] == [
        thread.pk
    ]


def test_limit(forum):
    for n in range(5):
        start_thread(user=forum.alice, board=forum.board, title=f"Marzipan {n}", body="marzipan")

    assert len(search_hits(course=forum.course, user=forum.alice, query="marzipan", limit=3)) == 3
