"""Every forum URL asks the access policy, for every role; the forum's own rules refuse with a message."""

import uuid
import zoneinfo
from datetime import timedelta
from types import SimpleNamespace

import pytest
from django.contrib.auth.models import AnonymousUser
from django.contrib.messages import get_messages
from django.urls import reverse
from django.utils import timezone
from django.utils.html import escape

from accounts.models import User
from courses.models import FAQEntry
from enrollment.access import ACCESS_ENDED, NOT_ENROLLED, REFUNDED, course_access
from enrollment.models import Enrollment
from forum import permissions, services
from forum.models import Board, Post, Subscription, Thread, ThreadRead
from forum.views import DELETED, EDITED, FAQ_ADDED, NOT_FOLLOWING
from tests.factories import (
    CourseFactory,
    EnrollmentFactory,
    LessonFactory,
    OfficeHoursTierFactory,
    RunFactory,
    SectionFactory,
    StaffFactory,
    TierFactory,
    UserFactory,
)

pytestmark = pytest.mark.django_db

SECRET_TITLE = "Secret thread title 7d1f"
SECRET_BODY = "Secret post body 9a2e"

ROLES = ["anonymous", "outsider", "other_course", "expired", "refunded", "standard", "office_hours", "staff"]
ALLOWED = {"standard", "office_hours", "staff"}
# Why the policy refuses each refused role (anonymous visitors are sent to log in).
REFUSAL = {"outsider": NOT_ENROLLED, "other_course": NOT_ENROLLED, "expired": ACCESS_ENDED, "refunded": REFUNDED}
# In the world below, "standard" asked the thread (its first post is `post`); staff wrote the reply `answer`.
THREAD_AUTHOR = "standard"


@pytest.fixture
def world():
    course = CourseFactory()
    run = RunFactory(course=course)
    standard_tier = TierFactory(run=run)
    office_tier = OfficeHoursTierFactory(run=run)
    old_run = RunFactory(course=course, starts_at=timezone.now() - timedelta(days=200))
    old_tier = TierFactory(run=old_run, months=1)
    lesson = LessonFactory(section=SectionFactory(course=course))
    other_run = RunFactory()
    users = {
        "anonymous": None,
        "outsider": UserFactory(),
        "other_course": EnrollmentFactory(run=other_run).user,
        "expired": EnrollmentFactory(run=old_run, tier=old_tier).user,
        "refunded": EnrollmentFactory(run=run, tier=standard_tier, status=Enrollment.Status.REFUNDED).user,
        "standard": EnrollmentFactory(run=run, tier=standard_tier).user,
        "office_hours": EnrollmentFactory(run=run, tier=office_tier).user,
        "staff": StaffFactory(),
    }
    board = Board.objects.get(course=course, slug="questions")
    thread = services.start_thread(user=users["standard"], board=board, title=SECRET_TITLE, body=SECRET_BODY,
                                   lesson=lesson, video_seconds=754)  # fmt: skip
    answer = services.reply(user=users["staff"], thread=thread, body="An answer from the instructor.")
    return SimpleNamespace(course=course, board=board, thread=thread, post=thread.posts.first(), answer=answer,
                           lesson=lesson, users=users, other_course=other_run.course)  # fmt: skip


