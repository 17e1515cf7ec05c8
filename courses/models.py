import hashlib

from django.conf import settings
from django.core.exceptions import ValidationError
from django.core.validators import FileExtensionValidator, MaxValueValidator, MinValueValidator
from django.db import models
from django.db.models import Q
from django.urls import reverse
from django.utils import timezone

from courseweb.text import one_line

from .markdown import render_markdown
from .video import embed_for, parse_transcript

IMAGE_ALT_NEEDED = "Describe the course image: screen readers read this to people who cannot see it."
RELEASE_TIME_WITHOUT_DAYS = "Give the number of days after the run's start too, or leave the time empty."


def sees_unpublished(user) -> bool:
    """Staff see every course; everyone else the published ones (the one rule, for queries and instances)."""
    return bool(user is not None and user.is_authenticated and user.is_staff)


class CourseQuerySet(models.QuerySet):
    def visible_to(self, user):
        """Return the courses this user may see at all."""
        return self if sees_unpublished(user) else self.filter(is_published=True)


class Course(models.Model):
    title = models.CharField(max_length=200)
    slug = models.SlugField(unique=True)
    tagline = models.CharField(max_length=300, blank=True)
    description = models.TextField(blank=True, help_text="Markdown. Shown on the public landing page.")
    description_html = models.TextField(blank=True, editable=False)
    instructor_name = models.CharField(max_length=200, blank=True)
    # Pictures of the landing page; their sizes are stored so that the page gives width and height
    # without opening the files (courses/views.py course_picture serves them).
    image = models.ImageField(
        "course image",
        upload_to="courses/images/",
        blank=True,
        width_field="image_width",
        height_field="image_height",
        help_text="Shown at the top of the landing page. A wide picture (16:9), 1200 px wide or more, looks best.",
    )
    image_alt = models.CharField(
        "course image description",
        max_length=250,
        blank=True,
        help_text="What the picture shows, for people who cannot see it (read by screen readers).",
    )
    image_width = models.PositiveIntegerField(null=True, blank=True, editable=False)
    image_height = models.PositiveIntegerField(null=True, blank=True, editable=False)
    instructor_photo = models.ImageField(
        upload_to="courses/instructors/",
        blank=True,
        width_field="instructor_photo_width",
        height_field="instructor_photo_height",
        help_text="A square portrait, 400 px or more, shown next to the bio on the landing page.",
    )
    instructor_photo_width = models.PositiveIntegerField(null=True, blank=True, editable=False)
    instructor_photo_height = models.PositiveIntegerField(null=True, blank=True, editable=False)
    instructor_bio = models.TextField(
        blank=True, help_text="Plain text: who teaches the course. A blank line starts a new paragraph."
    )
    contact_email = models.EmailField(blank=True, help_text="Shown to visitors who have a question.")
    is_published = models.BooleanField(
        "published", default=False, help_text="Unpublished courses are seen by staff only and sell nothing."
    )
    created_at = models.DateTimeField(default=timezone.now, editable=False)

    objects = CourseQuerySet.as_manager()

    class Meta:
        ordering = ["title"]

    def __str__(self):
        return self.title

    def save(self, *args, **kwargs):
        self.title = one_line(self.title)  # it goes into email subjects
        self.description_html = render_markdown(self.description)
        super().save(*args, **kwargs)

    def get_absolute_url(self):
        return reverse("courses:landing", args=[self.slug])

    def clean(self):
        super().clean()
        if self.image and not self.image_alt.strip():
            raise ValidationError({"image_alt": IMAGE_ALT_NEEDED})

    def is_visible_to(self, user) -> bool:
        return self.is_published or sees_unpublished(user)

    def picture_url(self, kind: str) -> str:
        """Return the address of the course image ("image") or instructor photo ("instructor"), or ""."""
        field_file, url_name = {
            "image": (self.image, "courses:course_image"),
            "instructor": (self.instructor_photo, "courses:instructor_photo"),
        }[kind]
        if not field_file:
            return ""
        # The file's name changes with each upload: it makes a new address, so browsers may cache each for long.
        version = hashlib.sha256(field_file.name.encode()).hexdigest()[:12]
        return f"{reverse(url_name, args=[self.slug])}?v={version}"

    @property
    def image_url(self) -> str:
        return self.picture_url("image")

    @property
    def instructor_photo_url(self) -> str:
        return self.picture_url("instructor")

    @property
    def instructor_photo_alt(self) -> str:
        return f"Photo of {self.instructor_name}" if self.instructor_name else "Photo of the instructor"


