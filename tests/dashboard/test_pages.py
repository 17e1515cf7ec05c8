"""The dashboard's pages as the instructor uses them: the CSV is the filtered table, extensions from the table and
from a student's page, the student's page, the unanswered queue and the links from the admin."""

import csv
import io
import re
from datetime import timedelta

import pytest
from django.core import mail
from django.urls import reverse
from django.utils import timezone

from dashboard.views import NOBODY_CHOSEN, PER_PAGE
from enrollment.admin import EXTENDED
from enrollment.models import Enrollment, Extension, SentEmail
from enrollment.services import EXTEND_NOT_LATER, EXTEND_TO_THE_PAST
from forum.models import Thread
from officehours.models import Session
from tests.factories import (
    AnnouncementEmailFactory,
    AnnouncementFactory,
    PostFactory,
    QuestionFactory,
    RegistrationFactory,
    ReminderFactory,
    RunFactory,
    SentEmailFactory,
    SessionFactory,
    StaffFactory,
    ThreadFactory,
    enrolled_students,
)

pytestmark = pytest.mark.django_db


@pytest.fixture
def staff_client(client, klass):
    client.force_login(klass.staff)
    return client


def table_rows(html):
    """The students table as lists of cell texts (the checkbox column left out)."""
    body = html.split("<tbody>", 1)[1].split("</tbody>", 1)[0]
    rows = []
    for row in re.findall(r"<tr[^>]*>(.*?)</tr>", body, re.S):
        cells = re.findall(r"<t[hd][^>]*>(.*?)</t[hd]>", row, re.S)
        rows.append([re.sub(r"<[^>]+>", "", cell).strip() for cell in cells[1:]])
    return rows


def csv_rows(response):
    text = b"".join(response.streaming_content).decode()
    return list(csv.reader(io.StringIO(text)))


@pytest.mark.parametrize(
    "query", [{}, {"show": "behind", "sort": "-percent"}, {"show": "inactive"}, {"sort": "-watched"}]
)
def test_csv_is_exactly_the_filtered_table(staff_client, klass, query):
    url = reverse("dashboard:students", args=[klass.run.slug])
    html = staff_client.get(url, query).content.decode()
    response = staff_client.get(reverse("dashboard:students_csv", args=[klass.run.slug]), query)

    assert response["Content-Type"].startswith("text/csv")
    header, *rows = csv_rows(response)
    assert header[:3] == ["Name", "Email", "Tier"] and header[6:] == ["Lessons completed", "Percent", "Video watched"]
    assert rows == table_rows(html)


def test_tier_filter_applies_to_csv_too(staff_client, klass):
    response = staff_client.get(
        reverse("dashboard:students_csv", args=[klass.run.slug]), {"tier": klass.office_hours.pk}
    )
    assert [row[1] for row in csv_rows(response)[1:]] == ["bob@example.com"]


def test_table_pages_and_csv_has_every_page(staff_client, klass):
    enrolled_students(PER_PAGE + 5, run=klass.run, tier=klass.standard)
    url = reverse("dashboard:students", args=[klass.run.slug])
    first = table_rows(staff_client.get(url).content.decode())
    second = table_rows(staff_client.get(url, {"page": 2}).content.decode())
    assert (len(first), len(second)) == (PER_PAGE, 9)
    rows = csv_rows(staff_client.get(reverse("dashboard:students_csv", args=[klass.run.slug])))[1:]
    assert rows == first + second


def extend_url(klass):
    return reverse("dashboard:extend", args=[klass.run.slug])