def forum_urls(w):
    """(name, url, method, data) for every forum URL."""
    slug, t, p = w.course.slug, w.thread.pk, w.post.pk
    return [
        ("index", reverse("forum:index", args=[slug]), "get", None),
        ("board", reverse("forum:board", args=[slug, w.board.slug]), "get", None),
        ("thread", reverse("forum:thread", args=[slug, t]), "get", None),
        ("post", reverse("forum:post", args=[slug, p]), "get", None),
        ("new_thread", reverse("forum:new_thread", args=[slug]) + f"?lesson={w.lesson.slug}&t=5", "get", None),
        ("new_thread post", reverse("forum:new_thread", args=[slug]), "post",
         {"board": w.board.pk, "title": "A new thread", "body": "Hello"}),
        ("reply", reverse("forum:reply", args=[slug, t]), "post", {"body": "A reply"}),
        ("edit_post", reverse("forum:edit_post", args=[slug, p]), "get", None),
        ("edit_post post", reverse("forum:edit_post", args=[slug, p]), "post", {"body": "Changed"}),
        ("delete_post", reverse("forum:delete_post", args=[slug, w.answer.pk]), "post", {}),
        ("mark_answer", reverse("forum:mark_answer", args=[slug, t]), "post", {"post_id": w.answer.pk}),
        ("thread_flags", reverse("forum:thread_flags", args=[slug, t]), "post", {"pinned": "1"}),
        ("hide_post", reverse("forum:hide_post", args=[slug, w.answer.pk]), "post", {"hidden": "1"}),
        ("subscribe", reverse("forum:subscribe", args=[slug, t]), "post", {"subscribed": "0"}),
        ("make_faq", reverse("forum:make_faq", args=[slug, t]), "post", {}),
        ("preview", reverse("forum:preview", args=[slug]), "post", {"body": "*hi*"}),
        ("search", reverse("forum:search", args=[slug]) + "?q=Secret", "get", None),
    ]  # fmt: skip


def snapshot():
    """Every row a forum URL could write, re-read from the database."""
    return (
        sorted(Thread.objects.values_list("pk", "title", "is_pinned", "is_locked", "is_hidden", "answer_id",
                                          "faq_entry_id", "reply_count", "last_post_at")),
        sorted(Post.objects.values_list("pk", "body", "body_html", "is_hidden", "deleted_at", "edited_at")),
        sorted(Subscription.objects.values_list("user_id", "thread_id", "is_active")),
        sorted(ThreadRead.objects.values_list("user_id", "thread_id", "last_read_at")),
        sorted(FAQEntry.objects.values_list("pk", "question")),
    )  # fmt: skip


def flashed(response):
    return [str(message) for message in get_messages(response.wsgi_request)]


@pytest.mark.parametrize("role", sorted(set(ROLES) - ALLOWED))
def test_refused_roles_get_the_explaining_page_at_every_forum_url_and_nothing_changes(client, world, role):
    user = world.users[role]
    if user:
        client.force_login(user)
    before = snapshot()
    for name, url, method, data in forum_urls(world):
        response = getattr(client, method)(url, data) if data is not None else getattr(client, method)(url)
        content = response.content.decode()
        if role == "anonymous":
            assert response.status_code == 302, name
            assert response.url.startswith(reverse("account_login")), name
        else:
            assert response.status_code == 403, name
            assert escape(refusal_message(world, role)) in content, name
        assert SECRET_TITLE not in content and SECRET_BODY not in content, name
    assert snapshot() == before


def refusal_message(w, role):
    """The policy's message for a refused role, as the page words it (dates in the user's zone)."""
    user = w.users[role]
    with timezone.override(zoneinfo.ZoneInfo(user.timezone)):
        decision = course_access(user, w.course).forum()
        assert not decision and decision.reason == REFUSAL[role]
        return decision.message


def test_expired_student_learns_when_access_ended(client, world):
    client.force_login(world.users["expired"])
    response = client.get(reverse("forum:index", args=[world.course.slug]))
    assert response.status_code == 403
    assert "Your access ended on" in response.content.decode()


def test_refunded_student_learns_why(client, world):
    client.force_login(world.users["refunded"])
    response = client.get(reverse("forum:thread", args=[world.course.slug, world.thread.pk]))
    assert response.status_code == 403
    assert "refunded" in response.content.decode()


URL_NAMES = [
    "index", "board", "thread", "post", "new_thread", "new_thread post", "reply", "edit_post", "edit_post post",
    "delete_post", "mark_answer", "thread_flags", "hide_post", "subscribe", "make_faq", "preview", "search",
]  # fmt: skip


