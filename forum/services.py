"""Writes to the forum. Views check access with enrollment.access first; these check the forum's own rules."""

from datetime import timedelta

from django.db import IntegrityError, transaction
from django.db.models import F
from django.utils import timezone

from accounts.models import User
from courses.markdown import render_markdown
from courses.models import FAQEntry
from courseweb.errors import Refusal
from courseweb.text import one_line

from .models import DEFAULT_BOARDS, Board, ForumSettings, Post, Subscription, Thread, ThreadRead
from .permissions import may_add_to_faq, may_delete, may_edit, may_mark_answer, may_moderate, may_reply
from .tasks import notify_new_post

# A post is at most this long: enough for a long question with its logs, not a way to tie up a worker.
MAX_BODY_CHARS = 20_000
RATE_LIMIT_POSTS = 5
RATE_LIMIT_WINDOW = timedelta(minutes=1)

SLOW_DOWN = "You are posting very fast. Please wait a minute, then try again."
LOCKED = "This thread is locked: it takes no new replies."
NOT_YOUR_POST = "You can only change your own posts."
STAFF_ONLY = "Only the instructor can do that."
NOT_AUTHOR_OR_STAFF = "Only the person who asked, or the instructor, can mark the answer."
EMPTY = "Write something first."
NOT_IN_THREAD = "That post is not a reply in this thread."
NO_ANSWER_YET = "Mark an answer first."
TOO_LONG = "A post can be at most {limit:,} characters long; this one has {length:,}. Shorten it or link to a paste."


class ForumError(Refusal):
    """A rule of the forum refused the change; the message is for the user."""


def create_default_boards(*, course) -> list[Board]:
    """Give a course the boards every forum starts with (idempotent)."""
    boards = [Board(course=course, slug=slug, title=title, description=text, order=position)
              for position, (slug, title, text) in enumerate(DEFAULT_BOARDS)]  # fmt: skip
    Board.objects.bulk_create(boards, ignore_conflicts=True)
    return list(Board.objects.filter(course=course))


def _check_rate(user, now):
    # Lock the author's row: one user's posts are counted one at a time, so a burst cannot slip past.
    User.objects.select_for_update().filter(pk=user.pk).first()
    recent = Post.objects.filter(author=user, created_at__gte=now - RATE_LIMIT_WINDOW).count()
    if recent >= RATE_LIMIT_POSTS and not user.is_staff:
        raise ForumError(SLOW_DOWN)


def _existing(token):
    return Post.objects.select_related("thread").filter(submission_token=token).first() if token else None


def check_body(body: str) -> None:
    """Refuse an empty or too long post body (the forms say so first; this holds for every caller)."""
    if not (body or "").strip():
        raise ForumError(EMPTY)
    if len(body) > MAX_BODY_CHARS:
        raise ForumError(TOO_LONG.format(limit=MAX_BODY_CHARS, length=len(body)))


def _new_post(*, user, thread, body, token, now) -> Post:
    check_body(body)
    try:
        with transaction.atomic():
            return Post.objects.create(
                thread=thread, author=user, body=body, body_html=render_markdown(body), created_at=now,
                author_is_staff=user.is_staff, submission_token=token,
            )  # fmt: skip
    except IntegrityError:
        existing = _existing(token)
        if existing is None:
            raise
        return existing


def start_thread(*, user, board: Board, title: str, body: str, lesson=None, video_seconds=None, token=None,
                 now=None) -> Thread:  # fmt: skip
    """Open a thread with its first post; the author follows it. A resubmitted form returns the same thread."""
    now = now or timezone.now()
    title = one_line(title)
    if not title:
        raise ForumError("Give your thread a title.")
    if lesson is not None and lesson.course_id != board.course_id:
        raise ForumError("That lesson is not part of this course.")
    with transaction.atomic():
        existing = _existing(token)
        if existing is not None:
            return existing.thread
        _check_rate(user, now)
        thread = Thread.objects.create(
            board=board, title=title[:200], author=user, lesson=lesson,
            video_seconds=video_seconds if lesson is not None else None, created_at=now, last_post_at=now,
        )  # fmt: skip
        post = _new_post(user=user, thread=thread, body=body, token=token, now=now)
        if post.thread_id != thread.pk:
            transaction.set_rollback(True)
            return post.thread
        Subscription.objects.get_or_create(user=user, thread=thread)
        ThreadRead.objects.update_or_create(user=user, thread=thread, defaults={"last_read_at": now})
        _after_commit_notify(post, new_thread=True)
    return thread


def reply(*, user, thread: Thread, body: str, token=None, now=None) -> Post:
    """Add a reply; the author follows the thread. A resubmitted form returns the same post."""
    now = now or timezone.now()
    with transaction.atomic():
        existing = _existing(token)
        if existing is not None:
            return existing
        thread = Thread.objects.select_for_update().get(pk=thread.pk)
        if not may_reply(user, thread):
            raise ForumError(LOCKED)
        _check_rate(user, now)
        post = _new_post(user=user, thread=thread, body=body, token=token, now=now)
        Thread.objects.filter(pk=thread.pk).update(reply_count=F("reply_count") + 1, last_post_at=now)
        Subscription.objects.get_or_create(user=user, thread=thread)
        ThreadRead.objects.update_or_create(user=user, thread=thread, defaults={"last_read_at": now})
        _after_commit_notify(post, new_thread=False)
    return post


