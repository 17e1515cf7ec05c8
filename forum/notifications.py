"""Forum email: a new post's notifications, @mentions, the daily digest and one-click unsubscribe.

Who is emailed about a post (never its author, never anyone the access policy keeps out of the forum):
- the thread's active subscribers whose mode is "each", who have not been emailed about the thread
  since they last read it (Subscription.notified_since_read; services.mark_read resets it) and have not
  read past the post;
- for a new thread, every active staff user whose mode is "each"; staff in "each" or "digest" mode also
  follow the new thread from then on (their Subscription row is also the record that they were told);
- everyone @mentioned in the post whose mode is not "none", once per post (Mention.notified_at).

Each recipient is claimed (an UPDATE … WHERE not yet notified, or the INSERT of the staff subscription),
emailed and marked in one transaction, over one SMTP connection for the batch (courseweb.mail.Batch): a
task that runs twice (a retry, or two workers) emails nobody twice about the same post, and a failed send
rolls its claim back for the retry.

@handles: a member's first and last name, letters and digits only, compared case-insensitively
("Ada Lovelace" is @AdaLovelace, "Anne-Marie O'Brien" is @AnneMarieOBrien). Members are staff and
students the access policy lets into the course's forum; a user without a name has no handle, and a
handle two members share mentions neither. Handles come from names only, so no email address shows.
"""

import re
from datetime import timedelta

from django.core import signing
from django.core.mail import EmailMultiAlternatives
from django.db import IntegrityError, transaction
from django.db.models import Q
from django.urls import reverse
from django.utils import timezone

from accounts.models import User
from courseweb import mail
from enrollment.access import CourseAccess

from .models import ForumSettings, Mention, Post, Subscription, Thread, ThreadRead

EACH, DIGEST, NONE = ForumSettings.EmailMode.EACH, ForumSettings.EmailMode.DIGEST, ForumSettings.EmailMode.NONE
REPLY, NEW_THREAD, MENTION = "reply", "new_thread", "mention"
SUBJECTS = {
    REPLY: "New reply in “{title}”",
    NEW_THREAD: "New thread in {course}: “{title}”",
    MENTION: "{author} mentioned you in “{title}”",
}
DIGEST_SUBJECT = "Your forum digest: {count} new post{plural}"
# Digests go out at the first beat run at or after this hour of the user's own day (at most one a day).
DIGEST_LOCAL_HOUR = 7
# A user's first digest covers at most this much.
FIRST_DIGEST_SPAN = timedelta(days=1)

UNSUBSCRIBE_SALT = "forum.unsubscribe"
ALL_THREADS = "all"
INVALID_UNSUBSCRIBE_LINK = (
    "This unsubscribe link is not valid: it may have been cut short or changed. Nothing was changed. "
    "Copy the whole link from the email, or choose your forum email in your profile."
)
UNSUBSCRIBED_FROM_THREAD = "You will get no more email about “{title}”."
UNSUBSCRIBED_FROM_ALL = "You will get no more forum email."
EMAIL_MODE_SAVED = "Your email choices were saved."

# A post's notification emails that no task sent are sent by the beat sweep after this long, up to GIVE_UP_AFTER.
SWEEP_AFTER = timedelta(minutes=2)
GIVE_UP_AFTER = timedelta(days=1)

# A post notifies at most this many people by @mention (the first named): naming the whole class in one
# post would send hundreds of emails. The instructor reaches everyone with an announcement instead.
MAX_MENTIONS_PER_POST = 10
MENTION_PATTERN = re.compile(r"(?<![\w@.])@(\w+)")
# Mentions in code are not mentions: students paste logs, CSS (@media) and decorators.
FENCED_CODE = re.compile(r"^ {0,3}(`{3,}|~{3,}).*?(^ {0,3}\1|\Z)", re.MULTILINE | re.DOTALL)
INLINE_CODE = re.compile(r"`[^`\n]*`")


# --- Handles and mentions -----------------------------------------------------------------------------


def mention_handle(user) -> str:
    """Return the user's @handle without the @ ("AdaLovelace"), or "" for a user without a name."""
    return "".join(ch for ch in f"{user.first_name}{user.last_name}" if ch.isalnum())


