"""Course files in an S3-compatible bucket (moto's server here): uploaded through the admin, sent to a student
the policy allows as a redirect to a link signed for minutes, never a public one; seeking works on it.

moto checks neither signatures nor expiry of signed links (S3 does both); the tests assert what this site
controls: a link is made only when the policy says yes, for COURSE_FILE_LINK_SECONDS, and an unsigned
request for the object is refused.
"""

import subprocess
import sys
import time
from datetime import UTC, datetime
from urllib.parse import parse_qs, urlsplit

import pytest
import requests
from django.core.files.base import ContentFile
from django.core.files.storage import default_storage
from django.core.files.uploadedfile import SimpleUploadedFile
from django.urls import reverse

from courses.models import Lesson
from enrollment.models import Enrollment
from tests.factories import EnrollmentFactory, LessonFactory, ResourceFactory, RunFactory, SectionFactory

pytestmark = pytest.mark.django_db

DATA = bytes(range(256)) * 1200


def signed_link(response):
    assert response.status_code == 302
    link = response["Location"]
    assert response["Cache-Control"] == "private, no-store"
    return link, {key: values[0] for key, values in parse_qs(urlsplit(link).query).items()}


def test_a_video_uploaded_in_the_admin_goes_to_the_bucket(admin_client, bucket, moto):
    section = SectionFactory()
    data = {"section": section.pk, "title": "Intro", "slug": "intro", "estimated_minutes": 10, "video_url": "",
            "video_minutes": 1, "transcript": "", "body": "", "resources-TOTAL_FORMS": "0",
            "resources-INITIAL_FORMS": "0"}  # fmt: skip
    data["video_file"] = SimpleUploadedFile("intro.mp4", DATA, "video/mp4")

    response = admin_client.post(reverse("admin:courses_lesson_add"), data)

    assert response.status_code == 302
    name = Lesson.objects.get(slug="intro").video_file.name
    stored = moto.client().get_object(Bucket=bucket, Key=name)
    assert stored["Body"].read() == DATA
    assert requests.get(f"{moto.url}/{bucket}/{name}", timeout=10).status_code == 403  # never public


def test_an_allowed_student_is_sent_to_a_link_signed_for_minutes_that_seeks(client, bucket, moto):
    lesson = LessonFactory(video_file=ContentFile(DATA, name="lessons/videos/intro.mp4"))
    client.force_login(EnrollmentFactory(run=RunFactory(course=lesson.course)).user)
    url = reverse("courses:lesson_video", args=[lesson.course.slug, lesson.slug])

    link, query = signed_link(client.get(url))

    assert link.startswith(f"{moto.url}/{bucket}/lessons/videos/")
    assert query["X-Amz-Expires"] == "300"
    signed_at = datetime.strptime(query["X-Amz-Date"], "%Y%m%dT%H%M%SZ").replace(tzinfo=UTC)
    assert abs(time.time() - signed_at.timestamp()) < 60
    seek = requests.get(link, headers={"Range": "bytes=100000-100099"}, timeout=10)
    assert seek.status_code == 206 and seek.content == DATA[100000:100100]
    assert seek.headers["Content-Type"] == "video/mp4"


def test_a_refunded_student_gets_no_new_link(client, bucket):
    lesson = LessonFactory(video_file=ContentFile(DATA, name="lessons/videos/intro.mp4"))
    enrollment = EnrollmentFactory(run=RunFactory(course=lesson.course))
    client.force_login(enrollment.user)
    url = reverse("courses:lesson_video", args=[lesson.course.slug, lesson.slug])
    signed_link(client.get(url))

    Enrollment.objects.filter(pk=enrollment.pk).update(status=Enrollment.Status.REFUNDED)

    refused = client.get(url)
    assert refused.status_code == 403 and "Location" not in refused
    assert b"X-Amz" not in refused.content


def test_a_reading_file_from_the_bucket_downloads_under_its_name(client, bucket):
    resource = ResourceFactory(url="", file=ContentFile(b"%PDF-1.4 notes", name="lessons/resources/notes.pdf"))
    client.force_login(EnrollmentFactory(run=RunFactory(course=resource.lesson.course)).user)

    link, _ = signed_link(client.get(reverse("courses:resource", args=[resource.lesson.course.slug, resource.pk])))

    answer = requests.get(link, timeout=10)
    assert answer.content == b"%PDF-1.4 notes"
    assert answer.headers["Content-Disposition"].startswith("attachment; filename=")
    assert "notes" in answer.headers["Content-Disposition"]


def test_the_settings_put_course_files_in_the_bucket_from_the_environment(moto):
    show = "from django.conf import settings as s; o = s.STORAGES['default']; print(o['BACKEND'], o['OPTIONS'])"
    env = {"DJANGO_SETTINGS_MODULE": "courseweb.settings", "DEBUG": "1", **moto.environment("course-files")}
    loaded = subprocess.run([sys.executable, "-c", show], env=env, capture_output=True, text=True, check=True)
    assert loaded.stdout.startswith("storages.backends.s3.S3Storage ")
    assert eval(loaded.stdout.split(" ", 1)[1]) == moto.storage_setting("course-files")["OPTIONS"]  # noqa: S307


def test_files_saved_outside_a_request_land_in_the_bucket_too(bucket, moto):
    name = default_storage.save("lessons/videos/seed.webm", ContentFile(b"abc"))
    assert moto.client().get_object(Bucket=bucket, Key=name)["Body"].read() == b"abc"
