"""Announcements: written and published in the admin, shown on the course home until dismissed, emailed once.

In-process (eager Celery, locmem email); the real-worker tests are in test_announcement_delivery.py.
"""

import re
import zoneinfo
from datetime import timedelta
from html.parser import HTMLParser
from pathlib import Path

import pytest
from django.db import transaction
from django.test import Client
from django.urls import reverse
from django.utils import timezone

from courseweb.celery import app as celery_app
from enrollment import announcement_emails, announcements, course_email
from enrollment.access import CourseAccess, gives_course_home
from enrollment.models import Announcement, AnnouncementDismissal, AnnouncementEmail, Enrollment
from tests.enrollment.helpers import announcement_class
from tests.factories import AnnouncementFactory, EnrollmentFactory, RunFactory, TierFactory, UserFactory

pytestmark = pytest.mark.django_db

ADD_URL = reverse("admin:enrollment_announcement_add")
PAYLOADS_FILE = Path(__file__).resolve().parent.parent / "data" / "xss-payloads-sample.txt"


@pytest.fixture
def scene(db):
    return announcement_class()


def home_url(scene):
    return reverse("courses:home", args=[scene.course.slug])


def published(scene, *, title="Office hours move to Thursday", body="See you **Thursday** at 18:00.", run=None):
    announcement = AnnouncementFactory(run=run or scene.run, title=title, body=body)
    announcements.publish(announcement=announcement)
    return announcement


def home_as(client, user, scene):
    client.force_login(user)
    response = client.get(home_url(scene))
    assert response.status_code == 200
    return response.content.decode()


def emailed(mailoutbox):
    return sorted(address for message in mailoutbox for address in message.to)


# ---------------------------------------------------------------------------------------------------------
# The admin


def test_the_instructor_saves_a_draft_then_publishes_it_through_the_admin_forms(
    scene, client, mailoutbox, django_capture_on_commit_callbacks
):
    client.force_login(scene.staff)
    form = {"run": scene.run.pk, "title": "Office hours\nmove to Thursday", "body": "See you **Thursday**."}

    with django_capture_on_commit_callbacks(execute=True):
        response = client.post(ADD_URL, {**form, "_save": "Save"})
    assert response.status_code == 302
    draft = Announcement.objects.get()
    assert draft.title == "Office hours move to Thursday"  # one line
    assert draft.body_html == "<p>See you <strong>Thursday</strong>.</p>"
    assert (draft.published_at, draft.author) == (None, scene.staff)
    assert not AnnouncementEmail.objects.exists() and mailoutbox == []
    assert "Office hours move to Thursday" not in home_as(Client(), scene.current, scene)  # a draft shows nowhere

    change_url = reverse("admin:enrollment_announcement_change", args=[draft.pk])
    page = client.get(change_url).content.decode()
    assert 'name="_publish"' in page and "(1 now)" in page  # only `current` would be emailed today

    with django_capture_on_commit_callbacks(execute=True):
        response = client.post(change_url, {**form, "title": "Office hours move to Thursday", "_publish": "1"},
                               follow=True)  # fmt: skip
    assert "will get it by email" in response.content.decode()
    draft.refresh_from_db()
    assert draft.published_at is not None
    assert emailed(mailoutbox) == ["current@example.com"]
    assert "Office hours move to Thursday" in home_as(Client(), scene.current, scene)

    # Published: the form offers no second publishing, and saving again emails nobody again.
    page = client.get(change_url).content.decode()
    assert 'name="_publish"' not in page and "nobody is emailed again" in page
    with django_capture_on_commit_callbacks(execute=True):
        client.post(change_url, {"title": "Office hours move to Thursday!", "body": "Typo fixed.", "_publish": "1"})
    draft.refresh_from_db()
    assert (draft.title, draft.run) == ("Office hours move to Thursday!", scene.run)
    assert len(mailoutbox) == 1


def test_the_admin_form_refuses_a_missing_title_or_run_and_saves_nothing(scene, client):
    client.force_login(scene.staff)

    response = client.post(ADD_URL, {"run": "", "title": " ", "body": "Hello", "_publish": "1"})

    assert response.status_code == 200 and b"This field is required." in response.content
    assert not Announcement.objects.exists()


