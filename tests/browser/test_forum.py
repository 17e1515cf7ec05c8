"""The forum in a real browser: ask about a moment of a lesson's video, get an answer; accessible, phone-sized."""

import pytest
from playwright.sync_api import expect

from forum import services
from forum.models import Board, Thread
from tests.factories import StaffFactory

from .helpers import DEMO_SLUG, seek_video, video_time, wait_for_video_metadata
from .test_accessibility import PHONE_WIDTH, axe_findings, horizontal_overflow

pytestmark = pytest.mark.browser

LONG_CODE = "```\n" + "a=candidate:1 1 udp 2122260223 192.168.1.10 54321 typ host generation 0 " * 6 + "\n```"


def test_student_asks_about_a_lesson_and_sees_the_instructors_answer(live_server, page, log_in, video_lesson):
    lesson, student = video_lesson.lesson, video_lesson.student
    instructor = StaffFactory(first_name="Ines", last_name="Instructor")
    course = lesson.course

    # The student pauses the video at 0:34 and asks about that moment.
    log_in(student)
    page.goto(video_lesson.url)
    wait_for_video_metadata(page)
    seek_video(page, 34)
    page.get_by_role("link", name="Ask about this lesson").click()
    page.wait_for_url(f"**/courses/{course.slug}/forum/new/?lesson={lesson.slug}&t=34")
    expect(page.locator(".thread-lesson")).to_contain_text(f"{lesson.title} at 0:34")
    page.get_by_label("Board").select_option(label="Questions")
    page.get_by_label("Title").fill("Why does the picture freeze here?")
    page.get_by_label("Your question or message").fill("At this point my video freezes.\n\n```\nice failed\n```")
    page.get_by_role("button", name="Preview").click()
    expect(page.locator(".preview-output pre")).to_contain_text("ice failed")
    page.get_by_role("button", name="Post thread").click()
    expect(page.get_by_role("heading", level=1)).to_have_text("Why does the picture freeze here?")
    thread = Thread.objects.get(title="Why does the picture freeze here?")
    assert thread.lesson == lesson and thread.video_seconds == 34
    back = page.get_by_role("link", name=f"{lesson.title} at 0:34")
    assert back.get_attribute("href").endswith(f"{lesson.get_absolute_url()}#t=34")

    # The link back opens the lesson at that moment.
    back.click()
    wait_for_video_metadata(page)
    page.wait_for_function("document.getElementById('lesson-video').currentTime > 30")
    assert abs(video_time(page) - 34) < 1
    expect(page.locator(".lesson-forum")).to_contain_text("Why does the picture freeze here?")

    # The instructor replies and marks the reply as the answer.
    log_in(instructor)
    page.goto(f"{live_server.url}/courses/{course.slug}/forum/boards/questions/")
    page.get_by_role("link", name="Why does the picture freeze here?").click()
    page.get_by_label("Your reply").fill("Your TURN server is unreachable: check the credentials.")
    page.get_by_role("button", name="Post reply").click()
    reply = page.locator("article.forum-post", has_text="Your TURN server is unreachable")
    expect(reply.locator(".instructor-badge")).to_be_visible()
    reply.get_by_role("button", name="Mark as answer").click()
    expect(page.locator("article.is-answer")).to_contain_text("Your TURN server is unreachable")

    # The student sees the thread unread and answered; opening it shows the answer and clears the mark.
    log_in(student)
    page.goto(f"{live_server.url}/courses/{course.slug}/forum/boards/questions/")
    row = page.locator(".forum-thread", has_text="Why does the picture freeze here?")
    expect(row.locator(".unread-mark")).to_be_visible()
    expect(row.locator(".answered-mark")).to_be_visible()
    row.get_by_role("link", name="Why does the picture freeze here?").click()
    expect(page.locator("article.is-answer")).to_contain_text("Your TURN server is unreachable")
    expect(page.locator("article.is-answer .instructor-badge")).to_be_visible()
    assert "#post-" in page.url
    page.goto(f"{live_server.url}/courses/{course.slug}/forum/boards/questions/")
    row = page.locator(".forum-thread", has_text="Why does the picture freeze here?")
    expect(row.locator(".unread-mark")).to_have_count(0)


def forum_pages(demo):
    board = Board.objects.get(course=demo.course, slug="questions")
    thread = services.start_thread(user=demo.student, board=board, title="Logs attached", body=LONG_CODE)
    answer = services.reply(user=demo.instructor, thread=thread, body="Thanks, **looking** at it.")
    services.mark_answer(user=demo.instructor, thread=thread, post=answer)
    base = f"/courses/{DEMO_SLUG}/forum/"
    return {
        "forum index": base,
        "board": f"{base}boards/questions/",
        "thread": f"{base}threads/{thread.pk}/",
        "new thread": f"{base}new/?lesson=webrtc-apis&t=754",
        "search": f"{base}search/?q=candidate",
    }


def test_forum_pages_have_no_serious_accessibility_violations(live_server, page, demo, log_in):
    paths = forum_pages(demo)
    problems = {}
    log_in(demo.student)
    for name, path in paths.items():
        page.goto(live_server.url + path)
        found = axe_findings(page)
        if found:
            problems[name] = found
    # Staff see more: the moderation buttons and hidden or deleted posts, marked.
    thread = Thread.objects.get(title="Logs attached")
    hidden = services.reply(user=demo.student, thread=thread, body="Spam")
    services.set_post_hidden(user=demo.instructor, post=hidden, hidden=True)
    log_in(demo.instructor)
    page.goto(live_server.url + paths["thread"])
    found = axe_findings(page)
    if found:
        problems["thread, as staff"] = found
    assert not problems, f"axe-core found serious or critical violations: {problems}"


def test_forum_pages_fit_a_phone_without_sideways_scrolling(live_server, page, demo, log_in):
    page.set_viewport_size({"width": PHONE_WIDTH, "height": 740})
    log_in(demo.student)
    problems = {}
    for name, path in forum_pages(demo).items():
        page.goto(live_server.url + path)
        found = (horizontal_overflow(page) or []) + axe_findings(page)
        if found:
            problems[name] = found
    assert not problems, f"at {PHONE_WIDTH} px: {problems}"
