"""The forum's pages. Each asks the access policy first (POSTs too), then one service or selector."""

import functools
import uuid

from django.contrib import messages
from django.core.paginator import Paginator
from django.http import Http404, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.template.defaultfilters import pluralize
from django.template.loader import render_to_string
from django.urls import reverse
from django.utils.safestring import mark_safe
from django.utils.timezone import localtime
from django.views.decorators.http import require_POST
from django_ratelimit.decorators import ratelimit

from courses.markdown import render_markdown
from courses.views import course_view
from courseweb.errors import Refusal
from enrollment.access import CourseAccess

from . import services
from .forms import EditPostForm, ReplyForm, ThreadForm
from .models import Board, Post, Thread
from .permissions import may_delete, may_edit, may_mark_answer, may_moderate, may_reply, may_see_hidden
from .search import search_posts
from .selectors import (
    POSTS_PER_PAGE,
    THREADS_PER_PAGE,
    Row,
    boards_with_counts,
    first_unread_post,
    is_unread,
    member_name,
    post_position,
    thread_for_page,
    thread_post_rows,
    thread_posts,
    thread_rows,
)
from .templatetags.forum_tags import forum_time

EDITED = "Your post is updated."
DELETED = "Your post is deleted."
FAQ_ADDED = "Added to the course's Q&A page."
FOLLOWING = "You follow this thread."
NOT_FOLLOWING = "You no longer follow this thread."

# Resolve the course (404), ask the policy, refuse with the explaining page; pass course and access.
forum_view = course_view(CourseAccess.forum)


# Previews and edits render Markdown: each user gets this many a minute, together (Redis counts them when set).
RENDERS_PER_MINUTE = 30
SLOW_DOWN_RENDERING = "You are previewing or editing very fast. Please wait a minute, then try again."
limit_rendering = ratelimit(
    key="user", rate=f"{RENDERS_PER_MINUTE}/m", method="POST", group="forum-render", block=False
)


def _thread_or_404(request, course, pk):
    """The thread for an action on it (the page itself reads it with `thread_for_page`)."""
    threads = Thread.objects.visible_to(request.user).select_related("board", "lesson", "author", "answer")
    thread = get_object_or_404(threads, course=course, pk=pk)
    thread.course = course
    return thread


def _post_or_404(request, course, pk):
    posts = Post.objects.visible_to(request.user).select_related("thread__board", "author")
    post = get_object_or_404(posts, thread__course=course, pk=pk)
    if post.thread.is_hidden and not may_see_hidden(request.user):
        raise Http404
    post.thread.course = course
    return post


def _post_url(request, course, post):
    """The thread page that shows the post, anchored at it."""
    page = post_position(post=post, user=request.user) // POSTS_PER_PAGE + 1
    url = reverse("forum:thread", args=[course.slug, post.thread_id])
    return f"{url}?page={page}#post-{post.pk}" if page > 1 else f"{url}#post-{post.pk}"


def _flag(value):
    """'1'/'0' from a form, or None when the field was not sent."""
    if value is None or value == "":
        return None
    return value in {"1", "true", "on"}


@forum_view
def index(request, course, access):
    boards = boards_with_counts(course=course, user=request.user)
    return render(request, "forum/board_list.html", {"course": course, "boards": boards})


@forum_view
def board(request, course, access, board_slug):
    board = get_object_or_404(Board, course=course, slug=board_slug)
    paginator = Paginator(thread_rows(user=request.user, board=board), THREADS_PER_PAGE)
    paginator.count = Thread.objects.visible_to(request.user).filter(board=board).count()  # without the rows' joins
    page = paginator.get_page(request.GET.get("page"))
    thread_url = _pk_url("thread", course)
    threads = []
    for row in page.object_list:
        thread = Row(row)
        thread.unread = is_unread(thread)
        thread.url = thread_url.format(thread.id) + ("?unread" if thread.unread else "")
        # The row's line of plain text in one piece (escaped once, in the template): fewer nodes in the loop.
        author = member_name(first_name=thread.author__first_name, last_name=thread.author__last_name,
                             pk=thread.author_id)  # fmt: skip
        replies = f"{thread.reply_count} repl{pluralize(thread.reply_count, 'y,ies')}"
        about = f" · about {thread.lesson__title}" if thread.lesson__title else ""
        thread.meta = f"{author} · {replies} · last post {forum_time(localtime(thread.last_post_at))}{about}"
        threads.append(thread)
    context = {"course": course, "board": board, "page": page, "threads": threads}
    return render(request, "forum/thread_list.html", context)


@forum_view
def thread(request, course, access, pk):
    thread = thread_for_page(course=course, pk=pk, user=request.user)
    if "unread" in request.GET:
        post = first_unread_post(thread=thread, user=request.user, last_read_at=thread.last_read_at)
        if post is not None:
            return redirect(_post_url(request, course, post))
        url = reverse("forum:thread", args=[course.slug, thread.pk])
        return redirect(url)
    return _render_thread(request, course, thread)