def test_the_list_action_publishes_drafts_once(scene, client, mailoutbox, django_capture_on_commit_callbacks):
    client.force_login(scene.staff)
    drafts = [AnnouncementFactory(run=scene.run), AnnouncementFactory(run=scene.other_run)]
    changelist = reverse("admin:enrollment_announcement_changelist")
    data = {"action": "publish_selected", "_selected_action": [d.pk for d in drafts]}

    with django_capture_on_commit_callbacks(execute=True):
        response = client.post(changelist, data, follow=True)
    assert response.content.decode().count("will get it by email") == 2
    assert emailed(mailoutbox) == ["current@example.com", "other@example.com"]

    with django_capture_on_commit_callbacks(execute=True):
        response = client.post(changelist, data, follow=True)
    assert "nobody was emailed again" in response.content.decode()
    assert len(mailoutbox) == 2
    assert "Published" in client.get(changelist).content.decode()


def test_publishing_rolled_back_queues_and_sends_nothing(scene, mailoutbox, django_capture_on_commit_callbacks):
    announcement = AnnouncementFactory(run=scene.run)

    with django_capture_on_commit_callbacks(execute=True), pytest.raises(RuntimeError):
        with transaction.atomic():
            announcements.publish(announcement=announcement)
            raise RuntimeError("the admin's save failed")

    announcement.refresh_from_db()
    assert announcement.published_at is None
    assert not AnnouncementEmail.objects.exists() and mailoutbox == []


# ---------------------------------------------------------------------------------------------------------
# The course home


def test_the_course_home_shows_it_to_the_runs_students_and_staff_only(scene, client):
    published(scene, title="Spring news")
    published(scene, title="Autumn news", run=scene.other_run)

    current = home_as(client, scene.current, scene)
    assert "Spring news" in current and "Autumn news" not in current
    assert "Announcements" in current and "See you <strong>Thursday</strong>" in current
    other = home_as(client, scene.other, scene)
    assert "Autumn news" in other and "Spring news" not in other
    staff = home_as(client, scene.staff, scene)
    assert "Spring news" in staff and "Autumn news" in staff and "To Spring cohort" in staff
    # Students the course home refuses see neither the page nor the announcement.
    for user in (scene.ended, scene.refunded, scene.cancelled):
        client.force_login(user)
        response = client.get(home_url(scene))
        assert response.status_code == 403 and b"Spring news" not in response.content


def test_a_dismissed_announcement_stays_dismissed_for_that_student_only(scene, client):
    announcement = published(scene, title="Spring news")
    classmate = EnrollmentFactory(run=scene.run, tier=scene.current.enrollments.get().tier).user
    dismiss_url = reverse("courses:announcement_dismiss", args=[scene.course.slug, announcement.pk])
    assert dismiss_url in home_as(client, scene.current, scene)

    response = client.post(dismiss_url, follow=True)

    page = response.content.decode()
    assert announcements.DISMISSED in page and "Spring news" not in page
    assert "Spring news" not in home_as(client, scene.current, scene)
    assert client.post(dismiss_url).status_code == 302  # again: nothing new
    assert AnnouncementDismissal.objects.filter(announcement=announcement).count() == 1
    assert "Spring news" in home_as(client, classmate, scene)


def test_the_pages_script_dismisses_with_json(scene, client):
    announcement = published(scene)
    client.force_login(scene.current)
    url = reverse("courses:announcement_dismiss", args=[scene.course.slug, announcement.pk])

    response = client.post(url, headers={"Accept": "application/json"})

    assert response.json() == {"dismissed": announcement.pk, "message": announcements.DISMISSED}
    assert AnnouncementDismissal.objects.filter(user=scene.current).count() == 1


def test_dismissing_needs_a_post_with_csrf_and_an_announcement_the_student_sees(scene, client):
    announcement = published(scene, run=scene.other_run)
    draft = AnnouncementFactory(run=scene.run)
    url = reverse("courses:announcement_dismiss", args=[scene.course.slug, announcement.pk])

    assert client.post(url).status_code == 302 and reverse("account_login") in client.post(url)["Location"]
    client.force_login(scene.current)
    assert client.get(url).status_code == 405
    assert client.post(url).status_code == 404  # another run's
    draft_url = reverse("courses:announcement_dismiss", args=[scene.course.slug, draft.pk])
    assert client.post(draft_url).status_code == 404
    client.force_login(scene.ended)
    assert client.post(url).status_code == 403
    strict = Client(enforce_csrf_checks=True)
    strict.force_login(scene.other)
    assert strict.post(url).status_code == 403
    assert not AnnouncementDismissal.objects.exists()


