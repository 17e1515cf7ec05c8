from dataclasses import dataclass

from adminsortable2.admin import CustomInlineFormSet, SortableAdminBase, SortableStackedInline, SortableTabularInline
from django import forms
from django.conf import settings
from django.contrib import admin
from django.contrib.admin.widgets import AdminFileWidget
from django.db.models import Count, Max
from django.utils import timezone
from django.utils.html import format_html

from .models import Course, FAQEntry, Lesson, LessonProgress, Resource, Section

# Form errors in place of the database's IntegrityError (the admin must never lose what was typed).
SLUG_TAKEN = "The course {course} already has a lesson with the slug {slug!r}; choose another."
SLUG_TWICE = "Two lessons here have the slug {slug!r}; give each its own."
SECTION_SLUGS_TAKEN = "{course} already has lessons with the slugs {slugs}: rename them before moving this section."
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
    list_display = ["title", "course", "order"]
    list_filter = ["course"]
    exclude = ["order"]  # set by dragging the sections on the course page
    form = SectionForm
    search_fields = ["title", "summary"]
    inlines = [LessonInline]


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