def state(w, user):
    """What the forum URLs change, re-read from the database."""
    thread = Thread.objects.get(pk=w.thread.pk)
    post, answer = Post.objects.get(pk=w.post.pk), Post.objects.get(pk=w.answer.pk)
    return {
        "threads": Thread.objects.count(),
        "posts": Post.objects.count(),
        "flags (pinned, locked, hidden)": (thread.is_pinned, thread.is_locked, thread.is_hidden),
        "answer": thread.answer_id,
        "in the Q&A": FAQEntry.objects.filter(pk=thread.faq_entry_id).exists(),
        "first post's body": post.body,
        "reply deleted": answer.deleted_at is not None,
        "reply hidden": answer.is_hidden,
        "follows": Subscription.objects.filter(user=user, thread=w.thread, is_active=True).exists(),
    }


def expected(w, role, name, before):
    """(status, flashed messages, state afterwards) of an allowed role at one forum URL: the table of who may what."""
    staff, asked = role == "staff", role == THREAD_AUTHOR
    refused = lambda message: (302, [message], before)  # noqa: E731
    match name:
        case "index" | "board" | "thread" | "new_thread" | "preview" | "search":
            return 200, [], before
        case "post":
            return 302, [], before
        case "new_thread post":
            return 302, [], {**before, "threads": before["threads"] + 1, "posts": before["posts"] + 1}
        case "reply":
            return 302, [], {**before, "posts": before["posts"] + 1, "follows": True}
        case "edit_post":
            return (200, [], before) if asked else refused(services.NOT_YOUR_POST)
        case "edit_post post":
            return (302, [EDITED], {**before, "first post's body": "Changed"}) if asked else refused(
                services.NOT_YOUR_POST
            )
        case "delete_post":
            return (302, [DELETED], {**before, "reply deleted": True}) if staff else refused(services.NOT_YOUR_POST)
        case "mark_answer":
            if staff or asked:
                return 302, [], {**before, "answer": w.answer.pk}
            return refused(services.NOT_AUTHOR_OR_STAFF)
        case "thread_flags":
            flags = {"flags (pinned, locked, hidden)": (True, False, False)}
            return (302, [], {**before, **flags}) if staff else refused(services.STAFF_ONLY)
        case "hide_post":
            return (302, [], {**before, "reply hidden": True}) if staff else refused(services.STAFF_ONLY)
        case "subscribe":
            return 302, [NOT_FOLLOWING], {**before, "follows": False}
        case "make_faq":
            return (302, [FAQ_ADDED], {**before, "in the Q&A": True}) if staff else refused(services.STAFF_ONLY)
    raise AssertionError(name)


@pytest.mark.parametrize("name", URL_NAMES)
@pytest.mark.parametrize("role", sorted(ALLOWED))
def test_students_in_their_window_and_staff_get_what_the_forum_rules_give_them_at_every_url(client, world, role, name):
    user = world.users[role]
    if name == "make_faq":
        services.mark_answer(user=world.users["staff"], thread=world.thread, post=world.answer)
    client.force_login(user)
    [(_, url, method, data)] = [entry for entry in forum_urls(world) if entry[0] == name]
    before = state(world, user)
    status, messages, after = expected(world, role, name, before)

    response = getattr(client, method)(url, data) if data is not None else getattr(client, method)(url)

    assert response.status_code == status
    assert flashed(response) == messages
    assert state(world, user) == after
    if status == 302:
        new_thread = Thread.objects.order_by("pk").last()
        target = new_thread if name == "new_thread post" else world.thread
        assert response.url.startswith(reverse("forum:thread", args=[world.course.slug, target.pk]))


