"""The syllabus PDF is built once per version of the course, not on every anonymous request."""

from io import BytesIO

import pytest
from django.urls import reverse
from pypdf import PdfReader

from tests.factories import LessonFactory, RunFactory, SectionFactory, TierFactory

pytestmark = pytest.mark.django_db


def text_of(response):
    assert response["Content-Type"] == "application/pdf"
    return " ".join(page.extract_text() for page in PdfReader(BytesIO(response.content)).pages)


@pytest.fixture
def course():
    section = SectionFactory(title="Signalling")
    for n in range(20):
        LessonFactory(section=section, title=f"Lesson number {n}")
    run = RunFactory(course=section.course, enrollment_open=True)
    TierFactory(run=run)
    return section.course


def test_a_repeat_download_is_served_from_the_cache(client, course, django_assert_max_num_queries):
    url = reverse("courses:syllabus_pdf", args=[course.slug])
    first = client.get(url)
    assert "Lesson number 19" in text_of(first)

    with django_assert_max_num_queries(3):  # the course, the run on sale and its tiers; no lessons or dates
        again = client.get(url)

    assert again.content == first.content


def test_a_change_in_the_admin_shows_in_the_next_download(client, course):
    url = reverse("courses:syllabus_pdf", args=[course.slug])
    client.get(url)
    lesson = course.lessons.get(title="Lesson number 3")

    lesson.title = "TURN servers in depth"
    lesson.save()
    assert "TURN servers in depth" in text_of(client.get(url))

    section = course.sections.get()
    section.title = "Signalling and NAT"
    section.save()
    assert "Signalling and NAT" in text_of(client.get(url))

    lesson.delete()
    assert "TURN servers in depth" not in text_of(client.get(url))
