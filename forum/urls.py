from django.urls import path

from . import views

app_name = "forum"

urlpatterns = [
    path("", views.index, name="index"),
    path("new/", views.new_thread, name="new_thread"),
    path("preview/", views.preview, name="preview"),
    path("search/", views.search, name="search"),
    path("boards/<slug:board_slug>/", views.board, name="board"),
    path("threads/<int:pk>/", views.thread, name="thread"),
    path("threads/<int:pk>/reply/", views.reply, name="reply"),
    path("threads/<int:pk>/answer/", views.mark_answer, name="mark_answer"),
    path("threads/<int:pk>/flags/", views.thread_flags, name="thread_flags"),
    path("threads/<int:pk>/subscribe/", views.subscribe, name="subscribe"),
    path("threads/<int:pk>/faq/", views.make_faq, name="make_faq"),
    path("posts/<int:pk>/", views.post, name="post"),
    path("posts/<int:pk>/edit/", views.edit_post, name="edit_post"),
    path("posts/<int:pk>/delete/", views.delete_post, name="delete_post"),
    path("posts/<int:pk>/hide/", views.hide_post, name="hide_post"),
]