def mentioned_handles(body: str) -> set[str]:
    """Return the lower-cased handles @mentioned in a Markdown body, outside code: the first MAX_MENTIONS_PER_POST."""
    text = INLINE_CODE.sub(" ", FENCED_CODE.sub(" ", body or ""))
    in_order = dict.fromkeys(handle.lower() for handle in MENTION_PATTERN.findall(text))
    return set(list(in_order)[:MAX_MENTIONS_PER_POST])


def resolve_mentions(*, course, body: str, at=None) -> list[User]:
    """Return the forum members of the course named by the @handles in `body` (ambiguous handles name nobody)."""
    handles = mentioned_handles(body)
    if not handles:
        return []
    candidates = (
        User.objects.filter(is_active=True)
        .filter(Q(is_staff=True) | Q(enrollments__run__course=course))
        .exclude(first_name="", last_name="")
        .distinct()
        .order_by("pk")
    )
    by_handle = {}
    for user in candidates:
        handle = mention_handle(user).lower()
        if handle in handles:
            by_handle.setdefault(handle, []).append(user)
    return [users[0] for users in by_handle.values()
            if len(users) == 1 and CourseAccess(users[0], course, at=at).forum()]  # fmt: skip


def record_mentions(post: Post, *, at=None) -> list[Mention]:
    """Record a Mention for each member the post names (not its author); idempotent."""
    users = [user for user in resolve_mentions(course=post.thread.course, body=post.body, at=at)
             if user.pk != post.author_id]  # fmt: skip
    Mention.objects.bulk_create([Mention(post=post, user=user) for user in users], ignore_conflicts=True)
    return list(Mention.objects.filter(post=post).select_related("user"))


# --- Unsubscribe links ----------------------------------------------------------------------------------


def unsubscribe_token(user, thread=None) -> str:
    """A signed token for one user: unsubscribe from one thread, or (thread None) from all forum email."""
    return mail.unsubscribe_token(salt=UNSUBSCRIBE_SALT, user_id=user.pk, t=thread.pk if thread else ALL_THREADS)


def unsubscribe_url(user, thread=None) -> str:
    return mail.absolute(reverse("forum_email:unsubscribe", args=[unsubscribe_token(user, thread)]))


def read_unsubscribe_token(token: str) -> tuple[User, Thread | None]:
    """Return the user and thread (None: all forum email) a token names; raise signing.BadSignature if invalid."""
    try:
        data = mail.read_unsubscribe_token(token, salt=UNSUBSCRIBE_SALT)
        user = User.objects.get(pk=data["u"])
        thread = None if data["t"] == ALL_THREADS else Thread.objects.get(pk=data["t"])
    except (KeyError, TypeError, ValueError, User.DoesNotExist, Thread.DoesNotExist) as error:
        raise signing.BadSignature("Unknown user or thread") from error
    return user, thread


def email_modes(user_ids) -> dict:
    """Each user's forum email mode ("each" for users who never chose)."""
    chosen = dict(ForumSettings.objects.filter(user_id__in=list(user_ids)).values_list("user_id", "email_mode"))
    return {pk: chosen.get(pk, EACH) for pk in user_ids}


# --- A new post -------------------------------------------------------------------------------------------


def notify_new_post(*, post_id: int, new_thread: bool = False, now=None) -> int:
    """Email the people a new post concerns (see the module docstring); return how many emails were sent.

    Safe to run twice: each recipient is claimed, emailed and marked in one transaction.
    Errors that may pass (SMTP down, 4xx) propagate after rolling back that recipient's claim: retry.
    """
    now = now or timezone.now()
    post = Post.objects.select_related("thread__course", "thread__board", "author").filter(pk=post_id).first()
    if post is None:
        return 0
    thread, course = post.thread, post.thread.course
    visible = post.is_visible and not thread.is_hidden  # hidden things are news to staff only

    mentions = {mention.user_id: mention.user for mention in record_mentions(post, at=now)}
    subscribers = {s.user_id: s.user for s in Subscription.objects.filter(thread=thread, is_active=True,
                                                                          notified_since_read=False)
                   .exclude(user_id=post.author_id).select_related("user")}  # fmt: skip
    # Who has read past the post has seen it (a rerun for an older post must not email later followers).
    seen = ThreadRead.objects.filter(thread=thread, user_id__in=list(subscribers), last_read_at__gte=post.created_at)
    for pk in seen.values_list("user_id", flat=True):
        del subscribers[pk]
    staff = {}
    if new_thread:
        staff = {user.pk: user for user in User.objects.filter(is_staff=True, is_active=True)
                 .exclude(pk=post.author_id).order_by("pk")}  # fmt: skip
    people = {**subscribers, **staff, **mentions}
    modes = email_modes(people)

    with mail.Batch() as batch:
        for pk, user in sorted(people.items()):
            if not user.is_active or modes[pk] == NONE:
                continue
            if not (user.is_staff or visible) or not CourseAccess(user, course, at=now).forum():
                continue
            with transaction.atomic():
                reason = _claim(user=user, post=post, mode=modes[pk], now=now, mentioned=pk in mentions,
                                subscribed=pk in subscribers, staff_new_thread=pk in staff)  # fmt: skip
                if reason is None:
                    continue
                # Not sent for good (address refused, message rejected or malformed): the claim stands.
                batch.send(build_post_message(user=user, post=post, reason=reason))
    Post.objects.filter(pk=post.pk, notified_at__isnull=True).update(notified_at=now)
    return batch.sent