@pytest.mark.parametrize("role", ["standard", "office_hours"])
def test_students_cannot_use_staff_actions(client, world, role):
    client.force_login(world.users[role])
    slug, t = world.course.slug, world.thread.pk
    services.mark_answer(user=world.users["staff"], thread=world.thread, post=world.answer)
    before = snapshot()
    for count, (url, data) in enumerate([
        (reverse("forum:thread_flags", args=[slug, t]), {"pinned": "1", "locked": "1", "hidden": "1"}),
        (reverse("forum:hide_post", args=[slug, world.answer.pk]), {"hidden": "1"}),
        (reverse("forum:make_faq", args=[slug, t]), {}),
    ], start=1):  # fmt: skip
        response = client.post(url, data)
        assert response.status_code == 302
        assert response.url == reverse("forum:thread", args=[slug, t]) or f"#post-{world.answer.pk}" in response.url
        # Not shown yet (the redirect is not followed), so the refusals add up.
        assert flashed(response) == [services.STAFF_ONLY] * count
    assert snapshot() == before


def test_a_forum_url_with_another_courses_thread_is_404_and_nothing_changes(client, world):
    client.force_login(world.users["staff"])
    other = world.other_course
    before = snapshot()
    for name in ["thread", "reply", "mark_answer", "thread_flags", "subscribe", "make_faq"]:
        response = (
            client.post(reverse(f"forum:{name}", args=[other.slug, world.thread.pk]), {"body": "x"})
            if name != "thread"
            else client.get(reverse("forum:thread", args=[other.slug, world.thread.pk]))
        )
        assert response.status_code == 404, name
    for name in ["post", "edit_post", "delete_post", "hide_post"]:
        url = reverse(f"forum:{name}", args=[other.slug, world.post.pk])
        response = client.get(url) if name in {"post", "edit_post"} else client.post(url, {"hidden": "1"})
        assert response.status_code == 404, name
    assert client.get(reverse("forum:board", args=[other.slug, "nope"])).status_code == 404
    assert client.get(reverse("forum:index", args=["no-such-course"])).status_code == 404
    assert snapshot() == before


def test_a_student_of_the_course_gets_404_for_another_courses_thread(client, world):
    other_student = world.users["other_course"]
    client.force_login(other_student)
    response = client.get(reverse("forum:thread", args=[world.other_course.slug, world.thread.pk]))
    assert response.status_code == 404


def test_hidden_post_url_is_404_for_students_and_visible_marked_to_staff(client, world):
    services.set_post_hidden(user=world.users["staff"], post=world.answer, hidden=True)
    slug = world.course.slug
    client.force_login(world.users["standard"])
    assert client.get(reverse("forum:post", args=[slug, world.answer.pk])).status_code == 404
    response = client.post(reverse("forum:mark_answer", args=[slug, world.thread.pk]), {"post_id": world.answer.pk})
    assert response.status_code == 302 and flashed(response) == [services.NOT_IN_THREAD]
    world.thread.refresh_from_db()
    assert world.thread.answer_id is None
    thread_page = client.get(reverse("forum:thread", args=[slug, world.thread.pk])).content.decode()
    assert "An answer from the instructor." not in thread_page
    client.force_login(world.users["staff"])
    thread_page = client.get(reverse("forum:thread", args=[slug, world.thread.pk])).content.decode()
    assert "An answer from the instructor." in thread_page and "Hidden by staff" in thread_page


def test_hidden_thread_is_404_for_students(client, world):
    services.set_thread_flags(user=world.users["staff"], thread=world.thread, hidden=True)
    client.force_login(world.users["office_hours"])
    slug = world.course.slug
    before = snapshot()
    assert client.get(reverse("forum:thread", args=[slug, world.thread.pk])).status_code == 404
    assert client.get(reverse("forum:post", args=[slug, world.post.pk])).status_code == 404
    assert client.post(reverse("forum:reply", args=[slug, world.thread.pk]), {"body": "x"}).status_code == 404
    assert SECRET_TITLE not in client.get(reverse("forum:board", args=[slug, "questions"])).content.decode()
    assert snapshot() == before


def test_editing_someone_elses_post_is_refused_and_nothing_changes(client, world):
    client.force_login(world.users["office_hours"])
    url = reverse("forum:edit_post", args=[world.course.slug, world.post.pk])
    before = snapshot()
    for count, response in enumerate((client.get(url), client.post(url, {"body": "Hijacked"})), start=1):
        assert response.status_code == 302
        # Not shown yet (the redirect is not followed), so the refusals add up.
        assert flashed(response) == [services.NOT_YOUR_POST] * count
    world.post.refresh_from_db()
    assert world.post.body == SECRET_BODY and world.post.edited_at is None
    assert snapshot() == before