class AnnouncementBodies(HTMLParser):
    """Every start tag inside the page's announcement bodies, with its attributes (values unescaped)."""

    def __init__(self):
        super().__init__(convert_charrefs=True)
        self.depth = 0
        self.bodies = 0
        self.tags = []

    def handle_starttag(self, tag, attrs):
        if self.depth:
            self.depth += tag == "div"
            self.tags.append((tag, attrs))
        elif tag == "div" and "announcement-body" in (dict(attrs).get("class") or "").split():
            self.depth, self.bodies = 1, self.bodies + 1

    def handle_startendtag(self, tag, attrs):
        if self.depth:
            self.tags.append((tag, attrs))

    def handle_endtag(self, tag):
        if self.depth:
            self.depth -= tag == "div"


def dangerous_markup(html):
    """What a browser would run or load from the HTML: forbidden tags, handlers, styles, script URLs."""
    parser = AnnouncementBodies()
    parser.feed(f'<div class="announcement-body">{html}</div>' if "announcement-body" not in html else html)
    found = []
    for tag, attrs in parser.tags:
        if tag in {"script", "iframe", "style", "object", "embed", "form", "input", "button", "svg", "math",
                   "link", "meta", "base", "frame", "textarea", "select", "isindex"}:  # fmt: skip
            found.append(f"<{tag}>")
        for name, value in attrs:
            scheme = re.sub(r"[\x00-\x20]", "", value or "").split(":", 1)[0].lower() if ":" in (value or "") else ""
            if name.startswith("on") or name == "style" or scheme in {"javascript", "data", "vbscript"}:
                found.append(f"{tag} {name}={value}")
    return parser.bodies, found


def test_xss_payloads_in_the_body_are_sanitised_on_the_page_and_in_the_email(
    scene, client, mailoutbox, django_capture_on_commit_callbacks
):
    lines = PAYLOADS_FILE.read_text(encoding="utf-8").splitlines()
    payloads = [line for line in lines[1:] if line.strip()]
    assert len(payloads) == 50
    body = "\n\n".join(["Safe **bold** text.", *payloads, "[click](javascript:alert(1))"])
    with django_capture_on_commit_callbacks(execute=True):
        announcement = published(scene, title='<script>alert("title")</script>', body=body)

    assert len(dangerous_markup(body)[1]) >= 10  # the check sees the payloads as they were written
    bodies, found = dangerous_markup(announcement.body_html)
    assert found == [] and "<strong>bold</strong>" in announcement.body_html
    page = home_as(client, scene.current, scene)
    bodies, found = dangerous_markup(page)
    assert bodies == 1 and found == []
    assert "<script>alert(&quot;title&quot;)" not in page and "&lt;script&gt;alert(&quot;title&quot;)" in page
    [message] = mailoutbox
    html = message.alternatives[0][0]
    assert dangerous_markup(html) == (1, []) and "<script>alert(" not in html


def test_course_access_and_the_email_audience_agree(scene):
    """gives_course_home is CourseAccess.course_home's rule for one enrollment, at every state of the class."""
    now = timezone.now()
    for user in (scene.current, scene.ended, scene.refunded, scene.cancelled, scene.other):
        enrollment = Enrollment.objects.select_related("run", "tier").get(user=user)
        for at in (now, now + timedelta(days=60), now - timedelta(days=100)):
            assert gives_course_home(enrollment, at=at) == bool(CourseAccess(user, scene.course, at=at).course_home())


# ---------------------------------------------------------------------------------------------------------
# The email


def test_only_students_with_current_access_who_did_not_opt_out_are_emailed(
    scene, mailoutbox, django_capture_on_commit_callbacks
):
    with django_capture_on_commit_callbacks(execute=True):
        announcement = published(scene)

    assert emailed(mailoutbox) == ["current@example.com"]
    assert list(AnnouncementEmail.objects.values_list("enrollment__user__email", "status")) == [
        ("current@example.com", "sent")
    ]
    # A student who enrols after the publishing sees it on the course home, but is not emailed.
    late = EnrollmentFactory(run=scene.run, tier=scene.current.enrollments.get().tier).user
    announcement_emails.deliver_left_over(now=timezone.now() + timedelta(hours=1))
    assert len(mailoutbox) == 1
    assert announcement.title in home_as(Client(), late, scene)


