from django.urls import path

from . import email_views

app_name = "forum_email"

urlpatterns = [
    path("settings/", email_views.email_settings, name="settings"),
    path("unsubscribe/<str:token>/", email_views.unsubscribe, name="unsubscribe"),
]
