"""The look of the course pages, as the server renders it: pictures set in the admin, the syllabus's sections with
their lengths, the progress chart, empty states that say what to do next, and the favicon."""

import io
import re
from datetime import timedelta

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.templatetags.static import static
from django.urls import reverse
from django.utils import timezone
from PIL import Image

from courses.models import IMAGE_ALT_NEEDED, Course, LessonProgress
from courses.templatetags.course_format import duration
from tests.factories import (
    CourseFactory,
    LessonFactory,
    QuizAttemptFactory,
    QuizFactory,
    RunFactory,
    SectionFactory,
    StaffFactory,
    TierFactory,
)

pytestmark = pytest.mark.django_db


def png(width, height, name):
    buffer = io.BytesIO()
    Image.new("RGB", (width, height), (79, 70, 229)).save(buffer, "PNG")
    return SimpleUploadedFile(name, buffer.getvalue(), content_type="image/png")


def course_form(client, **fields):
    """The admin's add-course form data: the management forms of its inlines, no sections, and `fields`."""
    page = client.get(reverse("admin:courses_course_add")).content.decode()
    data = {"title": "Pictured course", "slug": "pictured", "is_published": "on"}
    for prefix in re.findall(r'name="([\w-]+)-TOTAL_FORMS"', page):
        data |= {f"{prefix}-TOTAL_FORMS": "0", f"{prefix}-INITIAL_FORMS": "0"}
    return data | fields


@pytest.fixture
def admin_client(client):
    client.force_login(StaffFactory(is_superuser=True))
    return client


def images_of(content):
    return re.findall(r"<img [^>]*>", content)


def attribute(tag, name):
    match = re.search(rf'{name}="([^"]*)"', tag)
    return match and match.group(1)


def test_admin_uploads_a_course_image_and_instructor_photo_and_the_landing_page_shows_them_with_alt_text(
    admin_client,
):
    data = course_form(
        admin_client,
        instructor_name="Ada Lovelace",
        instructor_bio="Ada builds video products.\n\nShe teaches on weekends.",
        image=png(1600, 900, "course.png"),
        image_alt="A diagram of peers talking through a media server",
        instructor_photo=png(400, 400, "ada.png"),
    )
    response = admin_client.post(reverse("admin:courses_course_add"), data)
    assert response.status_code == 302, response.content.decode()[:3000]
    course = Course.objects.get(slug="pictured")
    assert (course.image_width, course.image_height) == (1600, 900)

    admin_client.logout()
    content = admin_client.get(course.get_absolute_url()).content.decode()
    tags = {attribute(tag, "src"): tag for tag in images_of(content)}
    image = tags[course.image_url]
    assert attribute(image, "alt") == "A diagram of peers talking through a media server"
    assert (attribute(image, "width"), attribute(image, "height")) == ("1600", "900")
    photo = next(tag for src, tag in tags.items() if src == course.instructor_photo_url and 'alt=""' not in tag)
    assert attribute(photo, "alt") == "Photo of Ada Lovelace"
    assert (attribute(photo, "width"), attribute(photo, "height")) == ("400", "400")
    assert "Your instructor" in content
    assert "<p>Ada builds video products.</p>" in content and "<p>She teaches on weekends.</p>" in content

    # Anyone may load the pictures of a published course, and browsers may keep them.
    picture = admin_client.get(course.image_url)
    assert picture.status_code == 200 and picture["Content-Type"] == "image/png"
    assert "public" in picture["Cache-Control"]
    assert Image.open(io.BytesIO(b"".join(picture.streaming_content))).size == (1600, 900)
    assert admin_client.get(course.instructor_photo_url).status_code == 200


def test_the_admin_shows_the_current_pictures_at_their_addresses(admin_client):
    course = CourseFactory(with_pictures=True)
    content = admin_client.get(reverse("admin:courses_course_change", args=[course.pk])).content.decode()
    for url in (course.image_url, course.instructor_photo_url):
        assert f'<img src="{url}"' in content and f'<a href="{url}">' in content
    assert admin_client.get(course.image_url).status_code == 200