def _pk_url(name, course):
    """The address of a post or thread page as a format string with `{}` for its pk: one reverse() per page."""
    head, tail = reverse(f"forum:{name}", args=[course.slug, 0]).rsplit("/0/", 1)
    return f"{head}/{{}}/{tail}"


# Where the blank reply form's token goes: rendered once per process with this one, then given a fresh one.
_TOKEN_SLOT = uuid.UUID("00000000-0000-4000-8000-00000000f0f0")


@functools.cache
def _blank_reply_form_html():
    return render_to_string(
        "forum/_reply_fields.html", {"reply_form": ReplyForm(initial={"submission_token": _TOKEN_SLOT})}
    )


def _blank_reply_form():
    """The reply form as first shown, with a fresh token: the same for everyone, and crispy is slow to render it."""
    return mark_safe(_blank_reply_form_html().replace(str(_TOKEN_SLOT), str(uuid.uuid4())))  # noqa: S308 - ours


def _render_thread(request, course, thread, *, reply_form=None, mark=True, status=200):
    """The thread page. Its posts are rows (dicts), not models: the page is read far more than it is written."""
    user = request.user
    last_read_at = getattr(thread, "last_read_at", None)
    paginator = Paginator(thread_post_rows(thread=thread, user=user), POSTS_PER_PAGE)
    paginator.count = thread_posts(thread=thread, user=user).count()  # without the rows' join
    page_number = request.GET.get("page") or (paginator.num_pages if reply_form is not None else 1)
    page = paginator.get_page(page_number)
    posts = [Row(row) for row in page.object_list]
    if mark and posts:
        # Read up to the newest post shown: later pages stay unread until opened. The last page reads the thread
        # to its last post (hidden ones too), not to "now": a post made meanwhile stays unread, and a second view
        # of the page writes nothing.
        seen_to = posts[-1].created_at if page.has_next() else max(posts[-1].created_at, thread.last_post_at)
        if last_read_at is None or seen_to > last_read_at:
            services.mark_read(user=user, thread=thread, at=seen_to,
                               notified_since_read=getattr(thread, "notified_since_read", True))  # fmt: skip
    post_url, edit_url, delete_url, hide_url = (
        _pk_url(name, course) for name in ("post", "edit_post", "delete_post", "hide_post")
    )
    first_post_id = posts[0].id if page.number == 1 and posts else None
    may_mark, moderate = may_mark_answer(user, thread), may_moderate(user)
    for post in posts:
        post.author_name = member_name(first_name=post.author__first_name, last_name=post.author__last_name,
                                       pk=post.author_id)  # fmt: skip
        post.unread = last_read_at is not None and post.created_at > last_read_at and post.author_id != user.pk
        post.is_answer = thread.answer_id == post.id
        post.url = post_url.format(post.id)
        live = post.deleted_at is None
        post.edit_url = edit_url.format(post.id) if live and may_edit(user, post) else ""
        post.delete_url = delete_url.format(post.id) if live and may_delete(user, post) else ""
        post.may_mark = may_mark and post.id != first_post_id and live and not post.is_hidden
        post.hide_url = hide_url.format(post.id) if moderate else ""
    can_reply = may_reply(user, thread)
    if reply_form is not None:
        reply_fields = render_to_string("forum/_reply_fields.html", {"reply_form": reply_form})
    else:
        reply_fields = _blank_reply_form() if can_reply else ""
    context = {
        "course": course,
        "thread": thread,
        "page": page,
        "posts": posts,
        "moderate": moderate,
        "subscribed": getattr(thread, "following", False),
        "reply_fields": reply_fields,
    }
    return render(request, "forum/thread_detail.html", context, status=status)


@forum_view
def post(request, course, access, pk):
    return redirect(_post_url(request, course, _post_or_404(request, course, pk)))


@forum_view
def new_thread(request, course, access):
    if request.method == "POST":
        form = ThreadForm(request.POST, course=course)
        if form.is_valid():
            data = form.cleaned_data
            lesson = data["lesson"]
            if lesson is not None and not access.lesson(lesson):
                lesson = None
            try:
                thread = services.start_thread(
                    user=request.user, board=data["board"], title=data["title"], body=data["body"], lesson=lesson,
                    video_seconds=data["video_seconds"], token=data["submission_token"],
                )  # fmt: skip
            except Refusal as error:
                form.add_error(None, error.message)
            else:
                return redirect(thread)
    else:
        initial = {"lesson": request.GET.get("lesson", "")}
        seconds = request.GET.get("t", "")
        if seconds.isdigit():
            initial["video_seconds"] = int(seconds)
        board_slug = request.GET.get("board")
        if board_slug:
            initial["board"] = Board.objects.filter(course=course, slug=board_slug).first()
        form = ThreadForm(initial=initial, course=course)
    lesson_slug = form["lesson"].value()
    lesson = course.lessons.filter(slug=lesson_slug).first() if lesson_slug else None
    if lesson is not None and not access.lesson(lesson):
        lesson = None
    context = {"course": course, "form": form, "lesson": lesson, "video_seconds": form["video_seconds"].value()}
    return render(request, "forum/thread_form.html", context)


