"""Staff tools keep what another member of staff changed; a post edited in the admin shows its new text."""

from types import SimpleNamespace

import pytest
from django.urls import reverse

from forum import services
from forum.models import Board, Post, Thread
from tests.factories import EnrollmentFactory, RunFactory, StaffFactory

pytestmark = pytest.mark.django_db


@pytest.fixture
def forum():
    run = RunFactory()
    student = EnrollmentFactory(run=run).user
    staff, other_staff = StaffFactory(), StaffFactory()
    board = Board.objects.get(course=run.course, slug="questions")
    thread = services.start_thread(user=student, board=board, title="How do I start?", body="First *post*.")
    return SimpleNamespace(course=run.course, student=student, staff=staff, other_staff=other_staff, thread=thread)


def test_two_staff_changing_different_flags_from_stale_pages_both_stick(forum):
    # Each loaded the thread before the other saved, as two open pages do.
    seen_by_one = Thread.objects.get(pk=forum.thread.pk)
    seen_by_other = Thread.objects.get(pk=forum.thread.pk)

    services.set_thread_flags(user=forum.staff, thread=seen_by_one, pinned=True)
    services.set_thread_flags(user=forum.other_staff, thread=seen_by_other, locked=True)

    thread = Thread.objects.get(pk=forum.thread.pk)
    assert (thread.is_pinned, thread.is_locked, thread.is_hidden) == (True, True, False)


def test_a_stale_page_unhiding_a_thread_keeps_the_pin_set_since(forum):
    stale = Thread.objects.get(pk=forum.thread.pk)
    services.set_thread_flags(user=forum.staff, thread=forum.thread, pinned=True, hidden=True)

    returned = services.set_thread_flags(user=forum.other_staff, thread=stale, hidden=False)

    thread = Thread.objects.get(pk=forum.thread.pk)
    assert (thread.is_pinned, thread.is_locked, thread.is_hidden) == (True, False, False)
    assert (returned.is_pinned, returned.is_locked, returned.is_hidden) == (True, False, False)


def test_staff_pinning_from_the_thread_page_keeps_a_lock_set_since(client, forum):
    services.set_thread_flags(user=forum.other_staff, thread=Thread.objects.get(pk=forum.thread.pk), locked=True)
    client.force_login(forum.staff)

    response = client.post(reverse("forum:thread_flags", args=[forum.course.slug, forum.thread.pk]), {"pinned": "1"})

    assert response.status_code == 302
    thread = Thread.objects.get(pk=forum.thread.pk)
    assert (thread.is_pinned, thread.is_locked, thread.is_hidden) == (True, True, False)


def admin_thread_form(thread, **post_changes):
    """The admin's change form for a thread, as the browser sends it, with changes to its first post."""
    [post] = thread.posts.all()
    data = {
        "board": thread.board_id,
        "lesson": "",
        "video_seconds": "",
        "title": thread.title,
        "is_pinned": "",
        "is_locked": "",
        "is_hidden": "",
        "answer": "",
        "faq_entry": "",
        "posts-TOTAL_FORMS": "1",
        "posts-INITIAL_FORMS": "1",
        "posts-MIN_NUM_FORMS": "0",
        "posts-MAX_NUM_FORMS": "1000",
        "posts-0-id": post.pk,
        "posts-0-thread": thread.pk,
        "posts-0-body": post.body,
        "_save": "Save",
    }
    data.update({f"posts-0-{name}": value for name, value in post_changes.items()})
    return data


def test_a_post_edited_in_the_admin_shows_its_new_text_on_the_thread_page(client, forum):
    client.force_login(StaffFactory(is_superuser=True))
    url = reverse("admin:forum_thread_change", args=[forum.thread.pk])

    response = client.post(url, admin_thread_form(forum.thread, body="Corrected **text**."))

    assert response.status_code == 302, response.content.decode()[:3000]
    post = Post.objects.get(thread=forum.thread)
    assert post.body == "Corrected **text**."
    assert "<strong>text</strong>" in post.body_html and "<em>post</em>" not in post.body_html
    page = client.get(reverse("forum:thread", args=[forum.course.slug, forum.thread.pk])).content.decode()
    assert "Corrected <strong>text</strong>." in page


def test_saving_a_thread_in_the_admin_without_touching_its_posts_keeps_their_html(client, forum):
    client.force_login(StaffFactory(is_superuser=True))
    before = Post.objects.get(thread=forum.thread).body_html

    response = client.post(reverse("admin:forum_thread_change", args=[forum.thread.pk]),
                           admin_thread_form(forum.thread, is_hidden="on"))  # fmt: skip

    assert response.status_code == 302
    post = Post.objects.get(thread=forum.thread)
    assert post.is_hidden and post.body_html == before