def test_deleting_someone_elses_post_is_refused_and_nothing_changes(client, world):
    client.force_login(world.users["office_hours"])
    before = snapshot()
    response = client.post(reverse("forum:delete_post", args=[world.course.slug, world.post.pk]))
    assert response.status_code == 302 and flashed(response) == [services.NOT_YOUR_POST]
    world.post.refresh_from_db()
    assert world.post.deleted_at is None
    assert snapshot() == before


def test_posting_to_a_locked_thread_is_refused(client, world):
    services.set_thread_flags(user=world.users["staff"], thread=world.thread, locked=True)
    client.force_login(world.users["standard"])
    before = snapshot()
    response = client.post(reverse("forum:reply", args=[world.course.slug, world.thread.pk]), {"body": "Still here"})
    assert response.status_code == 400
    assert services.LOCKED in response.content.decode()
    assert snapshot() == before


def test_staff_still_reply_to_a_locked_thread(client, world):
    services.set_thread_flags(user=world.users["staff"], thread=world.thread, locked=True)
    client.force_login(world.users["staff"])
    response = client.post(reverse("forum:reply", args=[world.course.slug, world.thread.pk]), {"body": "Closing note"})
    assert response.status_code == 302
    assert Post.objects.filter(thread=world.thread, body="Closing note", author=world.users["staff"]).exists()


def test_a_double_submitted_reply_creates_one_post(client, world):
    client.force_login(world.users["standard"])
    token = str(uuid.uuid4())
    url = reverse("forum:reply", args=[world.course.slug, world.thread.pk])
    first = client.post(url, {"body": "Only once", "submission_token": token})
    second = client.post(url, {"body": "Only once", "submission_token": token})
    assert Post.objects.filter(body="Only once").count() == 1
    assert first.status_code == second.status_code == 302 and first.url == second.url


def test_a_double_submitted_new_thread_creates_one_thread(client, world):
    client.force_login(world.users["standard"])
    data = {"board": world.board.pk, "title": "Twice?", "body": "Once.", "submission_token": str(uuid.uuid4())}
    url = reverse("forum:new_thread", args=[world.course.slug])
    first, second = client.post(url, data), client.post(url, data)
    assert Thread.objects.filter(title="Twice?").count() == 1
    assert first.url == second.url


def test_a_burst_of_posts_is_told_to_slow_down_and_nothing_is_half_saved(client, world):
    client.force_login(world.users["office_hours"])
    url = reverse("forum:new_thread", args=[world.course.slug])
    threads_before = Thread.objects.count()
    responses = [
        client.post(url, {"board": world.board.pk, "title": f"Burst {i}", "body": f"Burst body {i}",
                          "submission_token": str(uuid.uuid4())})
        for i in range(services.RATE_LIMIT_POSTS + 2)
    ]  # fmt: skip
    refused = [r for r in responses if r.status_code == 200]
    assert len(refused) == 2
    assert all(services.SLOW_DOWN in r.content.decode() for r in refused)
    assert Thread.objects.count() == threads_before + services.RATE_LIMIT_POSTS
    assert not Thread.objects.filter(posts__isnull=True).exists()
    reply = client.post(reverse("forum:reply", args=[world.course.slug, world.thread.pk]), {"body": "One more"})
    assert services.SLOW_DOWN in reply.content.decode()
    assert not Post.objects.filter(body="One more").exists()