def notify_left_over(*, now=None) -> int:
    """Beat job: notify about the posts whose task never ran to the end (not queued, or its worker died).

    A post is left over SWEEP_AFTER after it was written; one older than GIVE_UP_AFTER is old news and is
    only marked. Each recipient's claim makes a rerun email nobody twice.
    """
    now = now or timezone.now()
    left_over = Post.objects.filter(notified_at__isnull=True, created_at__lte=now - SWEEP_AFTER)
    left_over.filter(created_at__lt=now - GIVE_UP_AFTER).update(notified_at=now)
    sent = 0
    for post_id, thread_id in left_over.order_by("created_at", "pk").values_list("pk", "thread_id"):
        first = Post.objects.filter(thread_id=thread_id).order_by("created_at", "pk").values_list("pk", flat=True)
        sent += notify_new_post(post_id=post_id, new_thread=first.first() == post_id, now=now)
    return sent


def _claim(*, user, post, mode, now, mentioned, subscribed, staff_new_thread) -> str | None:
    """Mark what this email tells the user; return why they are emailed, or None when nothing is left to tell.

    Each mark is a conditional UPDATE (or an INSERT) that a second run, even concurrent, finds done.
    Call inside the transaction that sends the email.
    """
    reason = None
    if subscribed and mode == EACH:
        if Subscription.objects.filter(user=user, thread=post.thread, is_active=True,
                                       notified_since_read=False).update(notified_since_read=True):  # fmt: skip
            reason = REPLY
    if staff_new_thread and mode in (EACH, DIGEST):
        try:
            with transaction.atomic():
                Subscription.objects.create(user=user, thread=post.thread, notified_since_read=mode == EACH)
        except IntegrityError:
            pass  # told already (an earlier run), or following by choice
        else:
            reason = NEW_THREAD if mode == EACH else reason
    if mentioned and Mention.objects.filter(post=post, user=user, notified_at__isnull=True).update(notified_at=now):
        # One email says both; following the thread, the user has been told about it too.
        Subscription.objects.filter(user=user, thread=post.thread, is_active=True).update(notified_since_read=True)
        reason = MENTION
    return reason


def author_name(user) -> str:
    """A post author's name for email: the full name, never the address."""
    if user is None:
        return "A former member"
    return user.get_full_name() or ("The instructor" if user.is_staff else "A course member")


def _headers(list_unsubscribe_url, kind):
    return {**mail.one_click_headers(list_unsubscribe_url), "X-Courseweb-Email": kind}


def build_post_message(*, user, post: Post, reason: str) -> EmailMultiAlternatives:
    """Render the email about one post for one recipient, in their time zone, with text and HTML parts."""
    thread, course = post.thread, post.thread.course
    author = author_name(post.author)
    subject = SUBJECTS[reason].format(title=thread.title, course=course.title, author=author)
    thread_unsubscribe = unsubscribe_url(user, thread)
    all_unsubscribe = unsubscribe_url(user)
    zone = mail.recipient_zone(user)
    context = {
        "reason": reason,
        "user": user,
        "post": post,
        "thread": thread,
        "course": course,
        "author": author,
        "author_is_staff": post.author_is_staff,
        "posted_at": timezone.localtime(post.created_at, zone),
        "post_url": mail.absolute(reverse("forum:post", args=[course.slug, post.pk])),
        "thread_unsubscribe_url": thread_unsubscribe,
        "unsubscribe_all_url": all_unsubscribe,
        "settings_url": mail.absolute(reverse("forum_email:settings")),
    }
    # A mention is about the person, not the thread: its one-click link stops forum email altogether.
    one_click = all_unsubscribe if reason == MENTION else thread_unsubscribe
    return mail.render("forum_post", to=user.email, subject=subject, context=context, zone=zone,
                       headers=_headers(one_click, f"forum-{reason}:{post.pk}"))  # fmt: skip


