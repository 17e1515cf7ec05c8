from django.contrib import admin
from django.urls import include, path

from accounts import views as account_views
from courses import views as course_views

admin.site.site_header = "Courseweb administration"
admin.site.site_title = "Courseweb admin"

urlpatterns = [
    path("", course_views.home, name="home"),
    path("healthz", course_views.healthz, name="healthz"),
    path("admin/", admin.site.urls),
    path("staff/", include("dashboard.urls")),
    path("accounts/profile/", account_views.profile, name="profile"),
    path("accounts/", include("allauth.urls")),
    path("courses/", include("courses.urls")),
    path("", include("enrollment.certificate_urls")),
    path("courses/<slug:slug>/forum/", include("forum.urls")),
    path("courses/<slug:slug>/office-hours/", include("officehours.urls")),
    path("calendar/", include("officehours.calendar_urls")),
    path("payments/", include("enrollment.urls")),
    path("forum/email/", include("forum.email_urls")),
    path("email/", include("enrollment.email_urls")),
]