class Section(models.Model):
    course = models.ForeignKey(Course, on_delete=models.CASCADE, related_name="sections")
    title = models.CharField(max_length=200)
    summary = models.TextField(blank=True, help_text="Plain text. Shown in the syllabus.")
    order = models.PositiveIntegerField(default=0, db_index=True)

    class Meta:
        ordering = ["order", "id"]

    def __str__(self):
        return self.title

    def save(self, *args, **kwargs):
        super().save(*args, **kwargs)
        # Lessons carry their course for fast lookups; keep it right if a section moves.
        self.lessons.exclude(course_id=self.course_id).update(course_id=self.course_id)


class LessonQuerySet(models.QuerySet):
    def in_syllabus_order(self):
        return self.order_by("section__order", "section_id", "order", "id")


class Lesson(models.Model):
    course = models.ForeignKey(Course, on_delete=models.CASCADE, related_name="lessons", editable=False)
    section = models.ForeignKey(Section, on_delete=models.CASCADE, related_name="lessons")
    title = models.CharField(max_length=200)
    slug = models.SlugField(help_text="Part of the lesson's address; unique within the course.")
    order = models.PositiveIntegerField(default=0, db_index=True)
    video_url = models.URLField(
        blank=True, help_text="A YouTube or Vimeo link (embedded without tracking cookies) or a direct .mp4/.webm URL."
    )
    video_file = models.FileField(
        upload_to="lessons/videos/",
        blank=True,
        validators=[FileExtensionValidator(["mp4", "webm", "ogv", "m4v", "mov"])],
        help_text="Or upload the video; only students with access can load it.",
    )
    captions = models.FileField(
        upload_to="lessons/captions/",
        blank=True,
        validators=[FileExtensionValidator(["vtt"])],
        help_text="Optional WebVTT captions for an uploaded or direct video.",
    )
    transcript = models.TextField(
        blank=True, help_text='Optional. One line per passage, starting with its time: "01:23 What we cover".'
    )
    video_minutes = models.PositiveSmallIntegerField(default=0, help_text="Length of the video, for the syllabus.")
    body = models.TextField(blank=True, help_text="Markdown. Code blocks (```) keep their formatting.")
    body_html = models.TextField(blank=True, editable=False)
    estimated_minutes = models.PositiveSmallIntegerField(default=10, help_text="Time to work through the lesson.")
    # When the lesson opens is relative to each run's start (enrollment/releases.py computes it).
    release_after_days = models.PositiveSmallIntegerField(
        "opens after (days)",
        null=True,
        blank=True,
        help_text="Days after the run starts; empty: open from the run's start. A run can override it.",
    )
    release_time = models.TimeField(
        "opens at (time of day)",
        null=True,
        blank=True,
        help_text="In the site's time zone; empty: the time of day the run starts.",
    )
    is_free_preview = models.BooleanField(
        "free preview", default=False, help_text="Anyone may open it, also visitors who are not enrolled."
    )
    updated_at = models.DateTimeField(auto_now=True)
    # Set by the instructor ("mark as updated for students" in the admin), not by every save as updated_at is:
    # students see an "Updated" mark with the note, and the next release digest tells them.
    content_updated_at = models.DateTimeField(
        "marked updated for students at", null=True, blank=True, editable=False
    )
    change_note = models.CharField(
        "what changed",
        max_length=300,
        blank=True,
        help_text="One sentence for the students, shown with the “Updated” mark and in the release digest.",
    )

    objects = LessonQuerySet.as_manager()

    class Meta:
        ordering = ["order", "id"]
        constraints = [models.UniqueConstraint(fields=["course", "slug"], name="lesson_slug_unique_in_course")]

    def __str__(self):
        return self.title

    def save(self, *args, **kwargs):
        self.course_id = self.section.course_id
        self.body_html = render_markdown(self.body)
        super().save(*args, **kwargs)

    def get_absolute_url(self):
        return reverse("courses:lesson", args=[self.course.slug, self.slug])

    def clean(self):
        if self.release_time is not None and self.release_after_days is None:
            raise ValidationError({"release_after_days": RELEASE_TIME_WITHOUT_DAYS})

    def validate_constraints(self, exclude=None):
        # course is not a form field; fill it so the slug check runs in the admin too.
        if self.section_id and not self.course_id:
            self.course_id = self.section.course_id
        super().validate_constraints(exclude=exclude)

    @property
    def has_html5_video(self):
        return bool(self.video_file) or bool(self.video_url and not embed_for(self.video_url))

    def embed(self, *, start=0):
        return None if self.video_file else embed_for(self.video_url, start=int(start))

    @property
    def transcript_lines(self):
        return parse_transcript(self.transcript)