# The forum's own rules, asked of forum.permissions directly: role × action. The author wrote the thread and
# the post; "staff author" is staff who wrote them.
PREDICATE_ROLES = ["anonymous", "student", "author", "staff", "staff author"]
PREDICATES = {
    # action: roles allowed
    "reply to an open thread": {"anonymous", "student", "author", "staff", "staff author"},
    "reply to a locked thread": {"staff", "staff author"},
    "mark the answer": {"author", "staff", "staff author"},
    "edit the post": {"author", "staff author"},
    "delete the post": {"author", "staff", "staff author"},
    "moderate (hide posts; pin, lock, hide threads)": {"staff", "staff author"},
    "add to the Q&A": {"staff", "staff author"},
    "see hidden threads and posts": {"staff", "staff author"},
}


def ask(action, user, thread, locked_thread, post):
    return {
        "reply to an open thread": lambda: permissions.may_reply(user, thread),
        "reply to a locked thread": lambda: permissions.may_reply(user, locked_thread),
        "mark the answer": lambda: permissions.may_mark_answer(user, thread),
        "edit the post": lambda: permissions.may_edit(user, post),
        "delete the post": lambda: permissions.may_delete(user, post),
        "moderate (hide posts; pin, lock, hide threads)": lambda: permissions.may_moderate(user),
        "add to the Q&A": lambda: permissions.may_add_to_faq(user, thread),
        "see hidden threads and posts": lambda: permissions.may_see_hidden(user),
    }[action]()


@pytest.mark.parametrize("action", list(PREDICATES))
@pytest.mark.parametrize("role", PREDICATE_ROLES)
def test_forum_permissions_table(role, action):
    users = {
        "anonymous": AnonymousUser(),
        "student": User(pk=1001),
        "author": User(pk=1002),
        "staff": User(pk=1003, is_staff=True),
        "staff author": User(pk=1004, is_staff=True),
    }
    author = users["staff author" if role == "staff author" else "author"]
    thread = Thread(author_id=author.pk, is_locked=False)
    locked_thread = Thread(author_id=author.pk, is_locked=True)
    post = Post(author_id=author.pk)

    assert ask(action, users[role], thread, locked_thread, post) is (role in PREDICATES[action])


def test_a_post_or_thread_whose_author_left_is_nobodys_own():
    # A deleted account leaves author NULL: an anonymous visitor (pk None) must not match it.
    thread, post = Thread(author_id=None), Post(author_id=None)
    assert not permissions.may_edit(AnonymousUser(), post)
    assert not permissions.may_mark_answer(AnonymousUser(), thread)
    assert not permissions.may_delete(User(pk=1001), post)


# The actions a thread page offers each allowed role: the templates ask the same predicates.
OFFERED = {
    "standard": {"edit the first post", "delete the first post", "mark the answer"},
    "office_hours": set(),
    "staff": {"delete the first post", "delete the reply", "edit the reply", "mark the answer", "moderate",
              "add to the Q&A"},
}  # fmt: skip


@pytest.mark.parametrize("role", sorted(ALLOWED))
def test_a_thread_page_offers_exactly_the_actions_the_forum_rules_allow(client, world, role):
    # Marked as the answer (so "Add to Q&A" may show); still offered to be unmarked.
    services.mark_answer(user=world.users["staff"], thread=world.thread, post=world.answer)
    client.force_login(world.users[role])
    slug, t = world.course.slug, world.thread.pk

    page = client.get(reverse("forum:thread", args=[slug, t])).content.decode()

    actions = {
        "edit the first post": reverse("forum:edit_post", args=[slug, world.post.pk]),
        "edit the reply": reverse("forum:edit_post", args=[slug, world.answer.pk]),
        "delete the first post": reverse("forum:delete_post", args=[slug, world.post.pk]),
        "delete the reply": reverse("forum:delete_post", args=[slug, world.answer.pk]),
        "mark the answer": reverse("forum:mark_answer", args=[slug, t]),
        "moderate": reverse("forum:thread_flags", args=[slug, t]),
        "add to the Q&A": reverse("forum:make_faq", args=[slug, t]),
    }
    assert {action for action, url in actions.items() if f'"{url}"' in page} == OFFERED[role]
    hide_reply = reverse("forum:hide_post", args=[slug, world.answer.pk])
    assert (f'"{hide_reply}"' in page) is (role == "staff")