def test_extend_several_students_from_the_table(staff_client, klass, django_capture_on_commit_callbacks):
    until = timezone.localdate() + timedelta(days=400)
    chosen = [klass.students["bob"].pk, klass.students["cy"].pk]
    next_url = reverse("dashboard:students", args=[klass.run.slug]) + "?show=behind"
    with django_capture_on_commit_callbacks(execute=True):
        response = staff_client.post(extend_url(klass), {"enrollment": chosen, "until": until.isoformat(),
                                                          "next": next_url}, follow=True)  # fmt: skip

    assert response.redirect_chain[-1][0] == next_url
    assert EXTENDED.format(date=f"{until:%d %B %Y}", count=2) in response.content.decode()
    assert sorted(Extension.objects.values_list("enrollment_id", flat=True)) == sorted(chosen)
    for pk in chosen:
        assert timezone.localtime(Enrollment.objects.get(pk=pk).access_ends_at).date() == until
    assert sorted(message.to[0] for message in mail.outbox) == ["bob@example.com", "cy@example.com"]
    assert until.strftime("%Y-%m-%d") in response.content.decode()  # the table shows the new end


def test_extension_refused_as_the_admin_refuses_and_nothing_changes(staff_client, klass):
    today = timezone.localdate()
    bob = klass.students["bob"]
    response = staff_client.post(extend_url(klass), {"enrollment": [bob.pk], "until": today.isoformat()}, follow=True)
    assert EXTEND_TO_THE_PAST.format(today=today) in response.content.decode()
    too_soon = timezone.localtime(bob.access_ends_at).date() - timedelta(days=1)
    response = staff_client.post(extend_url(klass), {"enrollment": [bob.pk], "until": too_soon.isoformat()},
                                 follow=True)  # fmt: skip
    assert EXTEND_NOT_LATER.format(students="bob@example.com") in response.content.decode()
    response = staff_client.post(extend_url(klass), {"until": (today + timedelta(days=400)).isoformat()}, follow=True)
    assert NOBODY_CHOSEN in response.content.decode()
    response = staff_client.post(extend_url(klass), {"enrollment": [bob.pk], "until": "31/02/2027"}, follow=True)
    assert "Enter a valid date." in response.content.decode()
    assert not Extension.objects.exists() and not mail.outbox


def test_extend_cannot_reach_another_runs_students_or_leave_the_dashboard(staff_client, klass):
    other = enrolled_students(1, run=RunFactory(), tier=klass.standard)[0].enrollments.get()
    until = (timezone.localdate() + timedelta(days=400)).isoformat()
    response = staff_client.post(extend_url(klass), {"enrollment": [other.pk], "until": until,
                                                      "next": "https://evil.example.com/"})  # fmt: skip
    assert response.url == reverse("dashboard:students", args=[klass.run.slug])
    assert not Extension.objects.exists()


def test_student_page_shows_everything_about_them_and_extends(staff_client, klass, django_capture_on_commit_callbacks):
    bob = klass.students["bob"]
    thread = ThreadFactory(course=klass.course, author=bob.user, title="Bob asks about TURN")
    ThreadFactory(author=bob.user, title="A thread in another course")
    session = SessionFactory(run=klass.run, title="Tuesday office hours")
    ReminderFactory(registration=RegistrationFactory(session=session, user=bob.user))
    SentEmailFactory(enrollment=bob, kind=SentEmail.Kind.WELCOME, status=SentEmail.Status.SENT)
    AnnouncementEmailFactory(enrollment=bob, announcement=AnnouncementFactory(run=klass.run, title="Week two"))
    url = reverse("dashboard:student", args=[klass.run.slug, bob.pk])

    page = staff_client.get(url).content.decode()

    lessons = page.split('id="student-lessons"', 1)[1].split("</table>", 1)[0]
    assert [status for status in re.findall(r"<td>([a-z ]+)</td>", lessons)] == [
        "completed", "not opened", "not opened", "not released"
    ]  # fmt: skip
    assert thread.title in page and "A thread in another course" not in page
    assert "Tuesday office hours" in page
    assert "Welcome and receipt" in page and "Announcement: Week two" in page
    assert "Office hours reminder (a day before): Tuesday office hours" in page
    assert timezone.localtime(bob.access_ends_at).strftime("%-d %b %Y") in page

    until = timezone.localdate() + timedelta(days=500)
    with django_capture_on_commit_callbacks(execute=True):
        response = staff_client.post(extend_url(klass), {"enrollment": [bob.pk], "until": until.isoformat(),
                                                          "next": url}, follow=True)  # fmt: skip
    page = response.content.decode()
    assert response.redirect_chain[-1][0] == url
    assert EXTENDED.format(date=f"{until:%d %B %Y}", count=1) in page
    assert f"Access extended to {until:%d %B %Y}" in page  # its email, listed
    assert [message.to for message in mail.outbox] == [["bob@example.com"]]