class Resource(models.Model):
    """A reading item of a lesson: a link or an uploaded file."""

    lesson = models.ForeignKey(Lesson, on_delete=models.CASCADE, related_name="resources")
    title = models.CharField(max_length=200)
    note = models.TextField(blank=True, help_text="Why it is worth reading.")
    url = models.URLField(blank=True)
    file = models.FileField(upload_to="lessons/resources/", blank=True)
    order = models.PositiveIntegerField(default=0, db_index=True)

    class Meta:
        ordering = ["order", "id"]
        constraints = [
            models.CheckConstraint(
                condition=(Q(url="") & ~Q(file="")) | (~Q(url="") & Q(file="")),
                name="resource_is_link_or_file",
                violation_error_message="Give either a link or a file, not both.",
            )
        ]

    def __str__(self):
        return self.title

    def get_absolute_url(self):
        if self.url:
            return self.url
        return reverse("courses:resource", args=[self.lesson.course.slug, self.pk])

    def clean(self):
        if bool(self.url) == bool(self.file):
            raise ValidationError("Give either a link or a file, not both.")

    @property
    def is_file(self):
        return bool(self.file)


class LessonProgress(models.Model):
    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="lesson_progress")
    lesson = models.ForeignKey(Lesson, on_delete=models.CASCADE, related_name="progress")
    completed_at = models.DateTimeField(null=True, blank=True)
    video_position = models.FloatField(default=0, help_text="Seconds into the video where the student stopped.")
    furthest_position = models.FloatField(
        default=0, help_text="The furthest point of the video the student reached, in seconds (never goes back)."
    )
    updated_at = models.DateTimeField(default=timezone.now)

    class Meta:
        verbose_name_plural = "lesson progress"
        constraints = [
            models.UniqueConstraint(fields=["user", "lesson"], name="one_progress_per_user_and_lesson"),
            models.CheckConstraint(condition=Q(video_position__gte=0), name="video_position_not_negative"),
            models.CheckConstraint(condition=Q(furthest_position__gte=0), name="furthest_position_not_negative"),
        ]
        indexes = [models.Index(fields=["user", "-updated_at"], name="progress_recent_idx")]

    def __str__(self):
        return f"{self.user} – {self.lesson}"

    @property
    def is_completed(self):
        return self.completed_at is not None


class CourseVisit(models.Model):
    """When a user last looked at a course's home, and the visit before: what is "new" on it counts from there.

    One row per user and course, written by courses.services.record_course_visit (one query a page view).
    """

    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="course_visits")
    course = models.ForeignKey(Course, on_delete=models.CASCADE, related_name="visits")
    last_seen_at = models.DateTimeField(help_text="The latest view of the course home.")
    previous_visit_at = models.DateTimeField(
        null=True, blank=True, help_text="The last view of the visit before this one: marks count from here."
    )

    class Meta:
        constraints = [models.UniqueConstraint(fields=["user", "course"], name="one_visit_per_user_and_course")]

    def __str__(self):
        return f"{self.user} – {self.course}"


class FAQEntry(models.Model):
    course = models.ForeignKey(Course, on_delete=models.CASCADE, related_name="faq_entries")
    question = models.CharField(max_length=300)
    answer = models.TextField(help_text="Markdown.")
    answer_html = models.TextField(blank=True, editable=False)
    order = models.PositiveIntegerField(default=0, db_index=True)

    class Meta:
        ordering = ["order", "id"]
        verbose_name = "FAQ entry"
        verbose_name_plural = "FAQ entries"

    def __str__(self):
        return self.question

    def save(self, *args, **kwargs):
        self.answer_html = render_markdown(self.answer)
        super().save(*args, **kwargs)


