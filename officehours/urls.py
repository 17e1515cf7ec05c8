from django.urls import path

from . import views

app_name = "officehours"

urlpatterns = [
    path("", views.index, name="index"),
    path("sessions/<int:pk>/", views.session_detail, name="session"),
    path("sessions/<int:pk>/sign-up/", views.sign_up, name="sign_up"),
    path("sessions/<int:pk>/cancel/", views.cancel_sign_up, name="cancel_sign_up"),
    path("sessions/<int:pk>/questions/", views.ask_question, name="ask_question"),
    path("sessions/<int:pk>/run/", views.run_session, name="run_session"),
    path("questions/<int:pk>/vote/", views.vote, name="vote"),
    path("questions/<int:pk>/answered/", views.mark_answered, name="mark_answered"),
]
