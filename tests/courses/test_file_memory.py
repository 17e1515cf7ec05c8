"""A byte range of a large course file is sent in chunks: the worker's memory does not grow with the range.

Every browser asks for `Range: bytes=0-` when a <video> starts, also for free-preview videos open to
anyone; reading the whole range into memory let three requests for a 2 GB lesson exhaust the machine.
"""

import tracemalloc

import pytest
from django.core.files.base import ContentFile
from django.urls import reverse

from courses.files import CHUNK_BYTES
from tests.factories import LessonFactory, ResourceFactory

pytestmark = pytest.mark.django_db

SIZE = 256 * 1024 * 1024  # a sparse file: no disk is used for its zeros


@pytest.fixture
def big_video(private_media):
    path = private_media / "lessons" / "videos" / "big.mp4"
    path.parent.mkdir(parents=True)
    with open(path, "wb") as handle:
        handle.truncate(SIZE)
    return "lessons/videos/big.mp4"


def read_in_chunks(response):
    """Consume the answer as a WSGI server would; return (bytes sent, largest chunk, peak memory)."""
    tracemalloc.start()
    sent = largest = 0
    try:
        for chunk in response.streaming_content:
            sent += len(chunk)
            largest = max(largest, len(chunk))
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
        response.close()
    return sent, largest, peak


def test_an_open_ended_range_of_a_large_free_preview_video_streams_in_bounded_memory(client, big_video):
    lesson = LessonFactory(is_free_preview=True, video_file=big_video)
    url = reverse("courses:lesson_video", args=[lesson.course.slug, lesson.slug])

    response = client.get(url, headers={"Range": "bytes=0-"})  # a visitor: no login for a free preview

    assert response.status_code == 206
    assert response.streaming
    assert response["Content-Range"] == f"bytes 0-{SIZE - 1}/{SIZE}"
    sent, largest, peak = read_in_chunks(response)
    assert sent == SIZE
    assert largest <= CHUNK_BYTES
    assert peak < 4 * 1024 * 1024  # a few chunks, not the 256 MB range


def test_a_range_of_a_reading_file_keeps_its_download_name(client, log_in_student):
    resource = ResourceFactory(url="", file=ContentFile(b"0123456789", name="notes.pdf"))
    log_in_student(course=resource.lesson.course)
    url = reverse("courses:resource", args=[resource.lesson.course.slug, resource.pk])
    response = client.get(url, headers={"Range": "bytes=2-5"})
    assert response.status_code == 206
    assert b"".join(response.streaming_content) == b"2345"
    assert response["Content-Disposition"] == 'attachment; filename="notes.pdf"'
