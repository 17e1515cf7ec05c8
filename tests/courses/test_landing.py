"""The public pages: landing page, Q&A and the syllabus PDF."""

import re
from datetime import time, timedelta
from io import BytesIO

import pytest
from django.urls import reverse
from django.utils import timezone
from pypdf import PdfReader

from courses.templatetags.course_format import duration
from tests.factories import (
    CourseFactory,
    EnrollmentFactory,
    FAQEntryFactory,
    LessonFactory,
    OfficeHoursTierFactory,
    RunFactory,
    SectionFactory,
    TierFactory,
    WeeklySlotFactory,
)

pytestmark = pytest.mark.django_db

SECTIONS = [
    ("Basics of real-time media", "Why latency matters and what the browser gives you.", [4, 6]),
    ("Networking and NAT traversal", "STUN, TURN and ICE in practice.", [5, 0, 7]),
    ("Scaling with media servers", "Mesh, MCU and SFU compared.", [10]),
]


@pytest.fixture
def course():
    course = CourseFactory(
        title="Real-Time Video",
        slug="real-time-video",
        tagline="Learn the architecture.",
        description="A course about **real-time** media for product teams.",
        instructor_name="Ada Lovelace",
        contact_email="ada@example.com",
    )
    for order, (title, summary, minutes) in enumerate(SECTIONS):
        section = SectionFactory(course=course, title=title, summary=summary, order=order)
        for position, video_minutes in enumerate(minutes):
            LessonFactory(
                section=section, order=position, title=f"{title} part {position + 1}", video_minutes=video_minutes
            )
    return course


@pytest.fixture
def open_run(course):
    run = RunFactory(
        course=course, title="Spring cohort", enrollment_open=True, starts_at=timezone.now() + timedelta(days=20)
    )
    TierFactory(run=run, name="Standard access", price="240.00", currency="USD", months=2)
    OfficeHoursTierFactory(
        run=run,
        name="Office hours access",
        price="480.00",
        currency="USD",
        months=4,
        description="Everything in Standard\nLive office hours",
    )
    return run


@pytest.fixture
def closed_run(course):
    run = RunFactory(
        course=course, title="Winter cohort", enrollment_open=False, starts_at=timezone.now() - timedelta(days=3)
    )
    TierFactory(run=run, name="Closed standard tier", price="999.00", currency="EUR", months=3)
    return run


def get(client, name, course):
    response = client.get(reverse(name, args=[course.slug]))
    assert response.status_code == 200
    return response


def test_landing_page_shows_description_sections_and_totals(client, course):
    content = get(client, "courses:landing", course).content.decode()

    assert "A course about <strong>real-time</strong> media for product teams." in content
    assert "Learn the architecture." in content and "Ada Lovelace" in content
    for title, summary, _minutes in SECTIONS:
        assert title in content
        assert summary in content
    lesson_count = sum(len(minutes) for *_, minutes in SECTIONS)
    video_minutes = sum(sum(minutes) for *_, minutes in SECTIONS)
    assert f"3 sections · {lesson_count} lessons · {duration(video_minutes)} of video" in content
    assert reverse("courses:syllabus_pdf", args=[course.slug]) in content


def test_landing_page_offers_the_open_runs_tiers_with_price_and_months(client, course, open_run, closed_run):
    content = get(client, "courses:landing", course).content.decode()

    assert "Spring cohort" in content
    assert "Standard access" in content and "240.00 USD" in content and "2 months of access" in content
    assert "Office hours access" in content and "480.00 USD" in content and "4 months of access" in content
    assert "Live office hours" in content


def test_closed_runs_tiers_are_not_offered(client, course, open_run, closed_run):
    content = get(client, "courses:landing", course).content.decode()
    assert "Winter cohort" not in content
    assert "Closed standard tier" not in content
    assert "999.00" not in content
    assert "3 months of access" not in content


def test_landing_page_without_an_open_run_says_enrolment_is_closed(client, course, closed_run):
    content = get(client, "courses:landing", course).content.decode()
    assert "Enrolment is closed for now." in content
    assert "Closed standard tier" not in content
    assert "mailto:ada@example.com" in content


def test_landing_page_links_free_preview_lessons_only(client, course):
    preview = course.lessons.first()
    preview.is_free_preview = True
    preview.save()
    content = get(client, "courses:landing", course).content.decode()
    links = re.findall(r'href="(/courses/[^"]+/lessons/[^"]+/)"', content)
    assert links == [preview.get_absolute_url()]


