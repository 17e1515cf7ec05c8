"""The course admin answers every bad save with a form error and keeps what was typed; new lessons go last."""

import pytest
from django.urls import reverse

from courses.admin import SECTION_SLUGS_TAKEN, SLUG_TAKEN, SLUG_TWICE
from courses.models import Lesson, Section
from tests.factories import CourseFactory, LessonFactory, SectionFactory, StaffFactory

pytestmark = pytest.mark.django_db


@pytest.fixture
def admin_client(client):
    client.force_login(StaffFactory(is_superuser=True))
    return client


@pytest.fixture
def course():
    course = CourseFactory(title="WebRTC")
    first = SectionFactory(course=course, title="Basics", order=1)
    LessonFactory(section=first, slug="intro", title="Intro", order=1)
    LessonFactory(section=first, slug="ice", title="ICE", order=2)
    return course


def lesson_data(section, **changes):
    data = {"section": section.pk, "title": "Another intro", "slug": "intro", "estimated_minutes": 10,
            "video_url": "", "video_minutes": 0, "transcript": "", "body": "",
            "resources-TOTAL_FORMS": "0", "resources-INITIAL_FORMS": "0"}  # fmt: skip
    return data | changes


def snapshot():
    return sorted(Lesson.objects.values_list("pk", "section_id", "slug", "title", "order"))


def test_adding_a_lesson_with_a_slug_used_elsewhere_in_the_course_is_a_form_error(admin_client, course):
    other_section = SectionFactory(course=course, title="Media", order=2)
    before = snapshot()

    response = admin_client.post(reverse("admin:courses_lesson_add"), lesson_data(other_section))

    assert response.status_code == 200
    assert SLUG_TAKEN.format(course=course, slug="intro") in response.content.decode().replace("&#x27;", "'")
    assert 'value="Another intro"' in response.content.decode()  # the form keeps what was typed
    assert snapshot() == before


def test_the_same_slug_in_another_course_is_fine_and_a_new_lesson_goes_last(admin_client, course):
    section = course.sections.get()
    response = admin_client.post(reverse("admin:courses_lesson_add"), lesson_data(section, slug="new-one"))
    assert response.status_code == 302
    assert Lesson.objects.get(slug="new-one").order == 3

    elsewhere = SectionFactory(title="Elsewhere")
    assert admin_client.post(reverse("admin:courses_lesson_add"), lesson_data(elsewhere)).status_code == 302
    assert Lesson.objects.get(section=elsewhere).order == 1


def test_changing_a_lessons_slug_to_a_taken_one_is_a_form_error(admin_client, course):
    lesson = Lesson.objects.get(slug="ice")
    before = snapshot()
    data = lesson_data(lesson.section, title="ICE", slug="intro")
    response = admin_client.post(reverse("admin:courses_lesson_change", args=[lesson.pk]), data)
    assert response.status_code == 200
    assert "already has a lesson with the slug" in response.content.decode()
    assert snapshot() == before


def test_moving_a_lesson_to_a_course_where_its_slug_is_taken_is_a_form_error(admin_client, course):
    other = SectionFactory(title="Other course's section")
    lesson = LessonFactory(section=other, slug="intro")
    before = snapshot()
    data = lesson_data(course.sections.get(), title=lesson.title, slug="intro")
    response = admin_client.post(reverse("admin:courses_lesson_change", args=[lesson.pk]), data)
    assert response.status_code == 200 and "already has a lesson with the slug" in response.content.decode()
    assert snapshot() == before


def section_data(section, *rows, initial=()):
    data = {"course": section.course_id, "title": section.title, "summary": ""}
    forms = [*initial, *rows]
    data |= {"lessons-TOTAL_FORMS": str(len(forms)), "lessons-INITIAL_FORMS": str(len(initial))}
    for index, row in enumerate(forms):
        row = {"order": "", "video_minutes": 0, "release_after_days": "", "release_time": "", **row}
        data |= {f"lessons-{index}-{key}": value for key, value in row.items()}
    return data


def test_the_lessons_inline_refuses_a_slug_used_elsewhere_in_the_course(admin_client, course):
    other_section = SectionFactory(course=course, title="Media", order=2)
    before = snapshot()
    data = section_data(other_section, {"title": "Intro again", "slug": "intro"})

    response = admin_client.post(reverse("admin:courses_section_change", args=[other_section.pk]), data)

    assert response.status_code == 200
    assert SLUG_TAKEN.format(course=course, slug="intro") in response.content.decode().replace("&#x27;", "'")
    assert snapshot() == before


def test_the_lessons_inline_refuses_two_new_rows_with_one_slug(admin_client, course):
    section = SectionFactory(course=course, title="Media", order=2)
    before = snapshot()
    data = section_data(section, {"title": "A", "slug": "codecs"}, {"title": "B", "slug": "codecs"})
    response = admin_client.post(reverse("admin:courses_section_change", args=[section.pk]), data)
    assert response.status_code == 200
    assert SLUG_TWICE.format(slug="codecs") in response.content.decode().replace("&#x27;", "'")
    assert snapshot() == before


def test_lessons_added_in_the_inline_go_to_the_end_of_their_section(admin_client, course):
    section = course.sections.get()
    initial = [{"id": lesson.pk, "section": section.pk, "title": lesson.title, "slug": lesson.slug,
                "order": lesson.order} for lesson in section.lessons.all()]  # fmt: skip
    data = section_data(section, {"title": "SDP", "slug": "sdp"}, initial=initial)
    response = admin_client.post(reverse("admin:courses_section_change", args=[section.pk]), data)
    assert response.status_code == 302
    assert list(section.lessons.order_by("order").values_list("slug", flat=True)) == ["intro", "ice", "sdp"]


def test_adding_a_section_with_inline_lessons_whose_slug_is_taken_is_a_form_error(admin_client, course):
    before = snapshot()
    data = section_data(Section(course=course, title="New section"), {"title": "Intro", "slug": "intro"})
    response = admin_client.post(reverse("admin:courses_section_add"), data)
    assert response.status_code == 200 and "already has a lesson with the slug" in response.content.decode()
    assert snapshot() == before and not Section.objects.filter(title="New section").exists()


def test_moving_a_section_to_a_course_where_its_lessons_slugs_are_taken_is_a_form_error(admin_client, course):
    other = CourseFactory(title="Other")
    section = SectionFactory(course=other, title="Moving")
    LessonFactory(section=section, slug="intro")
    before = snapshot()
    data = section_data(section) | {"course": course.pk}
    response = admin_client.post(reverse("admin:courses_section_change", args=[section.pk]), data)
    assert response.status_code == 200
    assert SECTION_SLUGS_TAKEN.format(course=course, slugs="intro") in response.content.decode()
    assert snapshot() == before and Section.objects.get(pk=section.pk).course == other


def test_the_section_drop_down_names_each_sections_course(admin_client, course):
    page = admin_client.get(reverse("admin:courses_lesson_add")).content.decode()
    assert "WebRTC – Basics" in page
