from dataclasses import dataclass

from adminsortable2.admin import CustomInlineFormSet, SortableAdminBase, SortableStackedInline, SortableTabularInline
from django import forms
from django.conf import settings
from django.contrib import admin
from django.contrib.admin.widgets import AdminFileWidget
from django.db.models import Count, Max, Q
from django.urls import reverse
from django.utils import timezone
from django.utils.html import format_html

from .models import Choice, Course, FAQEntry, Lesson, LessonProgress, Question, Quiz, QuizAttempt, Resource, Section

# Form errors in place of the database's IntegrityError (the admin must never lose what was typed).
SLUG_TAKEN = "The course {course} already has a lesson with the slug {slug!r}; choose another."
SLUG_TWICE = "Two lessons here have the slug {slug!r}; give each its own."
SECTION_SLUGS_TAKEN = "{course} already has lessons with the slugs {slugs}: rename them before moving this section."
QUIZ_NEEDS_QUESTIONS = "A published quiz needs at least one question: add one, or untick “published”."
QUESTION_NEEDS_CHOICES = (
    "Question {number} has {choices} choice(s) and {correct} marked correct: a published quiz's questions need at "
    "least 2 choices and at least 1 correct. Untick “published”, save, add the choices on the question's page "
    "(its “Change” link), then publish."
)
CHOICES_NEEDED = (
    "This question is in a published quiz, so it needs at least 2 choices and at least 1 marked correct "
    "(now {choices} and {correct})."
)
CHANGE_NOTE_NEEDED = "Say what changed: students read this note next to the “Updated” mark and in their release digest."


class SectionChoiceField(forms.ModelChoiceField):
    """Sections named with their course: many courses have a section called "Introduction"."""

    def label_from_instance(self, obj):
        return f"{obj.course} – {obj}"


def lesson_slug_error(*, section, slug, lesson_pk=None) -> str | None:
    """Return why this slug cannot be the lesson's in the section's course, or None."""
    if section is None or not slug:
        return None
    clash = Lesson.objects.filter(course_id=section.course_id, slug=slug)
    if lesson_pk is not None:
        clash = clash.exclude(pk=lesson_pk)
    if clash.exists():
        return SLUG_TAKEN.format(course=section.course, slug=slug)
    return None


class LessonForm(forms.ModelForm):
    """The lesson's slug is unique in its course, which is no form field: checked here, not left to the database."""

    def clean(self):
        cleaned = super().clean()
        error = lesson_slug_error(section=cleaned.get("section"), slug=cleaned.get("slug"), lesson_pk=self.instance.pk)
        if error and "slug" not in self.errors:
            self.add_error("slug", error)
        return cleaned


class LessonChangeForm(LessonForm):
    """The lesson's own page: it can also mark the lesson as updated for students, with a note of what changed."""

    mark_updated = forms.BooleanField(
        label="Mark as updated for students",
        required=False,
        help_text="Students see “Updated” and the note on their course home, and the next release digest tells them.",
    )

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        if "change_note" in self.fields:
            self.fields["change_note"].widget.attrs.update(size=80, style="width: min(100%, 40em)")

    def clean(self):
        cleaned = super().clean()
        if cleaned.get("mark_updated") and not (cleaned.get("change_note") or "").strip():
            self.add_error("change_note", CHANGE_NOTE_NEEDED)
        return cleaned


class LessonInlineFormSet(CustomInlineFormSet):
    """The lessons of a section: two rows with one slug are refused too (each row checks the database)."""

    def clean(self):
        super().clean()
        seen = set()
        for form in self.forms:
            if not hasattr(form, "cleaned_data") or self._should_delete_form(form) or "slug" in form.errors:
                continue
            slug = form.cleaned_data.get("slug")
            if slug and slug in seen:
                form.add_error("slug", SLUG_TWICE.format(slug=slug))
            seen.add(slug)


class SectionForm(forms.ModelForm):
    """A section moved to another course takes its lessons along: their slugs must be free there."""

    def clean(self):
        cleaned = super().clean()
        course = cleaned.get("course")
        if course is not None and self.instance.pk and course.pk != self.instance.course_id:
            slugs = set(self.instance.lessons.values_list("slug", flat=True))
            taken = sorted(Lesson.objects.filter(course=course, slug__in=slugs).values_list("slug", flat=True))
            if taken:
                self.add_error("course", SECTION_SLUGS_TAKEN.format(course=course, slugs=", ".join(taken)))
        return cleaned