def edit_post(*, user, post: Post, body: str, now=None) -> Post:
    if not may_edit(user, post):
        raise ForumError(NOT_YOUR_POST)
    check_body(body)
    post.body, post.body_html, post.edited_at = body, render_markdown(body), now or timezone.now()
    post.save(update_fields=["body", "body_html", "edited_at"])
    return post


def delete_post(*, user, post: Post, now=None) -> Post:
    """Soft-delete: gone for students, still visible (marked) to staff."""
    if not may_delete(user, post):
        raise ForumError(NOT_YOUR_POST)
    with transaction.atomic():
        if post.deleted_at is None:
            was_visible = post.is_visible
            post.deleted_at = now or timezone.now()
            post.save(update_fields=["deleted_at"])
            _visible_reply_changed(post, -1 if was_visible else 0)
    return post


def set_post_hidden(*, user, post: Post, hidden: bool) -> Post:
    if not may_moderate(user):
        raise ForumError(STAFF_ONLY)
    with transaction.atomic():
        if post.is_hidden != hidden:
            was_visible = post.is_visible
            post.is_hidden = hidden
            post.save(update_fields=["is_hidden"])
            _visible_reply_changed(post, int(post.is_visible) - int(was_visible))
    return post


def _visible_reply_changed(post, delta):
    first_post_id = Post.objects.filter(thread_id=post.thread_id).order_by("created_at", "id").values("id")[:1]
    if delta and post.pk != first_post_id[0]["id"]:
        Thread.objects.filter(pk=post.thread_id).update(reply_count=F("reply_count") + delta)


def set_thread_flags(*, user, thread: Thread, pinned=None, locked=None, hidden=None) -> Thread:
    """Set the flags given (None leaves a flag as it is); return the thread as saved.

    Locks the thread row and writes only the flags given: a flag another member of staff changed since
    `thread` was loaded stays as they left it.
    """
    if not may_moderate(user):
        raise ForumError(STAFF_ONLY)
    changes = {field: value for field, value in (("is_pinned", pinned), ("is_locked", locked), ("is_hidden", hidden))
               if value is not None}  # fmt: skip
    with transaction.atomic():
        thread = Thread.objects.select_for_update().get(pk=thread.pk)
        for field, value in changes.items():
            setattr(thread, field, value)
        if changes:
            thread.save(update_fields=list(changes))
    return thread


def mark_answer(*, user, thread: Thread, post: Post | None) -> Thread:
    """The thread's author or staff marks a reply as the answer (None clears it)."""
    if not may_mark_answer(user, thread):
        raise ForumError(NOT_AUTHOR_OR_STAFF)
    if post is not None and (post.thread_id != thread.pk or not post.is_visible):
        raise ForumError(NOT_IN_THREAD)
    thread.answer = post
    thread.save(update_fields=["answer"])
    return thread


def set_subscribed(*, user, thread: Thread, subscribed: bool) -> Subscription:
    subscription, _ = Subscription.objects.get_or_create(user=user, thread=thread, defaults={"is_active": subscribed})
    if subscription.is_active != subscribed:
        subscription.is_active = subscribed
        subscription.save(update_fields=["is_active"])
    return subscription


def mark_read(*, user, thread: Thread, at=None, notified_since_read=True):
    """The user has seen the thread up to `at`: unread marks clear and notifications may go out again.

    One statement (an upsert of the read mark); a second only when the user's subscription was notified since
    they last read: a caller that knows it was not (`notified_since_read=False`) saves it.
    """
    at = at or timezone.now()
    ThreadRead.objects.bulk_create(
        [ThreadRead(user=user, thread=thread, last_read_at=at)],
        update_conflicts=True, unique_fields=["user", "thread"], update_fields=["last_read_at"],
    )  # fmt: skip
    if notified_since_read:
        Subscription.objects.filter(user=user, thread=thread, notified_since_read=True).update(
            notified_since_read=False
        )


def unsubscribe(*, user, thread=None):
    """Stop the forum email a link offered: one thread's, or (thread None) all of it."""
    if thread is None:
        set_email_mode(user=user, mode=ForumSettings.EmailMode.NONE)
    else:
        set_subscribed(user=user, thread=thread, subscribed=False)


def set_email_mode(*, user, mode: str) -> ForumSettings:
    if mode not in ForumSettings.EmailMode.values:
        raise ValueError(f"Unknown forum email mode {mode!r}")
    row, _ = ForumSettings.objects.update_or_create(user=user, defaults={"email_mode": mode})
    return row


def make_faq_entry(*, user, thread: Thread) -> FAQEntry:
    """Turn an answered thread into an entry of the course's Q&A page (once)."""
    if not may_add_to_faq(user, thread):
        raise ForumError(STAFF_ONLY)
    if thread.answer_id is None:
        raise ForumError(NO_ANSWER_YET)
    with transaction.atomic():
        thread = Thread.objects.select_for_update(of=("self",)).select_related("answer").get(pk=thread.pk)
        if thread.faq_entry_id:
            return thread.faq_entry
        last = FAQEntry.objects.filter(course_id=thread.course_id).order_by("-order").values_list("order", flat=True)
        entry = FAQEntry.objects.create(
            course_id=thread.course_id, question=thread.title[:300], answer=thread.answer.body,
            order=(last.first() or 0) + 1,
        )  # fmt: skip
        thread.faq_entry = entry
        thread.save(update_fields=["faq_entry"])
    return entry


def _after_commit_notify(post: Post, *, new_thread: bool):
    """Queue the notification emails once the post is committed (a rolled-back post sends nothing)."""
    transaction.on_commit(lambda: notify_new_post.delay(post.pk, new_thread=new_thread), robust=True)
