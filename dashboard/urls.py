from django.urls import path

from . import views

app_name = "dashboard"

urlpatterns = [
    path("", views.index, name="index"),
    path("runs/<slug:run_slug>/", views.students, name="students"),
    path("runs/<slug:run_slug>/students.csv", views.students_csv, name="students_csv"),
    path("runs/<slug:run_slug>/extend/", views.extend, name="extend"),
    path("runs/<slug:run_slug>/students/<int:pk>/", views.student, name="student"),
    path("runs/<slug:run_slug>/lessons/", views.lessons, name="lessons"),
    path("runs/<slug:run_slug>/activity/", views.activity, name="activity"),
    path("runs/<slug:run_slug>/quizzes/", views.quizzes, name="quizzes"),
    path("runs/<slug:run_slug>/quizzes/<int:quiz_id>/", views.quiz, name="quiz"),
    path("runs/<slug:run_slug>/unanswered/", views.unanswered, name="unanswered"),
]
