from adminsortable2.admin import SortableAdminMixin
from django.contrib import admin

from courses.markdown import render_markdown

from .models import Board, ForumSettings, Post, Subscription, Thread


@admin.register(Board)
class BoardAdmin(SortableAdminMixin, admin.ModelAdmin):
    list_display = ["title", "course", "slug", "description"]
    list_filter = ["course"]
    prepopulated_fields = {"slug": ["title"]}


class PostInline(admin.StackedInline):
    model = Post
    fields = ["author", "body", "created_at", "edited_at", "is_hidden", "deleted_at"]
    readonly_fields = ["author", "created_at", "edited_at", "deleted_at"]
    extra = 0


@admin.register(Thread)
class ThreadAdmin(admin.ModelAdmin):
    list_display = ["title", "board", "author", "reply_count", "last_post_at", "is_pinned", "is_locked", "is_hidden",
                    "is_answered"]  # fmt: skip
    list_filter = ["course", "board", "is_pinned", "is_locked", "is_hidden"]
    list_select_related = ["board", "author"]
    search_fields = ["title", "posts__body"]
    raw_id_fields = ["lesson", "answer", "faq_entry"]
    readonly_fields = ["author", "created_at", "last_post_at", "reply_count"]
    inlines = [PostInline]

    @admin.display(boolean=True, description="answered")
    def is_answered(self, thread):
        return thread.answer_id is not None

    def save_formset(self, request, form, formset, change):
        if formset.model is Post:
            for post_form in formset.forms:
                if "body" in post_form.changed_data:
                    # Pages show body_html: render it from the new text, as services.edit_post does.
                    post_form.instance.body_html = render_markdown(post_form.instance.body)
        super().save_formset(request, form, formset, change)


@admin.register(ForumSettings)
class ForumSettingsAdmin(admin.ModelAdmin):
    list_display = ["user", "email_mode", "last_digest_at"]
    list_filter = ["email_mode"]
    search_fields = ["user__email"]


@admin.register(Subscription)
class SubscriptionAdmin(admin.ModelAdmin):
    list_display = ["user", "thread", "is_active", "notified_since_read"]
    list_filter = ["is_active"]
    search_fields = ["user__email", "thread__title"]
    raw_id_fields = ["user", "thread"]