def test_faq_page_lists_every_entry(client, course):
    entries = [
        FAQEntryFactory(course=course, question="Is this a one-time thing?", answer="Each run starts on a *set* date."),
        FAQEntryFactory(course=course, question="Does it include code?", answer="Only the occasional snippet."),
    ]
    FAQEntryFactory(question="A question of another course?")

    content = get(client, "courses:faq", course).content.decode()

    for entry in entries:
        assert entry.question in content
        assert f'id="faq-{entry.pk}"' in content
    assert "Each run starts on a <em>set</em> date." in content
    assert "Only the occasional snippet." in content
    assert "A question of another course" not in content
    assert content.index("Is this a one-time thing") < content.index("Does it include code")


def test_faq_page_without_entries_says_so(client, course):
    assert "No questions yet." in get(client, "courses:faq", course).content.decode()


def test_landing_page_links_to_the_faq_entries(client, course):
    entry = FAQEntryFactory(course=course, question="Who is it for?")
    content = get(client, "courses:landing", course).content.decode()
    assert f"{reverse('courses:faq', args=[course.slug])}#faq-{entry.pk}" in content


def pdf_text(response):
    reader = PdfReader(BytesIO(response.content))
    return " ".join(" ".join(page.extract_text().split()) for page in reader.pages)


def test_syllabus_pdf_lists_every_section(client, course, open_run):
    response = get(client, "courses:syllabus_pdf", course)

    assert response["Content-Type"] == "application/pdf"
    assert response["Content-Disposition"] == 'inline; filename="real-time-video-syllabus.pdf"'
    assert response.content.startswith(b"%PDF")
    text = pdf_text(response)
    assert "Real-Time Video" in text
    for number, (title, summary, _minutes) in enumerate(SECTIONS, start=1):
        assert f"{number}. {title}" in text
        assert summary in text
    assert "Basics of real-time media part 1 (4 min video)" in text
    assert "Spring cohort" in text


def test_syllabus_pdf_of_a_large_course_spans_pages(client):
    course = CourseFactory(slug="long-course")
    titles = [f"Long section number {i}" for i in range(30)]
    for order, title in enumerate(titles):
        section = SectionFactory(course=course, title=title, order=order, summary="A summary " * 20)
        LessonFactory(section=section)
    response = get(client, "courses:syllabus_pdf", course)
    assert len(PdfReader(BytesIO(response.content)).pages) > 1
    text = pdf_text(response)
    assert all(title in text for title in titles)


def test_syllabus_pdf_embeds_a_font_that_covers_the_names_people_have(client, course):
    SectionFactory(course=course, title="Łódź, Kraków, Ελληνικά, Ñoño", summary="Привет, Dvořák", order=9)
    response = get(client, "courses:syllabus_pdf", course)
    text = pdf_text(response)
    assert "Łódź, Kraków, Ελληνικά, Ñoño" in text
    assert "Привет, Dvořák" in text
    fonts = {
        str(font["/BaseFont"])
        for page in PdfReader(BytesIO(response.content)).pages
        for font in page["/Resources"]["/Font"].values()
    }
    assert fonts and all("DejaVuSans" in name for name in fonts)  # embedded subsets, no Helvetica left


def test_the_tier_card_says_when_office_hours_are_from_the_runs_slots(client, course, open_run):
    WeeklySlotFactory(run=open_run, weekday=3, local_time=time(18, 0), timezone="America/New_York")
    WeeklySlotFactory(run=open_run, weekday=0, local_time=time(8, 0), timezone="Asia/Jerusalem")
    page = get(client, "courses:landing", course).content.decode()
    assert "Office hours: Mondays 08:00 Asia/Jerusalem and Thursdays 18:00 America/New_York" in page
    assert page.count("Office hours: Mondays") == 1  # on the office-hours tier's card only
    assert "twice a week" not in page


def test_the_tier_card_says_nothing_of_office_hours_for_a_run_without_slots(client, course, open_run):
    page = get(client, "courses:landing", course).content.decode()
    assert "Office hours:" not in page and "twice a week" not in page


def test_site_root_sends_a_visitor_to_the_only_course(client, course):
    response = client.get(reverse("home"))
    assert response.status_code == 302
    assert response["Location"] == course.get_absolute_url()


def test_site_root_shows_a_student_their_courses(client, course):
    enrollment = EnrollmentFactory(run=RunFactory(course=course))
    CourseFactory()  # with two courses a visitor would get the list
    client.force_login(enrollment.user)
    response = client.get(reverse("home"))
    assert response.status_code == 200
    assert "My courses" in response.content.decode()
    assert f'href="{reverse("courses:home", args=[course.slug])}"' in response.content.decode()


def test_site_root_lists_courses_when_there_are_several(client, course):
    other = CourseFactory(title="Another course")
    content = client.get(reverse("home")).content.decode()
    assert course.title in content and other.title in content