class SectionInline(SortableTabularInline):
    model = Section
    fields = ["order", "title", "summary"]
    extra = 0
    show_change_link = True


class FAQInline(SortableStackedInline):
    model = FAQEntry
    fields = ["order", "question", "answer"]
    extra = 0


@dataclass(frozen=True)
class _Picture:
    name: str
    url: str

    def __str__(self):
        return self.name


class PictureInput(AdminFileWidget):
    """The admin's file input for a course picture: the current one shown small and linked at its page address.

    Stored files are private (no media URL); pictures are served by courses.views.course_picture instead.
    """

    picture_url = ""

    def format_value(self, value):
        value = super().format_value(value)
        return _Picture(name=str(value), url=self.picture_url) if value and self.picture_url else value

    def render(self, name, value, attrs=None, renderer=None):
        html = super().render(name, value, attrs, renderer)
        if not (value and self.picture_url):
            return html
        preview = format_html(
            '<img src="{}" alt="" style="display:block; max-width:240px; max-height:160px; height:auto; '
            'margin-bottom:.5rem; border-radius:4px">',
            self.picture_url,
        )
        return preview + html


@admin.register(Course)
class CourseAdmin(SortableAdminBase, admin.ModelAdmin):
    list_display = ["title", "slug", "is_published", "section_count", "lesson_count"]
    list_editable = ["is_published"]
    list_filter = ["is_published"]
    search_fields = ["title", "tagline"]
    prepopulated_fields = {"slug": ["title"]}
    inlines = [SectionInline, FAQInline]

    def get_queryset(self, request):
        return super().get_queryset(request).annotate(
            n_sections=Count("sections", distinct=True), n_lessons=Count("lessons", distinct=True)
        )

    def get_form(self, request, obj=None, change=False, **kwargs):
        form = super().get_form(request, obj, change=change, **kwargs)
        for field, kind in (("image", "image"), ("instructor_photo", "instructor")):
            if field in form.base_fields:
                widget = PictureInput()
                widget.picture_url = obj.picture_url(kind) if obj else ""
                form.base_fields[field].widget = widget
        if "image_alt" in form.base_fields:
            form.base_fields["image_alt"].widget.attrs.update(style="width: min(100%, 40em)")
        return form

    @admin.display(description="sections", ordering="n_sections")
    def section_count(self, course):
        return course.n_sections

    @admin.display(description="lessons", ordering="n_lessons")
    def lesson_count(self, course):
        return course.n_lessons


class NameSiteZone:
    """Say in which zone a lesson's release time of day is read."""

    def formfield_for_dbfield(self, db_field, request, **kwargs):
        formfield = super().formfield_for_dbfield(db_field, request, **kwargs)
        if db_field.name == "release_time":
            formfield.help_text = f"In {settings.TIME_ZONE}, the site's zone; empty: the time of day the run starts."
        return formfield


class LessonInline(NameSiteZone, SortableTabularInline):
    model = Lesson
    form = LessonForm
    formset = LessonInlineFormSet
    fields = ["order", "title", "slug", "video_minutes", "release_after_days", "release_time", "is_free_preview"]
    prepopulated_fields = {"slug": ["title"]}
    extra = 0
    show_change_link = True


@admin.register(Section)
class SectionAdmin(SortableAdminBase, admin.ModelAdmin):
    list_display = ["title", "course", "order", "quiz_link"]
    list_filter = ["course"]
    list_select_related = ["course", "quiz"]
    exclude = ["order"]  # set by dragging the sections on the course page
    readonly_fields = ["quiz_link"]
    form = SectionForm
    search_fields = ["title", "summary"]
    inlines = [LessonInline]

    @admin.display(description="quiz")
    def quiz_link(self, section):
        """Link to the section's quiz, or to adding one."""
        if not section.pk:
            return "Save the section first."
        quiz = getattr(section, "quiz", None)
        if quiz is None:
            url = reverse("admin:courses_quiz_add") + f"?section={section.pk}"
            return format_html('<a href="{}">Add a quiz</a>', url)
        url = reverse("admin:courses_quiz_change", args=[quiz.pk])
        state = "published" if quiz.is_published else "not published"
        return format_html('<a href="{}">{}</a> ({})', url, quiz.title, state)