class QuizQuerySet(models.QuerySet):
    def published(self):
        return self.filter(is_published=True)


class Quiz(models.Model):
    """A section's quiz, taken after its lessons. A section has none until the instructor adds one, and
    students see it only once it is published (built in the admin first)."""

    section = models.OneToOneField(Section, on_delete=models.CASCADE, related_name="quiz")
    title = models.CharField(max_length=200, default="Section quiz")
    intro = models.TextField(blank=True, help_text="Plain text shown above the questions.")
    pass_percent = models.PositiveSmallIntegerField(
        "pass mark (%)",
        default=70,
        validators=[MinValueValidator(1), MaxValueValidator(100)],
        help_text="The share of questions answered right that passes the quiz.",
    )
    is_published = models.BooleanField(
        "published", default=False, help_text="Students see the quiz, and it counts for the certificate."
    )
    updated_at = models.DateTimeField(auto_now=True)

    objects = QuizQuerySet.as_manager()

    class Meta:
        verbose_name_plural = "quizzes"
        constraints = [
            models.CheckConstraint(
                condition=Q(pass_percent__gte=1) & Q(pass_percent__lte=100), name="quiz_pass_percent_in_range"
            )
        ]

    def __str__(self):
        return f"{self.section}: {self.title}"

    def save(self, *args, **kwargs):
        self.title = one_line(self.title)
        super().save(*args, **kwargs)


class Question(models.Model):
    """One question of a quiz: one or several of its choices are correct (the student is told which kind)."""

    quiz = models.ForeignKey(Quiz, on_delete=models.CASCADE, related_name="questions")
    text = models.TextField(help_text="Markdown.")
    text_html = models.TextField(blank=True, editable=False)
    explanation = models.TextField(blank=True, help_text="Markdown. Shown after the student submits.")
    explanation_html = models.TextField(blank=True, editable=False)
    order = models.PositiveIntegerField(default=0, db_index=True)

    class Meta:
        ordering = ["order", "id"]

    def __str__(self):
        return one_line(self.text)[:80]

    def save(self, *args, **kwargs):
        self.text_html = render_markdown(self.text)
        self.explanation_html = render_markdown(self.explanation)
        super().save(*args, **kwargs)


class Choice(models.Model):
    question = models.ForeignKey(Question, on_delete=models.CASCADE, related_name="choices")
    text = models.CharField(max_length=500)
    is_correct = models.BooleanField("correct", default=False)
    order = models.PositiveIntegerField(default=0, db_index=True)

    class Meta:
        ordering = ["order", "id"]

    def __str__(self):
        return self.text


class QuizAttempt(models.Model):
    """One submitted attempt: scored on the server when it arrives, kept as it was (best and latest are queries).

    `submission` is the id the quiz form carries: the same form posted twice records one attempt.
    """

    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="quiz_attempts")
    quiz = models.ForeignKey(Quiz, on_delete=models.CASCADE, related_name="attempts")
    submission = models.UUIDField(help_text="The id of the form that was posted.")
    answers = models.JSONField(default=dict, blank=True, help_text="Question id → the ids of the choices ticked.")
    wrong_question_ids = models.JSONField(default=list, blank=True, help_text="The questions answered wrong.")
    correct_count = models.PositiveSmallIntegerField()
    question_count = models.PositiveSmallIntegerField()
    score_percent = models.PositiveSmallIntegerField()
    passed = models.BooleanField()
    submitted_at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["-submitted_at", "-id"]
        constraints = [
            models.UniqueConstraint(fields=["user", "submission"], name="one_attempt_per_submission"),
            models.CheckConstraint(
                condition=Q(correct_count__lte=models.F("question_count")), name="attempt_score_fits"
            ),
        ]
        indexes = [models.Index(fields=["quiz", "user", "-submitted_at"], name="attempt_quiz_user_idx")]

    def __str__(self):
        return f"{self.user} – {self.quiz} – {self.score_percent}%"
