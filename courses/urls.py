from django.urls import path

from . import views

app_name = "courses"

urlpatterns = [
    path("<slug:slug>/", views.landing, name="landing"),
    path("<slug:slug>/faq/", views.faq, name="faq"),
    path("<slug:slug>/image/", views.course_picture, {"kind": "image"}, name="course_image"),
    path("<slug:slug>/instructor-photo/", views.course_picture, {"kind": "instructor"}, name="instructor_photo"),
    path("<slug:slug>/syllabus.pdf", views.syllabus_download, name="syllabus_pdf"),
    path("<slug:slug>/learn/", views.course_home, name="home"),
    path("<slug:slug>/learn/sections/<int:section_id>/", views.course_home_section, name="home_section"),
    path("<slug:slug>/announcements/<int:pk>/dismiss/", views.announcement_dismiss, name="announcement_dismiss"),
    path("<slug:slug>/lessons/<slug:lesson_slug>/", views.lesson_detail, name="lesson"),
    path(
        "<slug:slug>/lessons/<slug:lesson_slug>/outline/<int:section_id>/",
        views.lesson_outline_section,
        name="lesson_outline_section",
    ),
    path("<slug:slug>/lessons/<slug:lesson_slug>/complete/", views.lesson_complete, name="lesson_complete"),
    path("<slug:slug>/lessons/<slug:lesson_slug>/position/", views.lesson_position, name="lesson_position"),
    path("<slug:slug>/lessons/<slug:lesson_slug>/video/", views.lesson_media, {"kind": "video"}, name="lesson_video"),
    path(
        "<slug:slug>/lessons/<slug:lesson_slug>/captions/",
        views.lesson_media,
        {"kind": "captions"},
        name="lesson_captions",
    ),
    path("<slug:slug>/sections/<int:section_id>/quiz/", views.quiz_detail, name="quiz"),
    path("<slug:slug>/sections/<int:section_id>/quiz/attempts/<int:pk>/", views.quiz_result, name="quiz_result"),
    path("<slug:slug>/resources/<int:pk>/", views.resource_download, name="resource"),
]
