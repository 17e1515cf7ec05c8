"""Video: privacy-friendly embeds, transcripts, the HTML5 player and byte ranges for uploaded files."""

import pytest
from django.core.files.base import ContentFile
from django.urls import reverse

from courses.video import Embed, TranscriptLine, embed_for, parse_transcript
from tests.factories import LessonFactory

NOCOOKIE = "https://www.youtube-nocookie.com/embed/dQw4w9WgXcQ?rel=0"


@pytest.mark.parametrize(
    "url",
    [
        "https://www.youtube.com/watch?v=dQw4w9WgXcQ",
        "https://youtube.com/watch?v=dQw4w9WgXcQ&t=10s",
        "https://m.youtube.com/watch?feature=share&v=dQw4w9WgXcQ",
        "https://youtu.be/dQw4w9WgXcQ",
        "https://youtu.be/dQw4w9WgXcQ?si=abc",
        "https://www.youtube.com/shorts/dQw4w9WgXcQ",
        "https://www.youtube.com/embed/dQw4w9WgXcQ",
        "https://www.youtube.com/live/dQw4w9WgXcQ",
    ],
)
def test_youtube_urls_become_nocookie_embeds(url):
    assert embed_for(url) == Embed("youtube", NOCOOKIE)


def test_youtube_embed_starts_at_the_given_second():
    assert embed_for("https://youtu.be/dQw4w9WgXcQ", start=95) == Embed("youtube", NOCOOKIE + "&start=95")


@pytest.mark.parametrize(
    "url",
    [
        "https://vimeo.com/76979871",
        "https://www.vimeo.com/76979871",
        "https://vimeo.com/channels/staffpicks/76979871",
        "https://player.vimeo.com/video/76979871",
    ],
)
def test_vimeo_urls_become_player_embeds_without_tracking(url):
    assert embed_for(url) == Embed("vimeo", "https://player.vimeo.com/video/76979871?dnt=1")


def test_vimeo_embed_starts_at_the_given_second():
    assert (
        embed_for("https://vimeo.com/76979871", start=30).url == "https://player.vimeo.com/video/76979871?dnt=1#t=30s"
    )


@pytest.mark.parametrize(
    "url",
    [
        "",
        "https://example.org/video.mp4",
        "https://www.youtube.com/watch",
        "https://www.youtube.com/watch?v=",
        "https://www.youtube.com/watch?v=abc%22%3E%3Cscript%3E",
        "https://www.youtube.com/watch?v=dQw4w9WgXcQ%0A",
        "https://youtube.com.evil.example/watch?v=dQw4w9WgXcQ",
        "https://evil.example/youtube.com/watch?v=dQw4w9WgXcQ",
        "https://vimeo.com/about",
        "javascript:alert(1)",
    ],
)
def test_other_urls_have_no_embed(url):
    assert embed_for(url) is None


def test_parse_transcript_reads_timestamped_lines():
    text = "00:00 Welcome.\n01:23 What we cover\nand why it matters.\n\n[1:02:03] Late part.\n  12:05   Spaced out.  "
    assert parse_transcript(text) == [
        TranscriptLine(0, "0:00", "Welcome."),
        TranscriptLine(83, "1:23", "What we cover and why it matters."),
        TranscriptLine(3723, "1:02:03", "Late part."),
        TranscriptLine(725, "12:05", "Spaced out."),
    ]


def test_parse_transcript_of_nothing_is_empty():
    assert parse_transcript("") == []
    assert parse_transcript(None) == []


def test_parse_transcript_keeps_text_before_the_first_timestamp():
    assert parse_transcript("Intro without time\n00:05 Then this") == [
        TranscriptLine(0, "0:00", "Intro without time"),
        TranscriptLine(5, "0:05", "Then this"),
    ]


def test_youtube_lesson_page_embeds_the_nocookie_player(client, log_in_student):
    lesson = LessonFactory(video_url="https://www.youtube.com/watch?v=dQw4w9WgXcQ", transcript="00:10 Hello")
    log_in_student(course=lesson.course)

    content = client.get(lesson.get_absolute_url()).content.decode()

    assert f'<iframe src="{NOCOOKIE}"' in content
    assert "www.youtube.com" not in content
    assert "<video" not in content
    assert "data-seek" not in content  # the embedded player cannot be seeked from the page


