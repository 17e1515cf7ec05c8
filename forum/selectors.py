"""Reads the forum's pages compose. Each runs a fixed number of queries, whatever the forum's size."""

from datetime import UTC

from django.db import connection
from django.db.models import Count, Exists, OuterRef, Q, Subquery
from django.shortcuts import get_object_or_404
from django.utils.dateparse import parse_datetime

from .models import Board, Post, Thread, ThreadRead
from .permissions import may_see_hidden
from .search import search_posts

THREADS_PER_PAGE = 25
POSTS_PER_PAGE = 25


def boards_with_counts(*, course, user):
    """Return the course's boards, each with the number of threads the user can see (one query)."""
    visible = Q() if may_see_hidden(user) else Q(threads__is_hidden=False)
    return list(Board.objects.filter(course=course).annotate(thread_count=Count("threads", filter=visible)))


class Row(dict):
    """A row of values() that reads as attributes too (`row.author_id`, for the permission predicates). A dict, so
    that templates find its keys at their first try (an object costs them a failed lookup per variable).
    """

    def __getattr__(self, name):
        try:
            return self[name]
        except KeyError:
            raise AttributeError(name) from None

    __setattr__ = dict.__setitem__


def member_name(*, first_name, last_name, pk) -> str:
    """A member's name for forum pages: never their email address ("Former member" when the account is gone)."""
    if pk is None:
        return "Former member"
    return f"{first_name} {last_name}".strip() or f"Member {pk}"


def thread_rows(*, user, board):
    """Return the board's visible threads, pinned first, as dicts of what a thread list shows: `author_name`,
    `lesson_title` and, for a logged-in user, `last_read_at` (their read mark). One query a page, whatever the
    board's size; no model instances (a page of rows is built on every view of the board).
    """
    threads = Thread.objects.visible_to(user).filter(board=board)
    if user.is_authenticated:
        last_read = ThreadRead.objects.filter(user=user, thread=OuterRef("pk")).values("last_read_at")[:1]
        threads = threads.annotate(last_read_at=Subquery(last_read))
    fields = ["id", "title", "author_id", "author__first_name", "author__last_name", "last_post_at", "reply_count",
              "is_pinned", "is_locked", "is_hidden", "answer_id", "lesson__title"]  # fmt: skip
    return threads.values(*fields, *(["last_read_at"] if user.is_authenticated else []))


def is_unread(thread) -> bool:
    """A thread is unread when it has a post after the user's read mark, or was never opened."""
    last_read_at = getattr(thread, "last_read_at", None)
    return last_read_at is None or thread.last_post_at > last_read_at


def lesson_threads(*, lesson, user, limit=5):
    """Return the newest visible threads about a lesson (one query)."""
    return list(
        Thread.objects.visible_to(user).filter(lesson=lesson).select_related("board").order_by("-created_at")[:limit]
    )


# The reader's state of one thread, in one statement of plain SQL: the ORM takes longer to compile the same
# three subqueries than the database takes to answer them, and every view of a thread asks.
_READER_STATE = """
SELECT (SELECT last_read_at FROM forum_threadread WHERE user_id = %(user)s AND thread_id = %(thread)s),
       EXISTS (SELECT 1 FROM forum_subscription WHERE user_id = %(user)s AND thread_id = %(thread)s AND is_active),
       EXISTS (SELECT 1 FROM forum_subscription
               WHERE user_id = %(user)s AND thread_id = %(thread)s AND notified_since_read)
"""


def thread_for_page(*, course, pk, user) -> Thread:
    """Return the thread the user may see (else raise Http404), with its board and lesson, and the user's
    `last_read_at` (None: never opened), `following` and `notified_since_read` (two queries).
    """
    threads = Thread.objects.visible_to(user).select_related("board", "lesson")
    thread = get_object_or_404(threads, course=course, pk=pk)
    thread.course = course
    thread.last_read_at, thread.following, thread.notified_since_read = None, False, False
    if user.is_authenticated:
        with connection.cursor() as cursor:
            cursor.execute(_READER_STATE, {"user": user.pk, "thread": thread.pk})
            last_read_at, following, notified = cursor.fetchone()
        if isinstance(last_read_at, str):  # SQLite keeps UTC as text (and answers 0/1 for booleans)
            last_read_at = parse_datetime(last_read_at).replace(tzinfo=UTC)
        thread.last_read_at = last_read_at
        thread.following, thread.notified_since_read = bool(following), bool(notified)
    return thread


def thread_post_rows(*, thread, user):
    """Return the thread's posts the user may see, in order, as dicts of what a thread page shows (with the
    author's names). Slice it for a page: one query, no model instances.
    """
    return thread_posts(thread=thread, user=user).values(
        "id", "author_id", "author__first_name", "author__last_name", "author_is_staff", "body_html", "created_at",
        "edited_at", "is_hidden", "deleted_at",
    )  # fmt: skip


def thread_posts(*, thread, user):
    """Return the thread's posts the user may see, in order, with their authors."""
    return Post.objects.visible_to(user).filter(thread=thread).select_related("author").order_by("created_at", "id")


def post_position(*, post, user) -> int:
    """Return the 0-based position of a post among the posts of its thread the user can see."""
    before = Q(created_at__lt=post.created_at) | Q(created_at=post.created_at, id__lt=post.id)
    return thread_posts(thread=post.thread_id, user=user).filter(before).count()


def first_unread_post(*, thread, user, last_read_at):
    """Return the first post after the user's read mark (or None when all is read)."""
    posts = thread_posts(thread=thread, user=user)
    if last_read_at is not None:
        posts = posts.filter(created_at__gt=last_read_at)
    return posts.first()


def unanswered_threads(*, course, limit=100):
    """Return the course's open questions, oldest first: visible threads started by a student, with no accepted
    answer and no visible reply by staff (one query). Each carries `waiting_since` (its start) and its author.
    """
    staff_replied = Post.objects.filter(thread=OuterRef("pk"), author_is_staff=True, is_hidden=False,
                                        deleted_at__isnull=True)  # fmt: skip
    return list(
        Thread.objects.filter(course=course, is_hidden=False, answer__isnull=True)
        .exclude(author__is_staff=True)
        .exclude(Exists(staff_replied))
        .select_related("author", "board", "lesson")
        .order_by("created_at", "pk")[:limit]
    )


def threads_of_author(*, course, user, limit=50):
    """Return the threads the user started in the course's forum, newest first, hidden ones too (one query)."""
    return list(
        Thread.objects.filter(course=course, author=user).select_related("board").order_by("-created_at")[:limit]
    )


def posts_in_course(*, course):
    """Return the visible posts of the course's forum (a queryset for others to aggregate, e.g. activity)."""
    return Post.objects.filter(thread__course=course, is_hidden=False, deleted_at__isnull=True)


def search_hits(*, course, user, query, limit=20):
    """Return the best matching post of each thread the user may see, best first, at most `limit` of them.

    Each post carries its thread (with `title`) and `snippet` (safe HTML, the matched words in <mark>). Whether the
    user may use the forum at all is the access policy's: ask it before calling this. At most two queries.
    """
    hits, threads = [], set()
    # Only what a hit shows (its thread's title, the snippet made from the body): not the post, thread and author
    # models whole, for each of up to `limit * 3` posts.
    found = search_posts(course=course, user=user, query=query).select_related(None).select_related("thread")
    for post in found.only("id", "body", "thread__id", "thread__title")[: limit * 3]:
        if post.thread_id not in threads:
            threads.add(post.thread_id)
            hits.append(post)
    return hits[:limit]