def test_a_course_image_without_a_description_is_refused_and_saves_nothing(admin_client):
    data = course_form(admin_client, image=png(800, 450, "course.png"), image_alt="  ")
    response = admin_client.post(reverse("admin:courses_course_add"), data)
    assert response.status_code == 200
    assert IMAGE_ALT_NEEDED in response.content.decode()
    assert not Course.objects.exists()


def test_a_file_that_is_no_image_is_refused(admin_client):
    fake = SimpleUploadedFile("course.png", b"<svg onload=alert(1)>", content_type="image/png")
    data = course_form(admin_client, image=fake, image_alt="Something")
    response = admin_client.post(reverse("admin:courses_course_add"), data)
    assert response.status_code == 200
    assert "Upload a valid image" in response.content.decode()
    assert not Course.objects.exists()


def test_a_landing_page_without_pictures_or_bio_shows_no_empty_picture_or_instructor_section(client):
    course = CourseFactory(instructor_name="Ada Lovelace")
    content = client.get(course.get_absolute_url()).content.decode()
    assert all("/image/" not in tag and "/instructor-photo/" not in tag for tag in images_of(content))
    assert "Your instructor" not in content
    assert "With Ada Lovelace" in content
    assert client.get(reverse("courses:course_image", args=[course.slug])).status_code == 404
    assert client.get(reverse("courses:instructor_photo", args=[course.slug])).status_code == 404


def test_a_new_upload_gets_a_new_address(client):
    course = CourseFactory(with_pictures=True)
    before = course.image_url
    course.image = png(640, 360, "other.png")
    course.save()
    assert course.image_url != before
    assert client.get(course.image_url).status_code == 200


@pytest.mark.parametrize(("minutes", "shown"), [(0, "0 min"), (45, "45 min"), (60, "1 h"), (125, "2 h 5 min")])
def test_durations_read_as_hours_and_minutes(minutes, shown):
    assert duration(minutes) == shown


def test_each_syllabus_section_opens_and_says_its_lessons_and_times(client):
    course = CourseFactory()
    section = SectionFactory(course=course, title="Signalling", summary="How peers find each other.")
    LessonFactory(section=section, title="SDP", video_minutes=12, estimated_minutes=20)  # 20 min, 12 of video
    LessonFactory(section=section, title="ICE", video_minutes=30, estimated_minutes=10)  # never less than its video
    LessonFactory(section=section, title="Reading list", video_minutes=0, estimated_minutes=15)
    content = client.get(course.get_absolute_url()).content.decode()

    assert re.search(r'<details class="syllabus-section" open>\s*<summary>', content)
    assert "Signalling</h3>" in content
    assert "3 lessons · 42 min of video · about 1 h 5 min" in content
    assert "1 section · 3 lessons · 42 min of video · about 1 h 5 min in all" in content


def test_a_course_without_sections_says_the_syllabus_is_coming(client):
    course = CourseFactory(contact_email="ada@example.com")
    content = client.get(course.get_absolute_url()).content.decode()
    assert "The syllabus is being written." in content and "mailto:ada@example.com" in content


def test_the_phone_enrol_bar_offers_the_cheapest_open_tier(client):
    course = CourseFactory()
    run = RunFactory(course=course, enrollment_open=True, starts_at=timezone.now() + timedelta(days=9))
    TierFactory(run=run, kind="standard", price="240.00", currency="USD")
    TierFactory(run=run, kind="office-hours", includes_office_hours=True, months=4, price="480.00", currency="USD")
    content = client.get(course.get_absolute_url()).content.decode()
    bar = content[content.index('data-testid="enrol-bar"') :]
    assert "From</span><strong>240.00 USD</strong>" in bar
    assert 'href="#tiers-heading">Enrol' in bar


def test_no_enrol_bar_when_nothing_is_on_sale(client):
    course = CourseFactory()
    RunFactory(course=course, enrollment_open=False)
    assert 'data-testid="enrol-bar"' not in client.get(course.get_absolute_url()).content.decode()