def test_unanswered_queue(staff_client, klass):
    now = timezone.now()
    cy, dee, ada = (klass.students[name].user for name in ("cy", "dee", "ada"))
    ThreadFactory(course=klass.course, author=cy, title="Oldest open question", created_at=now - timedelta(days=5))
    student_reply = ThreadFactory(course=klass.course, author=dee, title="Only a student replied",
                                  created_at=now - timedelta(days=1))  # fmt: skip
    PostFactory(thread=student_reply, author=ada)
    staff_replied = ThreadFactory(course=klass.course, author=dee, title="Staff replied")
    PostFactory(thread=staff_replied, author=klass.staff)
    accepted = ThreadFactory(course=klass.course, author=dee, title="Has an accepted answer")
    accepted.answer = PostFactory(thread=accepted, author=ada)
    accepted.save()
    ThreadFactory(course=klass.course, author=klass.staff, title="Started by staff")
    ThreadFactory(course=klass.course, author=dee, title="Hidden thread", is_hidden=True)
    hidden_reply = ThreadFactory(course=klass.course, author=dee, title="Staff reply hidden", created_at=now)
    PostFactory(thread=hidden_reply, author=klass.staff, is_hidden=True)
    session = SessionFactory(run=klass.run)
    QuestionFactory(session=session, author=cy, text="First office-hours question", created_at=now - timedelta(days=2))
    QuestionFactory(session=session, author=cy, text="Answered one", answered_at=now)
    QuestionFactory(session=session, author=dee, text="Second office-hours question", created_at=now)
    QuestionFactory(session=SessionFactory(run=klass.run, status=Session.Status.CANCELLED), text="Of a cancelled one")
    QuestionFactory(text="Of another run")

    page = staff_client.get(reverse("dashboard:unanswered", args=[klass.run.slug])).content.decode()

    forum = page.split('id="unanswered-threads"', 1)[1].split("</ol>", 1)[0]
    titles = re.findall(r'<a href="[^"]+">([^<]+)</a>', forum)
    # ada's thread of the fixture (3 days ago, a student's reply only) is open too.
    fixture_thread = Thread.objects.get(author=ada, created_at=klass.now - timedelta(days=3)).title
    assert titles == ["Oldest open question", fixture_thread, "Only a student replied", "Staff reply hidden"]
    questions = page.split('id="unanswered-questions"', 1)[1].split("</ol>", 1)[0]
    assert questions.index("First office-hours question") < questions.index("Second office-hours question")
    assert "Answered one" not in questions and "cancelled" not in questions and "another run" not in questions


def test_admin_links_to_the_dashboard(client, klass):
    client.force_login(StaffFactory(is_superuser=True))
    index = client.get(reverse("admin:index")).content.decode()
    assert reverse("dashboard:index") in index
    run_page = client.get(reverse("admin:enrollment_run_change", args=[klass.run.pk])).content.decode()
    assert reverse("dashboard:students", args=[klass.run.slug]) in run_page


def test_csv_cells_never_run_as_formulas(staff_client, klass):
    user = klass.students["dee"].user
    user.first_name, user.last_name = '=HYPERLINK("http://evil.example")', ""
    user.save()
    rows = csv_rows(staff_client.get(reverse("dashboard:students_csv", args=[klass.run.slug])))
    assert '\'=HYPERLINK("http://evil.example")' in [row[0] for row in rows]
    assert not any(cell.startswith("=") for row in rows for cell in row)
