"""Reads the forum's pages compose. Each runs a fixed number of queries, whatever the forum's size."""

from django.db.models import Count, Exists, OuterRef, Q, Subquery

from .models import Board, Post, Subscription, Thread, ThreadRead
from .permissions import may_see_hidden
from .search import search_posts

THREADS_PER_PAGE = 25
POSTS_PER_PAGE = 25


def boards_with_counts(*, course, user):
    """Return the course's boards, each with the number of threads the user can see (one query)."""
    visible = Q() if may_see_hidden(user) else Q(threads__is_hidden=False)
    return list(Board.objects.filter(course=course).annotate(thread_count=Count("threads", filter=visible)))


def threads_for_list(*, user, **filters):
    """Return visible threads, pinned first, with author, answer and the user's read mark annotated."""
    threads = Thread.objects.visible_to(user).filter(**filters).select_related("author", "lesson", "board")
    if user.is_authenticated:
        last_read = ThreadRead.objects.filter(user=user, thread=OuterRef("pk")).values("last_read_at")[:1]
        threads = threads.annotate(last_read_at=Subquery(last_read))
    return threads


def is_unread(thread) -> bool:
    """A thread is unread when it has a post after the user's read mark, or was never opened."""
    last_read_at = getattr(thread, "last_read_at", None)
    return last_read_at is None or thread.last_post_at > last_read_at


def lesson_threads(*, lesson, user, limit=5):
    """Return the newest visible threads about a lesson (one query)."""
    return list(
        Thread.objects.visible_to(user).filter(lesson=lesson).select_related("board").order_by("-created_at")[:limit]
    )


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


def read_mark(*, thread, user):
    """Return how far the user has read the thread (None when never opened)."""
    return ThreadRead.objects.filter(user=user, thread=thread).values_list("last_read_at", flat=True).first()


def is_following(*, thread, user) -> bool:
    """Return whether the user follows the thread (is emailed about its new posts)."""
    return Subscription.objects.filter(user=user, thread=thread, is_active=True).exists()


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
    for post in search_posts(course=course, user=user, query=query)[: limit * 3]:
        if post.thread_id not in threads:
            threads.add(post.thread_id)
            hits.append(post)
    return hits[:limit]
