from django.urls import path

from . import calendar_views

app_name = "calendar"

urlpatterns = [
    path("settings/", calendar_views.feed_settings, name="settings"),
    path("settings/reset/", calendar_views.reset_token, name="reset"),
    path("feed/<str:token>.ics", calendar_views.feed, name="feed"),
    path("<slug:course_slug>/sessions/<int:pk>.ics", calendar_views.session_ics, name="session_ics"),
]