class ResourceInline(SortableStackedInline):
    model = Resource
    fields = ["order", "title", "url", "file", "note"]
    extra = 0


@admin.register(Lesson)
class LessonAdmin(NameSiteZone, SortableAdminBase, admin.ModelAdmin):
    form = LessonChangeForm
    list_display = ["title", "section", "course", "release_after_days", "is_free_preview", "video_minutes"]
    list_filter = ["course", "section", "is_free_preview"]
    list_select_related = ["section", "course"]
    search_fields = ["title", "slug", "body"]
    prepopulated_fields = {"slug": ["title"]}
    inlines = [ResourceInline]
    fieldsets = [
        (None, {"fields": ["section", "title", "slug", "estimated_minutes", "is_free_preview"]}),
        (
            "Release",
            {
                "fields": [("release_after_days", "release_time")],
                "description": "Relative to each run's start; a run can set its own date (Runs → a run).",
            },
        ),
        ("Video", {"fields": ["video_url", "video_file", "video_minutes", "captions", "transcript"]}),
        ("Text", {"fields": ["body"]}),
        (
            "Updates for students",
            {
                "fields": ["mark_updated", "change_note", "content_updated_at"],
                "description": "Changed what students already saw? Tick the box and say what changed.",
            },
        ),
    ]
    readonly_fields = ["content_updated_at"]

    def get_fieldsets(self, request, obj=None):
        fieldsets = super().get_fieldsets(request, obj)
        return fieldsets if obj is not None else fieldsets[:-1]  # a new lesson is new, not updated

    def save_model(self, request, obj, form, change):
        if not change or "section" in form.changed_data:  # a new lesson, or one moved: last in its section
            obj.order = (Lesson.objects.filter(section=obj.section).aggregate(last=Max("order"))["last"] or 0) + 1
        if change and form.cleaned_data.get("mark_updated"):
            obj.content_updated_at = timezone.now()
        super().save_model(request, obj, form, change)

    def formfield_for_foreignkey(self, db_field, request, **kwargs):
        if db_field.name == "section":
            kwargs["form_class"] = SectionChoiceField
            kwargs["queryset"] = Section.objects.select_related("course").order_by("course__title", "order", "id")
        return super().formfield_for_foreignkey(db_field, request, **kwargs)


@admin.register(LessonProgress)
class LessonProgressAdmin(admin.ModelAdmin):
    list_display = ["user", "lesson", "completed_at", "video_position", "furthest_position", "updated_at"]
    list_filter = ["lesson__course", ("completed_at", admin.EmptyFieldListFilter)]
    list_select_related = ["user", "lesson"]
    search_fields = ["user__email", "lesson__title"]
    raw_id_fields = ["user", "lesson"]
    date_hierarchy = "updated_at"


# --- section quizzes ---


def _live_forms(formset):
    """The forms of an inline that will be saved: filled in (or existing) and not ticked for deletion."""
    return [
        form
        for form in formset.forms
        if hasattr(form, "cleaned_data")
        and not formset._should_delete_form(form)
        and (form.instance.pk or form.has_changed())
    ]


class QuestionInlineFormSet(CustomInlineFormSet):
    """A published quiz needs a question, and each question 2 choices and a correct one (nothing saved if not)."""

    def clean(self):
        super().clean()
        if not self.instance.is_published or any(self.errors):
            return
        live = _live_forms(self)
        if not live:
            raise forms.ValidationError(QUIZ_NEEDS_QUESTIONS)
        saved = [form.instance.pk for form in live if form.instance.pk]
        counts = {
            row["pk"]: row
            for row in Question.objects.filter(pk__in=saved)
            .annotate(choices_n=Count("choices"), correct_n=Count("choices", filter=Q(choices__is_correct=True)))
            .values("pk", "choices_n", "correct_n")
        }
        problems = []
        for number, form in enumerate(live, start=1):
            row = counts.get(form.instance.pk, {"choices_n": 0, "correct_n": 0})
            if row["choices_n"] < 2 or row["correct_n"] < 1:
                problems.append(QUESTION_NEEDS_CHOICES.format(number=number, choices=row["choices_n"],
                                                              correct=row["correct_n"]))  # fmt: skip
        if problems:
            raise forms.ValidationError(problems)


