from django.urls import path

from . import certificate_views

app_name = "certificates"

urlpatterns = [
    path("courses/<slug:slug>/certificate/", certificate_views.certificate, name="mine"),
    path(
        "courses/<slug:slug>/certificate/<str:verification_id>.pdf",
        certificate_views.certificate_download,
        name="download",
    ),
    path("certificates/<str:verification_id>/", certificate_views.verify, name="verify"),
]