@pytest.fixture
def started_course(log_in_student):
    course = CourseFactory()
    run = RunFactory(course=course, starts_at=timezone.now() - timedelta(days=2))
    first = SectionFactory(course=course, title="Basics", order=0)
    second = SectionFactory(course=course, title="Scaling", order=1)
    lessons = [LessonFactory(section=first) for _ in range(5)] + [LessonFactory(section=second) for _ in range(2)]
    student = log_in_student(run=run)
    return course, lessons, student


def test_the_course_home_charts_progress_per_section_with_each_bar_labelled(client, started_course):
    course, lessons, student = started_course
    for lesson in lessons[:3]:
        LessonProgress.objects.create(user=student, lesson=lesson, completed_at=timezone.now())
    content = client.get(reverse("courses:home", args=[course.slug])).content.decode()

    chart = content[
        content.index('data-testid="progress-chart"') : content.index("</section>", content.index("progress-chart"))
    ]
    bars = re.findall(r'<svg [^>]*role="img" aria-labelledby="([^"]+)"', chart)
    assert len(bars) == 2
    labels = []
    for ids in bars:
        labels.append(" ".join(re.search(rf'id="{i}"[^>]*>([^<]*)<', chart).group(1) for i in ids.split()))
    assert labels == ["1. Basics 3 of 5 lessons", "2. Scaling 0 of 2 lessons"]
    assert '<rect class="bar-done" width="60" height="6"/>' in chart
    assert "<title>3 of 5 lessons</title>" in chart


def test_the_chart_counts_lessons_only_when_the_sections_quiz_is_passed_too(client, started_course):
    course, lessons, student = started_course
    for lesson in lessons[5:]:  # the whole second section
        LessonProgress.objects.create(user=student, lesson=lesson, completed_at=timezone.now())
    QuizAttemptFactory(user=student, quiz=QuizFactory(section=lessons[5].section))

    content = client.get(reverse("courses:home", args=[course.slug])).content.decode()

    chart = content[content.index('data-testid="progress-chart"') :]
    assert "<title>2 of 2 lessons</title>" in chart  # the passed quiz is not a third lesson
    assert '<rect class="bar-done" width="100" height="6"/>' in chart
    assert "3 of 3 done (100%)" in content  # the section's card counts it as one more item done


def test_a_course_home_with_no_open_lesson_says_when_the_first_opens_and_what_to_do_meanwhile(
    client, log_in_student, settings
):
    settings.TIME_ZONE = "UTC"
    course = CourseFactory()
    starts = timezone.now().replace(microsecond=0) - timedelta(days=1)
    run = RunFactory(course=course, starts_at=starts)
    LessonFactory(section=SectionFactory(course=course), release_after_days=6)
    log_in_student(run=run)
    content = client.get(reverse("courses:home", args=[course.slug])).content.decode()
    opens = timezone.localtime(starts + timedelta(days=6))
    assert f"Your first lesson opens on {opens:%A} {opens.day} {opens:%B, %H:%M}." in content
    assert (
        reverse("courses:faq", args=[course.slug]) in content or reverse("forum:index", args=[course.slug]) in content
    )
    assert "Start the course" not in content


def test_a_course_home_of_a_course_without_lessons_says_so(client, log_in_student):
    course = CourseFactory()
    log_in_student(course=course)
    content = client.get(reverse("courses:home", args=[course.slug])).content.decode()
    assert "No lessons yet." in content
    assert 'data-testid="progress-chart"' not in content


def test_the_course_list_tells_visitors_and_staff_what_to_do_when_there_is_no_course(client):
    content = client.get(reverse("home")).content.decode()
    assert "No course is open yet." in content and reverse("account_login") in content
    assert reverse("admin:index") not in content

    client.force_login(StaffFactory())
    content = client.get(reverse("home")).content.decode()
    assert "No course yet." in content and reverse("admin:courses_course_add") in content


def test_every_page_names_the_favicon_and_favicon_ico_leads_to_it(client):
    content = client.get(reverse("home")).content.decode()
    assert f'<link rel="icon" href="{static("favicon.svg")}" type="image/svg+xml">' in content
    response = client.get("/favicon.ico")
    assert response.status_code == 302 and response["Location"] == static("favicon.svg")
