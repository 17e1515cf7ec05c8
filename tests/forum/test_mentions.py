"""@mentions: a member's handle is their first and last name, letters and digits only, any case.

In-process: Celery eager (tests/conftest.py), the locmem outbox.
"""

import pytest

from forum import notifications
from forum.models import Mention
from forum.services import mark_read, reply, set_email_mode, start_thread
from tests.forum.helpers import Forum

pytestmark = pytest.mark.django_db


@pytest.fixture
def thread(forum, post_now, mailoutbox):
    """A thread alice started, and no email left in the outbox (the instructor, told of it, has not read it)."""
    thread = post_now(start_thread, user=forum.alice, board=forum.board, title="ICE fails", body="Behind NAT.")
    mailoutbox.clear()
    return thread


def addresses(outbox):
    return sorted(message.to[0] for message in outbox)


def test_a_handle_is_the_first_and_last_name_letters_and_digits_only(forum):
    forum.bob.first_name, forum.bob.last_name = "Anne-Marie", "O'Brien 2nd"

    assert notifications.mention_handle(forum.alice) == "AliceSmith"
    assert notifications.mention_handle(forum.bob) == "AnneMarieOBrien2nd"
    forum.bob.first_name = forum.bob.last_name = ""
    assert notifications.mention_handle(forum.bob) == ""


def test_handles_in_code_and_email_addresses_are_not_mentions():
    body = (
        "Thanks @AliceSmith and @bobjones!\n\n"
        "```css\n@media (max-width: 600px) { @CarolWhite }\n```\n"
        "Inline `@DanBrown` and mail eve@AdaTeacher.example.com."
    )

    assert notifications.mentioned_handles(body) == {"alicesmith", "bobjones"}


def test_a_mentioned_member_is_emailed_once_without_following_the_thread(forum, thread, post_now, mailoutbox):
    post = post_now(reply, user=forum.alice, thread=thread, body="@bobjones did you see this with TURN?")

    assert addresses(mailoutbox) == ["bob@example.com"]
    message = mailoutbox[0]
    assert message.subject == "Alice Smith mentioned you in “ICE fails”"
    assert "alice@example.com" not in message.body and "@bobjones did you see" in message.body
    assert message.extra_headers["List-Unsubscribe-Post"] == "List-Unsubscribe=One-Click"
    mention = Mention.objects.get(post=post)
    assert mention.user == forum.bob and mention.notified_at is not None

    assert notifications.notify_new_post(post_id=post.pk) == 0  # a retry tells nobody again
    assert len(mailoutbox) == 1 and Mention.objects.filter(post=post).count() == 1


def test_a_following_member_who_is_mentioned_gets_one_email(forum, thread, post_now, mailoutbox):
    post_now(reply, user=forum.bob, thread=thread, body="Try a TURN server.")
    mark_read(user=forum.alice, thread=thread)
    mailoutbox.clear()

    post_now(reply, user=forum.bob, thread=thread, body="@AliceSmith @alicesmith did it work?")

    assert addresses(mailoutbox) == ["alice@example.com"]
    assert mailoutbox[0].subject.startswith("Bob Jones mentioned you")


def test_the_instructor_can_be_mentioned(forum, thread, post_now, mailoutbox):
    post_now(reply, user=forum.alice, thread=thread, body="@AdaTeacher could you look?")

    assert addresses(mailoutbox) == ["teacher@example.com"]


def test_people_outside_the_forum_are_not_mentioned(forum, thread, post_now, mailoutbox):
    body = "@EdExpired @OlgaOut @NoSuchPerson @AliceSmith"  # expired, other course, unknown, the author

    post = post_now(reply, user=forum.alice, thread=thread, body=body)

    assert mailoutbox == []
    assert not Mention.objects.filter(post=post).exists()


def test_a_handle_two_members_share_mentions_neither(forum, thread, post_now, mailoutbox):
    twin = Forum.student("twin@example.com", "Bob", "Jones", forum.run)

    post = post_now(reply, user=forum.alice, thread=thread, body="@BobJones?")

    assert mailoutbox == [] and not Mention.objects.filter(post=post).exists()
    assert twin.pk != forum.bob.pk


def test_no_forum_email_means_no_mention_email_and_digest_mode_still_gets_one(forum, thread, post_now, mailoutbox):
    set_email_mode(user=forum.bob, mode="none")
    set_email_mode(user=forum.carol, mode="digest")

    post_now(reply, user=forum.alice, thread=thread, body="@BobJones and @CarolWhite, thoughts?")

    assert addresses(mailoutbox) == ["carol@example.com"]  # a mention is personal: it does not wait for the digest


def test_a_post_notifies_at_most_ten_mentioned_people_the_first_named(forum, thread, post_now, mailoutbox):
    classmates = [Forum.student(f"m{i}@example.com", "Member", f"Number{i}", forum.run) for i in range(15)]
    body = " ".join(f"@MemberNumber{i}" for i in range(15)) + " please all look"

    post = post_now(reply, user=forum.alice, thread=thread, body=body)

    named_first = sorted(user.email for user in classmates[: notifications.MAX_MENTIONS_PER_POST])
    assert notifications.MAX_MENTIONS_PER_POST == 10
    assert sorted(m.user.email for m in Mention.objects.filter(post=post).select_related("user")) == named_first
    assert addresses(mailoutbox) == named_first
