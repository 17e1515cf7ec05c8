from adminsortable2.admin import SortableAdminBase, SortableStackedInline, SortableTabularInline
from django.conf import settings
from django.contrib import admin
from django.db.models import Count

from .models import Course, FAQEntry, Lesson, LessonProgress, Resource, Section


class SectionInline(SortableTabularInline):
    model = Section
    fields = ["order", "title", "summary"]
    extra = 0
    show_change_link = True


class FAQInline(SortableStackedInline):
    model = FAQEntry
    fields = ["order", "question", "answer"]
    extra = 0


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
    fields = ["order", "title", "slug", "video_minutes", "release_after_days", "release_time", "is_free_preview"]
    prepopulated_fields = {"slug": ["title"]}
    extra = 0
    show_change_link = True


@admin.register(Section)
class SectionAdmin(SortableAdminBase, admin.ModelAdmin):
    list_display = ["title", "course", "order"]
    list_filter = ["course"]
    exclude = ["order"]  # set by dragging the sections on the course page
    search_fields = ["title", "summary"]
    inlines = [LessonInline]


class ResourceInline(SortableStackedInline):
    model = Resource
    fields = ["order", "title", "url", "file", "note"]
    extra = 0


@admin.register(Lesson)
class LessonAdmin(NameSiteZone, SortableAdminBase, admin.ModelAdmin):
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
    ]


@admin.register(LessonProgress)
class LessonProgressAdmin(admin.ModelAdmin):
    list_display = ["user", "lesson", "completed_at", "video_position", "updated_at"]
    list_filter = ["lesson__course", ("completed_at", admin.EmptyFieldListFilter)]
    list_select_related = ["user", "lesson"]
    search_fields = ["user__email", "lesson__title"]
    raw_id_fields = ["user", "lesson"]
    date_hierarchy = "updated_at"