@require_POST
@forum_view
def reply(request, course, access, pk):
    thread = thread_for_page(course=course, pk=pk, user=request.user)
    form = ReplyForm(request.POST)
    if form.is_valid():
        try:
            post = services.reply(user=request.user, thread=thread, body=form.cleaned_data["body"],
                                  token=form.cleaned_data["submission_token"])  # fmt: skip
        except Refusal as error:
            form.add_error(None, error.message)
            messages.error(request, error.message)
        else:
            return redirect(_post_url(request, course, post))
    return _render_thread(request, course, thread, reply_form=form, mark=False, status=400)


@forum_view
@limit_rendering
def edit_post(request, course, access, pk):
    post = _post_or_404(request, course, pk)
    if not may_edit(request.user, post):
        messages.error(request, services.NOT_YOUR_POST)
        return redirect(_post_url(request, course, post))
    status = 200
    if request.method == "POST":
        form = EditPostForm(request.POST)
        if request.limited:
            form.add_error(None, SLOW_DOWN_RENDERING)
            status = 429
        elif form.is_valid():
            try:
                services.edit_post(user=request.user, post=post, body=form.cleaned_data["body"])
            except Refusal as error:
                form.add_error(None, error.message)
            else:
                messages.success(request, EDITED)
                return redirect(_post_url(request, course, post))
    else:
        form = EditPostForm(initial={"body": post.body})
    return render(request, "forum/post_form.html", {"course": course, "post": post, "form": form}, status=status)


def _act(request, course, post_or_thread, action, success=None):
    """Run a service; show its refusal as a message. Return to the thread either way."""
    try:
        action()
    except Refusal as error:
        messages.error(request, error.message)
    else:
        if success:
            messages.success(request, success)
    if isinstance(post_or_thread, Post):
        if post_or_thread.is_visible or may_see_hidden(request.user):
            return redirect(_post_url(request, course, post_or_thread))
        return redirect(post_or_thread.thread)
    return redirect(post_or_thread)


@require_POST
@forum_view
def delete_post(request, course, access, pk):
    post = _post_or_404(request, course, pk)
    return _act(request, course, post, lambda: services.delete_post(user=request.user, post=post), DELETED)


@require_POST
@forum_view
def hide_post(request, course, access, pk):
    post = _post_or_404(request, course, pk)
    hidden = _flag(request.POST.get("hidden")) is not False
    return _act(request, course, post, lambda: services.set_post_hidden(user=request.user, post=post, hidden=hidden))


@require_POST
@forum_view
def mark_answer(request, course, access, pk):
    thread = _thread_or_404(request, course, pk)
    post_id = request.POST.get("post_id", "")
    answer = None
    if post_id:
        answer = Post.objects.visible_to(request.user).filter(thread=thread, pk=post_id if post_id.isdigit() else 0)
        answer = answer.first()
        if answer is None:
            messages.error(request, services.NOT_IN_THREAD)
            return redirect(thread)
    return _act(request, course, thread, lambda: services.mark_answer(user=request.user, thread=thread, post=answer))


@require_POST
@forum_view
def thread_flags(request, course, access, pk):
    thread = _thread_or_404(request, course, pk)
    flags = {name: _flag(request.POST.get(name)) for name in ("pinned", "locked", "hidden")}
    return _act(request, course, thread, lambda: services.set_thread_flags(user=request.user, thread=thread, **flags))


@require_POST
@forum_view
def subscribe(request, course, access, pk):
    thread = _thread_or_404(request, course, pk)
    subscribed = _flag(request.POST.get("subscribed")) is not False
    message = FOLLOWING if subscribed else NOT_FOLLOWING
    return _act(request, course, thread, lambda: services.set_subscribed(user=request.user, thread=thread,
                                                                  subscribed=subscribed), message)  # fmt: skip


@require_POST
@forum_view
def make_faq(request, course, access, pk):
    thread = _thread_or_404(request, course, pk)
    return _act(request, course, thread, lambda: services.make_faq_entry(user=request.user, thread=thread), FAQ_ADDED)


@require_POST
@forum_view
@limit_rendering
def preview(request, course, access):
    if request.limited:
        return HttpResponse(SLOW_DOWN_RENDERING, status=429, content_type="text/plain")
    body = request.POST.get("body", "")
    if len(body) > services.MAX_BODY_CHARS:
        message = services.TOO_LONG.format(limit=services.MAX_BODY_CHARS, length=len(body))
        return HttpResponse(message, status=400, content_type="text/plain")
    return HttpResponse(render_markdown(body))


@forum_view
def search(request, course, access):
    query = request.GET.get("q", "").strip()
    results = search_posts(course=course, user=request.user, query=query) if query else Post.objects.none()
    page = Paginator(results, THREADS_PER_PAGE).get_page(request.GET.get("page"))
    return render(request, "forum/search.html", {"course": course, "query": query, "page": page})
