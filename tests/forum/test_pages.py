"""What the forum's pages show: order, marks, unread, edits, deletions, badges, the Q&A and the lesson page."""

from datetime import timedelta
from types import SimpleNamespace

import pytest
from django.urls import reverse
from django.utils import timezone

from forum import services
from forum.models import Board, Thread
from forum.selectors import POSTS_PER_PAGE
from tests.factories import EnrollmentFactory, LessonFactory, RunFactory, SectionFactory, StaffFactory, UserFactory

pytestmark = pytest.mark.django_db


@pytest.fixture
def forum():
    run = RunFactory()
    course = run.course
    lesson = LessonFactory(section=SectionFactory(course=course), title="Signalling basics")
    student = EnrollmentFactory(run=run, user=UserFactory(first_name="Ada", last_name="Lovelace")).user
    classmate = EnrollmentFactory(run=run, user=UserFactory(first_name="Bo", last_name="Li")).user
    staff = StaffFactory(first_name="Ines", last_name="Instructor")
    board = Board.objects.get(course=course, slug="questions")
    return SimpleNamespace(course=course, lesson=lesson, student=student, classmate=classmate, staff=staff,
                           board=board)  # fmt: skip


def board_url(f):
    return reverse("forum:board", args=[f.course.slug, f.board.slug])


def thread_url(f, thread):
    return reverse("forum:thread", args=[f.course.slug, thread.pk])


def ask(f, title, *, user=None, at=None, **kwargs):
    return services.start_thread(user=user or f.student, board=f.board, title=title, body=f"Body of {title}",
                                 now=at, **kwargs)  # fmt: skip


def test_board_lists_pinned_threads_first_and_shows_answered(client, forum):
    old = ask(forum, "Old pinned question", at=timezone.now() - timedelta(days=3))
    ask(forum, "Newest question")
    answered = ask(forum, "Answered question", user=forum.classmate)
    answer = services.reply(user=forum.staff, thread=answered, body="Here is how.")
    services.mark_answer(user=forum.classmate, thread=answered, post=answer)
    services.set_thread_flags(user=forum.staff, thread=old, pinned=True)
    client.force_login(forum.student)
    html = client.get(board_url(forum)).content.decode()
    assert html.index("Old pinned question") < html.index("Answered question") < html.index("Newest question")
    row = html[html.index("Answered question") :][:400]
    assert "Answered" in row[len("Answered question") :]


def test_index_shows_boards_with_thread_counts(client, forum):
    ask(forum, "One")
    ask(forum, "Two")
    client.force_login(forum.student)
    html = client.get(reverse("forum:index", args=[forum.course.slug])).content.decode()
    assert "Questions" in html and "Issues" in html and "Feedback" in html
    assert "2 threads" in html


def test_unread_mark_appears_for_a_new_reply_and_clears_when_opened(client, forum):
    thread = ask(forum, "Is it unread?")
    client.force_login(forum.student)
    assert "unread-mark" not in client.get(board_url(forum)).content.decode()
    services.reply(user=forum.staff, thread=thread, body="A new reply", now=timezone.now() + timedelta(seconds=5))
    html = client.get(board_url(forum)).content.decode()
    assert "unread-mark" in html and f"{thread_url(forum, thread)}?unread" in html
    client.get(thread_url(forum, thread))
    assert "unread-mark" not in client.get(board_url(forum)).content.decode()


def test_a_thread_never_opened_is_unread(client, forum):
    ask(forum, "Someone else's question", user=forum.classmate)
    client.force_login(forum.student)
    assert "unread-mark" in client.get(board_url(forum)).content.decode()


