"""Every forum URL asks the access policy, for every role; the forum's own rules refuse with a message."""

import uuid
from datetime import timedelta
from types import SimpleNamespace

import pytest
from django.contrib.messages import get_messages
from django.urls import reverse
from django.utils import timezone

from enrollment.models import Enrollment
from forum import services
from forum.models import Board, Post, Thread
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
    return (
        sorted(Thread.objects.values_list("pk", "title", "is_pinned", "is_locked", "is_hidden", "answer_id",
                                          "faq_entry_id")),
        sorted(Post.objects.values_list("pk", "body", "is_hidden", "deleted_at")),
    )  # fmt: skip


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
            assert "access" in content.lower() or "enrol" in content.lower(), name
        assert SECRET_TITLE not in content and SECRET_BODY not in content, name
    assert snapshot() == before


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


@pytest.mark.parametrize("role", sorted(ALLOWED))
def test_students_in_their_window_and_staff_can_use_every_forum_url(client, world, role):
    client.force_login(world.users[role])
    for name, url, method, data in forum_urls(world):
        response = getattr(client, method)(url, data) if data is not None else getattr(client, method)(url)
        assert response.status_code in {200, 302}, (name, response.status_code)
        if response.status_code == 302:
            assert not response.url.startswith(reverse("account_login")), name


@pytest.mark.parametrize("role", ["standard", "office_hours"])
def test_students_cannot_use_staff_actions(client, world, role):
    client.force_login(world.users[role])
    slug, t = world.course.slug, world.thread.pk
    services.mark_answer(user=world.users["staff"], thread=world.thread, post=world.answer)
    before = snapshot()
    for url, data in [
        (reverse("forum:thread_flags", args=[slug, t]), {"pinned": "1", "locked": "1", "hidden": "1"}),
        (reverse("forum:hide_post", args=[slug, world.answer.pk]), {"hidden": "1"}),
        (reverse("forum:make_faq", args=[slug, t]), {}),
    ]:
        response = client.post(url, data)
        assert response.status_code == 302
        assert services.STAFF_ONLY in [str(m) for m in get_messages(response.wsgi_request)]
    assert snapshot() == before


def test_a_forum_url_with_another_courses_thread_is_404(client, world):
    client.force_login(world.users["staff"])
    other = world.other_course
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
    assert client.post(reverse("forum:mark_answer", args=[slug, world.thread.pk]),
                       {"post_id": world.answer.pk}).status_code == 302  # fmt: skip
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
    assert client.get(reverse("forum:thread", args=[slug, world.thread.pk])).status_code == 404
    assert client.get(reverse("forum:post", args=[slug, world.post.pk])).status_code == 404
    assert client.post(reverse("forum:reply", args=[slug, world.thread.pk]), {"body": "x"}).status_code == 404
    assert SECRET_TITLE not in client.get(reverse("forum:board", args=[slug, "questions"])).content.decode()


def test_editing_someone_elses_post_is_refused_and_nothing_changes(client, world):
    client.force_login(world.users["office_hours"])
    url = reverse("forum:edit_post", args=[world.course.slug, world.post.pk])
    for response in (client.get(url), client.post(url, {"body": "Hijacked"})):
        assert response.status_code == 302
        assert services.NOT_YOUR_POST in [str(m) for m in get_messages(response.wsgi_request)]
    world.post.refresh_from_db()
    assert world.post.body == SECRET_BODY and world.post.edited_at is None


def test_deleting_someone_elses_post_is_refused(client, world):
    client.force_login(world.users["office_hours"])
    response = client.post(reverse("forum:delete_post", args=[world.course.slug, world.post.pk]))
    assert services.NOT_YOUR_POST in [str(m) for m in get_messages(response.wsgi_request)]
    world.post.refresh_from_db()
    assert world.post.deleted_at is None


def test_posting_to_a_locked_thread_is_refused(client, world):
    services.set_thread_flags(user=world.users["staff"], thread=world.thread, locked=True)
    client.force_login(world.users["standard"])
    count = Post.objects.count()
    response = client.post(reverse("forum:reply", args=[world.course.slug, world.thread.pk]), {"body": "Still here"})
    assert services.LOCKED in response.content.decode()
    assert Post.objects.count() == count


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