def test_the_email_is_the_announcement_in_the_students_zone_with_a_one_click_unsubscribe(
    scene, mailoutbox, django_capture_on_commit_callbacks
):
    with django_capture_on_commit_callbacks(execute=True):
        announcement = published(scene, title="Office hours move to Thursday")
    [message] = mailoutbox

    assert message.subject == "WebRTC in practice: Office hours move to Thursday"
    assert "See you **Thursday** at 18:00." in message.body  # the text part: the Markdown as written
    html = message.alternatives[0][0]
    assert "See you <strong>Thursday</strong> at 18:00." in html
    local = timezone.localtime(announcement.published_at, zoneinfo.ZoneInfo("America/Los_Angeles"))
    assert f"{local:%H:%M} (America/Los_Angeles)" in message.body
    unsubscribe = course_email.unsubscribe_url(scene.current, course_email.Kind.ANNOUNCEMENTS)
    assert message.extra_headers["List-Unsubscribe"] == f"<{unsubscribe}>"
    assert message.extra_headers["List-Unsubscribe-Post"] == "List-Unsubscribe=One-Click"
    assert unsubscribe in message.body and unsubscribe in html
    row = AnnouncementEmail.objects.select_related("announcement__run__course", "enrollment__user").get()
    # Rendered again (a retry), it is the same message.
    assert message.extra_headers["Message-ID"] == announcement_emails.build_message(row).extra_headers["Message-ID"]


def test_a_student_who_opts_out_or_loses_access_before_delivery_is_skipped(scene, mailoutbox):
    classmates = [EnrollmentFactory(run=scene.run, tier=scene.current.enrollments.get().tier) for _ in range(3)]
    announcement = AnnouncementFactory(run=scene.run)
    # Queued with the publishing; its task does not run (the test's transaction never commits): delivered by hand.
    announcements.publish(announcement=announcement)
    assert AnnouncementEmail.objects.count() == 4
    course_email.set_wanted(user=classmates[0].user, kind=course_email.Kind.ANNOUNCEMENTS, wanted=False)
    Enrollment.objects.filter(pk=classmates[1].pk).update(status=Enrollment.Status.REFUNDED)

    announcement_emails.deliver_announcement(announcement_id=announcement.pk)

    assert emailed(mailoutbox) == sorted(["current@example.com", classmates[2].user.email])
    statuses = dict(AnnouncementEmail.objects.values_list("enrollment_id", "status"))
    assert (statuses[classmates[0].pk], statuses[classmates[1].pk]) == ("skipped", "skipped")


def test_the_beat_sweep_sends_what_a_task_left_once_its_task_had_time(scene, mailoutbox):
    announcement = AnnouncementFactory(run=scene.run, published_at=timezone.now())
    announcement_emails.queue(announcement=announcement)  # queued, its task never ran (a dead worker)

    assert announcement_emails.deliver_left_over() == 0
    later = timezone.now() + announcement_emails.SWEEP_AFTER + timedelta(seconds=1)
    assert announcement_emails.deliver_left_over(now=later) == 1
    assert announcement_emails.deliver_left_over(now=later) == 0
    assert emailed(mailoutbox) == ["current@example.com"]
    entry = celery_app.conf.beat_schedule["send-left-over-announcement-emails"]
    assert (entry["task"], entry["schedule"]) == ("enrollment.tasks.send_left_over_announcement_emails", 60.0)


def test_a_run_of_another_course_is_not_the_audience(scene):
    stranger_run = RunFactory()
    EnrollmentFactory(run=stranger_run, tier=TierFactory(run=stranger_run), user=UserFactory())
    announcement = AnnouncementFactory(run=scene.run, published_at=timezone.now())

    assert [e.user for e in announcement_emails.audience(announcement, at=timezone.now())] == [scene.current]


def test_an_unpublished_course_emails_nobody_its_students_cannot_see(scene, mailoutbox):
    queued = AnnouncementFactory(run=scene.run)
    announcements.publish(announcement=queued)  # queued while the course was published; its task has not run
    type(scene.course).objects.filter(pk=scene.course.pk).update(is_published=False)

    announcement_emails.deliver_announcement(announcement_id=queued.pk)
    assert announcements.publish(announcement=AnnouncementFactory(run=scene.run)) == 0  # published now: queues none

    assert mailoutbox == []
    assert set(AnnouncementEmail.objects.values_list("announcement_id", "status")) == {(queued.pk, "skipped")}