class QuestionInline(SortableStackedInline):
    model = Question
    formset = QuestionInlineFormSet
    fields = ["order", "text", "explanation", "choice_summary"]
    readonly_fields = ["choice_summary"]
    extra = 0
    show_change_link = True

    @admin.display(description="choices")
    def choice_summary(self, question):
        if not question.pk:
            return "Save the quiz, then add the choices on the question's page."
        choices = list(question.choices.all())
        correct = sum(1 for choice in choices if choice.is_correct)
        url = reverse("admin:courses_question_change", args=[question.pk])
        return format_html('{} choice(s), {} correct · <a href="{}">edit the choices</a>', len(choices), correct, url)

    def get_queryset(self, request):
        return super().get_queryset(request).prefetch_related("choices")


class QuizForm(forms.ModelForm):
    class Meta:
        model = Quiz
        fields = ["section", "title", "intro", "pass_percent", "is_published"]


@admin.register(Quiz)
class QuizAdmin(SortableAdminBase, admin.ModelAdmin):
    form = QuizForm
    list_display = ["title", "section", "course", "is_published", "pass_percent", "question_count", "attempt_count"]
    list_filter = ["is_published", "section__course"]
    list_select_related = ["section__course"]
    search_fields = ["title", "section__title"]
    inlines = [QuestionInline]
    fieldsets = [
        (None, {"fields": ["section", "title", "intro", "pass_percent"]}),
        (
            "Publishing",
            {
                "fields": ["is_published"],
                "description": "Students see the quiz once it is published, after the section's last lesson opens "
                "for them. Publish only when every question has its choices and at least one correct answer.",
            },
        ),
    ]

    def get_queryset(self, request):
        return super().get_queryset(request).annotate(
            n_questions=Count("questions", distinct=True), n_attempts=Count("attempts", distinct=True)
        )

    @admin.display(description="course", ordering="section__course__title")
    def course(self, quiz):
        return quiz.section.course

    @admin.display(description="questions", ordering="n_questions")
    def question_count(self, quiz):
        return quiz.n_questions

    @admin.display(description="attempts", ordering="n_attempts")
    def attempt_count(self, quiz):
        return quiz.n_attempts

    def formfield_for_foreignkey(self, db_field, request, **kwargs):
        if db_field.name == "section":
            kwargs["form_class"] = SectionChoiceField
            kwargs["queryset"] = Section.objects.select_related("course").order_by("course__title", "order", "id")
        return super().formfield_for_foreignkey(db_field, request, **kwargs)


class ChoiceInlineFormSet(CustomInlineFormSet):
    def clean(self):
        super().clean()
        quiz = self.instance.quiz if self.instance.quiz_id else None
        if quiz is None or not quiz.is_published or any(self.errors):
            return
        live = _live_forms(self)
        correct = sum(1 for form in live if form.cleaned_data.get("is_correct"))
        if len(live) < 2 or correct < 1:
            raise forms.ValidationError(CHOICES_NEEDED.format(choices=len(live), correct=correct))


class ChoiceInline(SortableTabularInline):
    model = Choice
    formset = ChoiceInlineFormSet
    fields = ["order", "text", "is_correct"]
    extra = 3


@admin.register(Question)
class QuestionAdmin(SortableAdminBase, admin.ModelAdmin):
    list_display = ["__str__", "quiz", "order"]
    list_filter = ["quiz__section__course", "quiz"]
    list_select_related = ["quiz__section"]
    search_fields = ["text", "explanation"]
    fields = ["quiz", "text", "explanation"]
    inlines = [ChoiceInline]

    def save_model(self, request, obj, form, change):
        if not change or "quiz" in form.changed_data:  # new, or moved: last in its quiz
            obj.order = (Question.objects.filter(quiz=obj.quiz).aggregate(last=Max("order"))["last"] or 0) + 1
        super().save_model(request, obj, form, change)


@admin.register(QuizAttempt)
class QuizAttemptAdmin(admin.ModelAdmin):
    """Attempts as students submitted them: read only (scored on the server when they arrived)."""

    list_display = ["user", "quiz", "score_percent", "passed", "submitted_at"]
    list_filter = ["passed", "quiz__section__course", "quiz"]
    list_select_related = ["user", "quiz__section"]
    search_fields = ["user__email"]
    date_hierarchy = "submitted_at"

    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False