def test_opening_an_unread_thread_jumps_to_the_first_unread_post(client, forum):
    start = timezone.now() - timedelta(hours=2)
    thread = ask(forum, "A long thread", at=start)
    replies = [services.reply(user=forum.staff, thread=thread, body=f"Reply {i}", now=start + timedelta(minutes=i + 1))
               for i in range(POSTS_PER_PAGE + 5)]  # fmt: skip
    services.mark_read(user=forum.student, thread=thread, at=replies[POSTS_PER_PAGE + 1].created_at)
    client.force_login(forum.student)
    response = client.get(thread_url(forum, thread) + "?unread")
    first_unread = replies[POSTS_PER_PAGE + 2]
    assert response.status_code == 302
    assert response.url == f"{thread_url(forum, thread)}?page=2#post-{first_unread.pk}"
    assert f'id="post-{first_unread.pk}"' in client.get(response.url.split("#")[0]).content.decode()
    # forum:post goes to the same place.
    post_response = client.get(reverse("forum:post", args=[forum.course.slug, first_unread.pk]))
    assert post_response.url == response.url


def test_an_edited_post_shows_that_it_was_edited(client, forum):
    thread = ask(forum, "Typo inside")
    client.force_login(forum.student)
    post = thread.posts.get()
    response = client.post(reverse("forum:edit_post", args=[forum.course.slug, post.pk]), {"body": "Fixed **now**"})
    assert response.status_code == 302
    html = client.get(thread_url(forum, thread)).content.decode()
    assert "<strong>now</strong>" in html and "edited-mark" in html and "edited <time" in html


def test_a_deleted_post_is_gone_for_students_and_marked_for_staff(client, forum):
    thread = ask(forum, "Delete test")
    reply = services.reply(user=forum.classmate, thread=thread, body="I regret this reply")
    client.force_login(forum.classmate)
    client.post(reverse("forum:delete_post", args=[forum.course.slug, reply.pk]))
    client.force_login(forum.student)
    assert "I regret this reply" not in client.get(thread_url(forum, thread)).content.decode()
    assert client.get(reverse("forum:post", args=[forum.course.slug, reply.pk])).status_code == 404
    client.force_login(forum.staff)
    html = client.get(thread_url(forum, thread)).content.decode()
    assert "I regret this reply" in html and "Deleted by author" in html


def test_staff_posts_carry_the_instructor_badge_and_names_not_emails(client, forum):
    thread = ask(forum, "Badge?")
    services.reply(user=forum.staff, thread=thread, body="Staff reply")
    client.force_login(forum.student)
    html = client.get(thread_url(forum, thread)).content.decode()
    assert html.count("instructor-badge") == 1
    assert "Ines Instructor" in html and "Ada Lovelace" in html
    assert forum.staff.email not in html and forum.student.email not in html


def test_fenced_code_renders_as_a_code_block(client, forum):
    thread = services.start_thread(user=forum.student, board=forum.board, title="SDP",
                                   body="```\nv=0\no=- 4611 2 IN IP4 127.0.0.1\n<script>x</script>\n```")  # fmt: skip
    client.force_login(forum.student)
    html = client.get(thread_url(forum, thread)).content.decode()
    assert "<pre><code>v=0" in html and "&lt;script&gt;x&lt;/script&gt;" in html


def test_make_faq_adds_a_qa_entry_on_the_course_faq_page(client, forum):
    thread = ask(forum, "How do I debug ICE?")
    answer = services.reply(user=forum.staff, thread=thread, body="Open chrome://webrtc-internals.")
    client.force_login(forum.staff)
    client.post(reverse("forum:mark_answer", args=[forum.course.slug, thread.pk]), {"post_id": answer.pk})
    response = client.post(reverse("forum:make_faq", args=[forum.course.slug, thread.pk]))
    assert response.status_code == 302
    thread.refresh_from_db()
    assert thread.faq_entry is not None
    faq = client.get(reverse("courses:faq", args=[forum.course.slug])).content.decode()
    assert "How do I debug ICE?" in faq and "chrome://webrtc-internals" in faq


def test_thread_about_a_lesson_links_back_to_the_moment(client, forum):
    thread = ask(forum, "At this moment", lesson=forum.lesson, video_seconds=754)
    client.force_login(forum.student)
    html = client.get(thread_url(forum, thread)).content.decode()
    assert f'{forum.lesson.get_absolute_url()}#t=754"' in html
    assert "Signalling basics at 12:34" in html


