from allauth.account.decorators import secure_admin_login
from django.contrib import admin
from django.urls import include, path

from accounts import views as account_views
from courses import views as course_views

admin.site.site_header = "Courseweb administration"
admin.site.site_title = "Courseweb admin"
# The admin's own login has no limit on wrong passwords: log in through allauth's, which has.
admin.site.login = secure_admin_login(admin.site.login)

urlpatterns = [
    path("", course_views.home, name="home"),
    path("healthz", course_views.healthz, name="healthz"),
    path("favicon.ico", course_views.favicon, name="favicon"),
    path("admin/", admin.site.urls),
    path("staff/", include("dashboard.urls")),
    path("accounts/profile/", account_views.profile, name="profile"),
    path("accounts/profile/timezone/", account_views.set_timezone, name="profile_timezone"),
    path("accounts/", include("allauth.urls")),
    path("courses/", include("courses.urls")),
    path("", include("enrollment.certificate_urls")),
    path("courses/<slug:slug>/forum/", include("forum.urls")),
    path("courses/<slug:slug>/office-hours/", include("officehours.urls")),
    path("courses/<slug:slug>/search/", include("search.urls")),
    path("calendar/", include("officehours.calendar_urls")),
    path("payments/", include("enrollment.urls")),
    path("forum/email/", include("forum.email_urls")),
    path("email/", include("enrollment.email_urls")),
]