# --- The daily digest -------------------------------------------------------------------------------------


def digest_is_due(row: ForumSettings, *, now) -> bool:
    """Due at the first run at or after DIGEST_LOCAL_HOUR of the user's day, once that day."""
    zone = mail.recipient_zone(row.user)
    local_now = now.astimezone(zone)
    if local_now.hour < DIGEST_LOCAL_HOUR:
        return False
    return row.last_digest_at is None or row.last_digest_at.astimezone(zone).date() < local_now.date()


def digest_posts(user, *, since, until):
    """New visible posts by others, in threads the user follows and may still read, thread by thread."""
    posts = (
        Post.objects.filter(thread__subscriptions__user=user, thread__subscriptions__is_active=True,
                            created_at__gt=since, created_at__lte=until, is_hidden=False, deleted_at__isnull=True,
                            thread__is_hidden=False)
        .exclude(author=user)
        .select_related("thread__course", "author")
        .order_by("thread__course__title", "thread__last_post_at", "thread_id", "created_at", "pk")
    )  # fmt: skip
    access = {}
    kept = []
    for post in posts:
        course = post.thread.course
        if course.pk not in access:
            access[course.pk] = bool(CourseAccess(user, course, at=until).forum())
        if access[course.pk]:
            kept.append(post)
    return kept


def send_digests(*, now=None) -> int:
    """Send each digest-mode user whose digest is due one email of what is new; return how many were sent.

    Each user's row is locked (SKIP LOCKED), the email sent and last_digest_at moved on in one transaction,
    so a second run the same day sends nothing. Nothing new: no email, and the next digest starts from now.
    """
    now = now or timezone.now()
    with mail.Batch() as batch:
        for row in ForumSettings.objects.filter(email_mode=DIGEST, user__is_active=True).select_related("user"):
            if not digest_is_due(row, now=now):
                continue
            with transaction.atomic():
                row = (ForumSettings.objects.select_for_update(skip_locked=True, of=("self",))
                       .select_related("user").filter(pk=row.pk, email_mode=DIGEST).first())  # fmt: skip
                if row is None or not digest_is_due(row, now=now):
                    continue
                since = row.last_digest_at or now - FIRST_DIGEST_SPAN
                posts = digest_posts(row.user, since=since, until=now)
                if posts:
                    batch.send(build_digest_message(user=row.user, posts=posts, since=since))
                row.last_digest_at = now
                row.save(update_fields=["last_digest_at"])
    return batch.sent


def build_digest_message(*, user, posts, since) -> EmailMultiAlternatives:
    subject = DIGEST_SUBJECT.format(count=len(posts), plural="" if len(posts) == 1 else "s")
    threads = []
    for post in posts:
        if not threads or threads[-1]["thread"].pk != post.thread_id:
            course = post.thread.course
            threads.append({"thread": post.thread, "course": course, "posts": [],
                            "unsubscribe_url": unsubscribe_url(user, post.thread)})  # fmt: skip
        threads[-1]["posts"].append({
            "post": post, "author": author_name(post.author),
            "url": mail.absolute(reverse("forum:post", args=[post.thread.course.slug, post.pk])),
        })  # fmt: skip
    all_unsubscribe = unsubscribe_url(user)
    zone = mail.recipient_zone(user)
    context = {
        "user": user,
        "threads": threads,
        "since": timezone.localtime(since, zone),
        "unsubscribe_all_url": all_unsubscribe,
        "settings_url": mail.absolute(reverse("forum_email:settings")),
    }
    return mail.render("forum_digest", to=user.email, subject=subject, context=context, zone=zone,
                       headers=_headers(all_unsubscribe, "forum-digest"))