def test_new_thread_form_takes_the_lesson_and_time_from_the_link(client, forum):
    client.force_login(forum.student)
    url = reverse("forum:new_thread", args=[forum.course.slug])
    html = client.get(f"{url}?lesson={forum.lesson.slug}&t=754").content.decode()
    assert "Signalling basics at 12:34" in html and 'name="submission_token"' in html
    response = client.post(url, {"board": forum.board.pk, "title": "From the lesson", "body": "Question",
                                 "lesson": forum.lesson.slug, "video_seconds": 754})  # fmt: skip
    thread = Thread.objects.get(title="From the lesson")
    assert response.status_code == 302 and thread.lesson == forum.lesson and thread.video_seconds == 754


def test_lesson_page_lists_its_threads_and_asks_about_the_lesson(client, forum):
    ask(forum, "About the lesson", lesson=forum.lesson)
    hidden = ask(forum, "Hidden lesson thread", lesson=forum.lesson)
    services.set_thread_flags(user=forum.staff, thread=hidden, hidden=True)
    ask(forum, "Not about the lesson")
    client.force_login(forum.student)
    html = client.get(forum.lesson.get_absolute_url()).content.decode()
    assert "About the lesson" in html
    assert "Hidden lesson thread" not in html and "Not about the lesson" not in html
    assert f"{reverse('forum:new_thread', args=[forum.course.slug])}?lesson={forum.lesson.slug}" in html


def test_lesson_page_shows_no_threads_to_a_visitor_of_a_free_preview(client, forum):
    forum.lesson.is_free_preview = True
    forum.lesson.save()
    ask(forum, "Members only thread", lesson=forum.lesson)
    html = client.get(forum.lesson.get_absolute_url()).content.decode()
    assert "Members only thread" not in html and "Ask about this lesson" not in html


def test_preview_returns_sanitised_html(client, forum):
    client.force_login(forum.student)
    response = client.post(reverse("forum:preview", args=[forum.course.slug]),
                           {"body": "**bold** <script>alert(1)</script>"})  # fmt: skip
    assert "<strong>bold</strong>" in response.content.decode()
    assert "<script" not in response.content.decode()


def test_search_finds_posts_the_user_may_see(client, forum):
    ask(forum, "Searchable", user=forum.classmate)
    client.force_login(forum.student)
    html = client.get(reverse("forum:search", args=[forum.course.slug]) + "?q=Searchable").content.decode()
    assert "Searchable" in html


def test_pagination_is_labelled_and_marks_the_current_page(client, forum):
    start = timezone.now() - timedelta(days=1)
    for i in range(30):
        Thread.objects.create(board=forum.board, title=f"T{i}", author=forum.student, last_post_at=start)
    client.force_login(forum.student)
    html = client.get(board_url(forum) + "?page=2").content.decode()
    assert 'aria-label="Thread pages"' in html and 'aria-current="page">2<' in html


@pytest.mark.parametrize("zone", ["UTC", "America/Los_Angeles", "Asia/Kolkata"])
def test_forum_times_read_as_the_site_writes_dates_in_the_viewers_zone(zone):
    import zoneinfo
    from datetime import UTC, datetime

    from django.template.defaultfilters import date
    from django.utils.timezone import localtime, override

    from forum.templatetags.forum_tags import forum_time, iso_time

    with override(zoneinfo.ZoneInfo(zone)):
        for moment in (datetime(2026, 1, 5, 7, 3, tzinfo=UTC), datetime(2027, 12, 31, 23, 59, 59, 5, tzinfo=UTC)):
            local = localtime(moment)
            assert forum_time(local) == date(local, "j M Y, H:i")
            assert iso_time(local) == date(local, "c")


def test_each_view_of_a_thread_offers_a_reply_form_with_its_own_token(client, forum):
    import re

    thread = ask(forum, "Tokens")
    client.force_login(forum.student)
    tokens = [
        re.search(
            r'name="submission_token" value="([0-9a-f-]{36})"', client.get(thread_url(forum, thread)).content.decode()
        )[1]
        for _ in range(2)
    ]
    assert tokens[0] != tokens[1]
    assert 'for="id_body"' in client.get(thread_url(forum, thread)).content.decode()
