from django.conf import settings
from django.db import models
from django.urls import reverse
from django.utils import timezone

from courses.models import Course, FAQEntry, Lesson

from .permissions import may_see_hidden

DEFAULT_BOARDS = [
    ("questions", "Questions", "Ask about anything in the course."),
    ("issues", "Issues", "Something broken or unclear in a lesson? Tell us here."),
    ("feedback", "Feedback", "What works, what doesn't, what you'd like to see."),
]


class Board(models.Model):
    course = models.ForeignKey(Course, on_delete=models.CASCADE, related_name="boards")
    title = models.CharField(max_length=100)
    slug = models.SlugField()
    description = models.CharField(max_length=300, blank=True)
    order = models.PositiveIntegerField(default=0, db_index=True)

    class Meta:
        ordering = ["order", "id"]
        constraints = [models.UniqueConstraint(fields=["course", "slug"], name="board_slug_unique_in_course")]

    def __str__(self):
        return f"{self.course} – {self.title}"

    def get_absolute_url(self):
        return reverse("forum:board", args=[self.course.slug, self.slug])


class ThreadQuerySet(models.QuerySet):
    def visible_to(self, user):
        """Staff see hidden threads (marked); everyone else does not."""
        if may_see_hidden(user):
            return self
        return self.filter(is_hidden=False)


class Thread(models.Model):
    board = models.ForeignKey(Board, on_delete=models.CASCADE, related_name="threads")
    course = models.ForeignKey(Course, on_delete=models.CASCADE, related_name="threads", editable=False)
    lesson = models.ForeignKey(
        Lesson, on_delete=models.SET_NULL, null=True, blank=True, related_name="threads",
        help_text="The lesson this thread is about, if any.",
    )  # fmt: skip
    video_seconds = models.PositiveIntegerField(
        null=True, blank=True, help_text="The moment of the lesson's video the question is about."
    )
    title = models.CharField(max_length=200)
    author = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, related_name="+")
    created_at = models.DateTimeField(default=timezone.now)
    last_post_at = models.DateTimeField(default=timezone.now, db_index=True)
    reply_count = models.PositiveIntegerField(default=0, help_text="Visible replies, kept by the services.")
    is_pinned = models.BooleanField("pinned", default=False)
    is_locked = models.BooleanField("locked", default=False, help_text="No new replies.")
    is_hidden = models.BooleanField("hidden", default=False, help_text="Gone for students; staff still see it.")
    answer = models.ForeignKey(
        "Post", on_delete=models.SET_NULL, null=True, blank=True, related_name="+", help_text="The accepted answer."
    )
    faq_entry = models.ForeignKey(FAQEntry, on_delete=models.SET_NULL, null=True, blank=True, related_name="+")

    objects = ThreadQuerySet.as_manager()

    class Meta:
        ordering = ["-is_pinned", "-last_post_at", "-id"]
        indexes = [models.Index(fields=["board", "-is_pinned", "-last_post_at"], name="thread_board_list_idx")]

    def __str__(self):
        return self.title

    def save(self, *args, **kwargs):
        self.course_id = self.board.course_id
        super().save(*args, **kwargs)

    def get_absolute_url(self):
        return reverse("forum:thread", args=[self.course.slug, self.pk])

    @property
    def is_answered(self):
        return self.answer_id is not None


class PostQuerySet(models.QuerySet):
    def visible_to(self, user):
        """Staff see hidden and deleted posts (marked); everyone else sees neither."""
        if may_see_hidden(user):
            return self
        return self.filter(is_hidden=False, deleted_at__isnull=True)


class Post(models.Model):
    thread = models.ForeignKey(Thread, on_delete=models.CASCADE, related_name="posts")
    author = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, related_name="+")
    body = models.TextField(help_text="Markdown.")
    body_html = models.TextField(editable=False)
    created_at = models.DateTimeField(default=timezone.now, db_index=True)
    edited_at = models.DateTimeField(null=True, blank=True)
    is_hidden = models.BooleanField("hidden", default=False, help_text="Hidden by staff: gone for students.")
    deleted_at = models.DateTimeField(null=True, blank=True, help_text="Deleted by its author; staff still see it.")
    author_is_staff = models.BooleanField(default=False, editable=False, help_text="Shown with an instructor badge.")
    submission_token = models.UUIDField(
        null=True, blank=True, unique=True, editable=False, help_text="One form, one post: a resubmission finds it."
    )
    # The outbox mark of the post's notification emails: a post without it (its task was never queued, or died)
    # is notified by the beat sweep (forum.notifications.notify_left_over).
    notified_at = models.DateTimeField(null=True, blank=True, editable=False)

    objects = PostQuerySet.as_manager()

    class Meta:
        ordering = ["created_at", "id"]
        indexes = [models.Index(fields=["thread", "created_at"], name="post_thread_order_idx")]

    def __str__(self):
        return f"Post {self.pk} in {self.thread}"

    def get_absolute_url(self):
        return f"{reverse('forum:post', args=[self.thread.course.slug, self.pk])}"

    @property
    def is_visible(self):
        return not self.is_hidden and self.deleted_at is None


class Subscription(models.Model):
    """Who is emailed about new posts in a thread. An unsubscribed row stays, so a reply does not resubscribe."""

    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="forum_subscriptions")
    thread = models.ForeignKey(Thread, on_delete=models.CASCADE, related_name="subscriptions")
    is_active = models.BooleanField(default=True)
    # At most one email per thread until the subscriber reads it again.
    notified_since_read = models.BooleanField(default=False)
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        constraints = [models.UniqueConstraint(fields=["user", "thread"], name="one_subscription_per_user_thread")]

    def __str__(self):
        return f"{self.user} → {self.thread}"


class ThreadRead(models.Model):
    """How far a user has read a thread: posts after `last_read_at` are unread."""

    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="+")
    thread = models.ForeignKey(Thread, on_delete=models.CASCADE, related_name="reads")
    last_read_at = models.DateTimeField()

    class Meta:
        constraints = [models.UniqueConstraint(fields=["user", "thread"], name="one_read_mark_per_user_thread")]

    def __str__(self):
        return f"{self.user} read {self.thread} to {self.last_read_at:%Y-%m-%d %H:%M}"


class ForumSettings(models.Model):
    """A user's choice of forum email."""

    class EmailMode(models.TextChoices):
        EACH = "each", "An email for every new post in threads I follow"
        DIGEST = "digest", "One daily digest"
        NONE = "none", "No forum email"

    user = models.OneToOneField(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="forum_settings")
    email_mode = models.CharField(max_length=10, choices=EmailMode.choices, default=EmailMode.EACH)
    last_digest_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        verbose_name_plural = "forum settings"

    def __str__(self):
        return f"{self.user}: {self.get_email_mode_display()}"


class Mention(models.Model):
    """A course member named with @handle in a post; notified once per post."""

    post = models.ForeignKey(Post, on_delete=models.CASCADE, related_name="mentions")
    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="+")
    notified_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        constraints = [models.UniqueConstraint(fields=["post", "user"], name="one_mention_per_post_and_user")]

    def __str__(self):
        return f"@{self.user} in post {self.post_id}"
