from django.contrib import admin

from .models import WeeklyPulse


@admin.register(WeeklyPulse)
class WeeklyPulseAdmin(admin.ModelAdmin):
    """Which staff member got which week's pulse (or had a quiet week skipped): read-only."""

    list_display = ["user", "week_of", "status", "sent_at"]
    list_filter = ["status"]
    list_select_related = ["user"]
    search_fields = ["user__email"]
    date_hierarchy = "week_of"

    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False
