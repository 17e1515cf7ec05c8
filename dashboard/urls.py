from django.urls import path

from . import views

app_name = "dashboard"

urlpatterns = [
    path("", views.index, name="index"),
    path("runs/<slug:slug>/", views.students, name="students"),
    path("runs/<slug:slug>/students.csv", views.students_csv, name="students_csv"),
    path("runs/<slug:slug>/extend/", views.extend, name="extend"),
    path("runs/<slug:slug>/students/<int:pk>/", views.student, name="student"),
    path("runs/<slug:slug>/lessons/", views.lessons, name="lessons"),
    path("runs/<slug:slug>/activity/", views.activity, name="activity"),
    path("runs/<slug:slug>/unanswered/", views.unanswered, name="unanswered"),
]