def test_vimeo_lesson_page_embeds_the_player_with_dnt(client, log_in_student):
    lesson = LessonFactory(video_url="https://vimeo.com/76979871")
    log_in_student(course=lesson.course)
    content = client.get(lesson.get_absolute_url()).content.decode()
    assert '<iframe src="https://player.vimeo.com/video/76979871?dnt=1"' in content


def test_uploaded_video_lesson_page_has_protected_video_captions_and_transcript(client, log_in_student):
    lesson = LessonFactory(
        slug="uploaded",
        video_file=ContentFile(b"not really a video", name="lesson.mp4"),
        captions=ContentFile(b"WEBVTT\n", name="lesson.vtt"),
        transcript="00:00 Welcome.\n01:23 The middle part.",
    )
    log_in_student(course=lesson.course)
    slug = lesson.course.slug

    content = client.get(lesson.get_absolute_url()).content.decode()

    assert '<video id="lesson-video"' in content
    assert f'<source src="{reverse("courses:lesson_video", args=[slug, "uploaded"])}">' in content
    assert '<track kind="captions"' in content
    assert f'src="{reverse("courses:lesson_captions", args=[slug, "uploaded"])}"' in content
    assert 'data-seek="0"' in content
    assert 'data-seek="83"' in content
    assert "The middle part." in content
    assert "/media" not in content and lesson.video_file.name not in content  # no direct file address
    assert "<iframe" not in content


def test_direct_video_url_plays_in_the_html5_player(client, log_in_student):
    lesson = LessonFactory(video_url="https://cdn.example.org/lesson.mp4")
    log_in_student(course=lesson.course)
    content = client.get(lesson.get_absolute_url()).content.decode()
    assert '<source src="https://cdn.example.org/lesson.mp4">' in content


DATA = bytes(range(256)) * 4  # 1024 bytes


@pytest.fixture
def video_lesson(db, client, log_in_student):
    lesson = LessonFactory(slug="ranged", video_file=ContentFile(DATA, name="ranged.webm"))
    log_in_student(course=lesson.course)
    return reverse("courses:lesson_video", args=[lesson.course.slug, lesson.slug])


def test_video_endpoint_serves_the_whole_file_and_accepts_ranges(client, video_lesson):
    response = client.get(video_lesson)
    assert response.status_code == 200
    assert b"".join(response.streaming_content) == DATA
    assert response["Accept-Ranges"] == "bytes"
    assert response["Content-Type"] == "video/webm"
    assert response["Cache-Control"] == "private, max-age=3600"


@pytest.mark.parametrize(
    ("header", "start", "end"),
    [("bytes=100-199", 100, 199), ("bytes=1000-", 1000, 1023), ("bytes=-24", 1000, 1023), ("bytes=0-5000", 0, 1023)],
)
def test_video_endpoint_honours_a_range_header(client, video_lesson, header, start, end):
    response = client.get(video_lesson, headers={"Range": header})
    assert response.status_code == 206
    assert response["Content-Range"] == f"bytes {start}-{end}/{len(DATA)}"
    assert response["Content-Length"] == str(end - start + 1)
    assert b"".join(response.streaming_content) == DATA[start : end + 1]
    assert response["Accept-Ranges"] == "bytes"


def test_video_endpoint_refuses_an_unsatisfiable_range(client, video_lesson):
    response = client.get(video_lesson, headers={"Range": "bytes=5000-6000"})
    assert response.status_code == 416
    assert response["Content-Range"] == f"bytes */{len(DATA)}"


def test_missing_video_file_is_404(client, log_in_student):
    lesson = LessonFactory(video_file="lessons/videos/gone.mp4")
    log_in_student(course=lesson.course)
    response = client.get(reverse("courses:lesson_video", args=[lesson.course.slug, lesson.slug]))
    assert response.status_code == 404
