"""A post has a length limit and previews and edits a rate limit: one user cannot tie up the workers."""

import pytest
from django.urls import reverse

from forum import services
from forum.models import Post
from forum.views import RENDERS_PER_MINUTE, SLOW_DOWN_RENDERING

pytestmark = pytest.mark.django_db

TOO_LONG_BODY = "x" * (services.MAX_BODY_CHARS + 1)


def preview(client, forum, body="*hi*"):
    return client.post(reverse("forum:preview", args=[forum.course.slug]), {"body": body})


def test_a_body_over_the_limit_is_refused_by_the_service_and_nothing_is_saved(forum):
    thread = services.start_thread(user=forum.alice, board=forum.board, title="Long", body="Short")
    with pytest.raises(services.ForumError) as refused:
        services.reply(user=forum.bob, thread=thread, body=TOO_LONG_BODY)
    assert refused.value.message == services.TOO_LONG.format(limit=20_000, length=20_001)
    with pytest.raises(services.ForumError):
        services.edit_post(user=forum.alice, post=thread.posts.get(), body=TOO_LONG_BODY)
    assert list(Post.objects.values_list("body", flat=True)) == ["Short"]


def test_a_body_at_the_limit_is_kept_whole(forum):
    body = "y" * services.MAX_BODY_CHARS
    thread = services.start_thread(user=forum.alice, board=forum.board, title="Long", body=body)
    assert thread.posts.get().body == body


def test_the_reply_form_says_how_long_a_post_may_be(client, forum):
    thread = services.start_thread(user=forum.alice, board=forum.board, title="Long", body="Short")
    client.force_login(forum.bob)
    response = client.post(reverse("forum:reply", args=[forum.course.slug, thread.pk]), {"body": TOO_LONG_BODY})
    assert response.status_code == 400
    assert "at most 20000 characters" in response.content.decode()
    assert thread.posts.count() == 1


def test_a_too_long_preview_is_refused_without_rendering(client, forum):
    client.force_login(forum.alice)
    response = preview(client, forum, TOO_LONG_BODY)
    assert response.status_code == 400
    assert response.content.decode() == services.TOO_LONG.format(limit=20_000, length=20_001)


def test_previews_are_limited_per_user_and_minute(client, forum):
    client.force_login(forum.alice)
    answers = [preview(client, forum).status_code for _ in range(RENDERS_PER_MINUTE)]
    assert answers == [200] * RENDERS_PER_MINUTE
    refused = preview(client, forum)
    assert refused.status_code == 429 and refused.content.decode() == SLOW_DOWN_RENDERING
    client.force_login(forum.bob)  # another student is not slowed down by the first
    assert preview(client, forum).status_code == 200


def test_edits_share_the_limit_and_a_refused_edit_changes_nothing(client, forum):
    thread = services.start_thread(user=forum.alice, board=forum.board, title="Mine", body="First words")
    post = thread.posts.get()
    client.force_login(forum.alice)
    for _ in range(RENDERS_PER_MINUTE):
        assert preview(client, forum).status_code == 200
    response = client.post(reverse("forum:edit_post", args=[forum.course.slug, post.pk]), {"body": "Changed"})
    assert response.status_code == 429
    assert SLOW_DOWN_RENDERING in response.content.decode()
    post.refresh_from_db()
    assert post.body == "First words"
    # Opening the edit page is no rendering and stays allowed.
    assert client.get(reverse("forum:edit_post", args=[forum.course.slug, post.pk])).status_code == 200
