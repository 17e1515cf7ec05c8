"""Release digests: at most one email a day per student, listing what opened for their run since the last one.

In-process (locmem email), with the beat job's two steps called with a chosen `now`; the real-worker tests
are in test_release_digest_delivery.py. The site's zone is UTC; lessons open at a time of day in it.
"""

import io
import zoneinfo
from datetime import UTC, datetime, time, timedelta
from types import SimpleNamespace

import pytest
from django.conf import settings
from django.core.management import call_command
from django.test import Client
from django.urls import reverse

from courses.models import Lesson
from courseweb.celery import app as celery_app
from enrollment import course_email, release_digests
from enrollment.models import Enrollment, ReleaseDigest
from tests.factories import (
    CourseFactory,
    EnrollmentFactory,
    LessonFactory,
    OfficeHoursTierFactory,
    ReleaseOverrideFactory,
    RunFactory,
    SectionFactory,
    TierFactory,
    UserFactory,
)

pytestmark = pytest.mark.django_db

START = datetime(2030, 3, 4, 9, 0, tzinfo=UTC)  # a Monday, 09:00 in the site's zone
DAY7 = START + timedelta(days=7)  # lessons 1 to 3 open on this day at 09:00, 12:00 and 15:00
TOKYO, BERLIN, LOS_ANGELES = "Asia/Tokyo", "Europe/Berlin", "America/Los_Angeles"
DIGESTS = course_email.Kind.DIGESTS


def at(day, hour, minute=0):
    return datetime.combine(day.date(), time(hour, minute), tzinfo=UTC)


def build_course(title="WebRTC in practice", *, published=True):
    """Lesson 0 is open from the start, lessons 1 to 3 open on day 7 (09:00, 12:00, 15:00), lesson 4 on day 14."""
    course = CourseFactory(title=title, is_published=published, instructor_name="Ada Teacher")
    intro, deeper = SectionFactory(course=course, title="Getting started"), SectionFactory(course=course, title="ICE")
    lessons = [LessonFactory(section=intro, title="Welcome", slug="welcome")]
    for n, hour in enumerate((9, 12, 15), start=1):
        lessons.append(LessonFactory(section=deeper, title=f"Lesson {n}", slug=f"lesson-{n}",
                                     release_after_days=7, release_time=time(hour)))  # fmt: skip
    lessons.append(LessonFactory(section=deeper, title="Lesson 4", slug="lesson-4", release_after_days=14))
    return course, lessons


def student(name, *, run, tier, zone="UTC", enrolled_at=START - timedelta(days=5), **enrollment):
    user = UserFactory(email=f"{name}@example.com", first_name=name.title(), timezone=zone)
    EnrollmentFactory(user=user, run=run, tier=tier, enrolled_at=enrolled_at, **enrollment)
    return user


@pytest.fixture
def scene(db):
    course, lessons = build_course()
    run = RunFactory(course=course, title="Spring cohort", starts_at=START)
    standard, office_hours = TierFactory(run=run), OfficeHoursTierFactory(run=run)
    return SimpleNamespace(
        course=course,
        lessons=lessons,
        run=run,
        standard=standard,
        office_hours=office_hours,
        ana=student("ana", run=run, tier=office_hours),
        ken=student("ken", run=run, tier=office_hours, zone=TOKYO),
        ida=student("ida", run=run, tier=standard, zone=BERLIN),
    )


def tick(now):
    """One beat tick: queue what has come due, send what is queued (as enrollment.tasks.send_release_digests)."""
    release_digests.queue_due(now=now)
    return release_digests.deliver_queued(now=now)


def ticks(start, end, *, every=timedelta(minutes=30)):
    now = start
    while now <= end:
        tick(now)
        now += every


def by_recipient(mailoutbox):
    found = {}
    for message in mailoutbox:
        found.setdefault(message.to[0], []).append(message)
    return found


def lesson_titles(message):
    return [line.removeprefix("- ").split(" (")[0] for line in message.body.splitlines() if line.startswith("- ")]


# ---------------------------------------------------------------------------------------------------------
# One email a day, never one per lesson


def test_three_lessons_opening_on_one_day_give_one_email_per_student(scene, mailoutbox):
    ticks(DAY7 - timedelta(hours=2), DAY7 + timedelta(days=2))  # every 30 minutes for two days

    received = by_recipient(mailoutbox)
    assert sorted(received) == ["ana@example.com", "ida@example.com", "ken@example.com"]
    for address, messages in received.items():
        [message] = messages
        assert lesson_titles(message) == ["Lesson 1", "Lesson 2", "Lesson 3"], address
        assert message.subject == "WebRTC in practice: 3 new lessons open"
    # Each went on the student's next morning, at the first tick after 07:00 in their zone.
    digests = {row.enrollment.user.email: row for row in ReleaseDigest.objects.select_related("enrollment__user")}
    assert digests["ana@example.com"].queued_at == at(DAY7 + timedelta(days=1), 7)
    assert digests["ida@example.com"].queued_at == at(DAY7 + timedelta(days=1), 6)  # 07:00 in Berlin (UTC+1)
    assert digests["ken@example.com"].queued_at == at(DAY7, 22)  # 07:00 next day in Tokyo (UTC+9)
    assert digests["ken@example.com"].day == (DAY7 + timedelta(days=1)).date()  # his own calendar's day


def test_a_students_day_runs_from_their_morning_so_a_lesson_after_it_waits_for_the_next(scene, mailoutbox):
    # In Los Angeles (UTC-7 in March) the lessons open at 02:00, 05:00 and 08:00 on the student's day 7:
    # the first two are in the morning's digest, the third in the next one. Never two emails in one of her days.
    tier = scene.office_hours
    student("lea", run=scene.run, tier=tier, zone=LOS_ANGELES)
    ticks(DAY7 - timedelta(hours=2), DAY7 + timedelta(days=2))

    messages = by_recipient(mailoutbox)["lea@example.com"]
    assert [lesson_titles(message) for message in messages] == [["Lesson 1", "Lesson 2"], ["Lesson 3"]]
    days = list(ReleaseDigest.objects.filter(enrollment__user__email="lea@example.com").values_list("day", flat=True))
    assert len(days) == len(set(days)) == 2


def test_running_the_beat_job_again_the_same_day_sends_nothing_more(scene, mailoutbox):
    morning = at(DAY7 + timedelta(days=1), 7, 5)
    assert tick(morning) == 3
    assert tick(morning) == 0
    assert tick(morning + timedelta(minutes=10)) == 0
    assert tick(at(DAY7 + timedelta(days=1), 23, 50)) == 0
    assert len(mailoutbox) == 3
    assert ReleaseDigest.objects.count() == 3
    # The next morning has nothing new to say either: no row, no email.
    assert tick(at(DAY7 + timedelta(days=2), 7, 5)) == 0 and ReleaseDigest.objects.count() == 3


def test_two_ticks_at_once_queue_one_digest_per_student_and_day(scene):
    morning = at(DAY7 + timedelta(days=1), 7, 5)
    assert release_digests.queue_due(now=morning) == 3
    assert release_digests.queue_due(now=morning + timedelta(minutes=1)) == 0
    assert ReleaseDigest.objects.count() == 3


def test_the_next_digest_lists_what_opened_after_the_last_one(scene, mailoutbox):
    tick(at(DAY7 + timedelta(days=1), 7, 5))
    mailoutbox.clear()
    ticks(START + timedelta(days=14), START + timedelta(days=15, hours=1), every=timedelta(hours=1))

    received = by_recipient(mailoutbox)
    assert [lesson_titles(m) for m in received["ana@example.com"]] == [["Lesson 4"]]
    assert received["ana@example.com"][0].subject == "WebRTC in practice: 1 new lesson open"


# ---------------------------------------------------------------------------------------------------------
# Who gets one


def test_nobody_without_current_access_or_who_opted_out_gets_one(scene, mailoutbox):
    tier = scene.office_hours
    student("refunded", run=scene.run, tier=tier, status=Enrollment.Status.REFUNDED)
    student("cancelled", run=scene.run, tier=tier, status=Enrollment.Status.CANCELLED)
    optedout = student("optedout", run=scene.run, tier=tier)
    course_email.set_wanted(user=optedout, kind=DIGESTS, wanted=False)
    hidden_course, _ = build_course("Unpublished course", published=False)
    hidden_run = RunFactory(course=hidden_course, starts_at=START)
    student("hidden", run=hidden_run, tier=OfficeHoursTierFactory(run=hidden_run))

    tick(at(DAY7 + timedelta(days=1), 8))
    assert sorted(by_recipient(mailoutbox)) == ["ana@example.com", "ida@example.com", "ken@example.com"]

    # Day 70: the standard tier's two months are over (ida), the office-hours tier's four are not.
    Lesson.objects.filter(slug="lesson-4", course=scene.course).update(release_after_days=69)
    mailoutbox.clear()
    tick(START + timedelta(days=70))
    assert sorted(by_recipient(mailoutbox)) == ["ana@example.com", "ken@example.com"]


def test_a_student_who_opts_out_or_loses_access_after_the_queuing_is_skipped(scene, mailoutbox):
    morning = at(DAY7 + timedelta(days=1), 7, 5)
    release_digests.queue_due(now=morning)
    course_email.set_wanted(user=scene.ana, kind=DIGESTS, wanted=False)
    Enrollment.objects.filter(user=scene.ida).update(status=Enrollment.Status.REFUNDED)

    assert release_digests.deliver_queued(now=morning) == 1
    statuses = dict(ReleaseDigest.objects.values_list("enrollment__user__email", "status"))
    assert statuses == {"ana@example.com": "skipped", "ida@example.com": "skipped", "ken@example.com": "sent"}
    assert [message.to for message in mailoutbox] == [["ken@example.com"]]


def test_unpublishing_the_course_after_the_queuing_sends_nothing(scene, mailoutbox):
    morning = at(DAY7 + timedelta(days=1), 7, 5)
    release_digests.queue_due(now=morning)
    scene.course.is_published = False
    scene.course.save()

    assert release_digests.deliver_queued(now=morning) == 0 and mailoutbox == []


def test_lessons_open_from_the_start_or_before_the_student_enrolled_are_not_news(scene, mailoutbox):
    # Lesson 0 is open from the start; "late" enrolled on day 7 at 13:00, after lessons 1 and 2 opened.
    student("late", run=scene.run, tier=scene.office_hours, enrolled_at=at(DAY7, 13))
    ticks(START - timedelta(days=1), DAY7 + timedelta(days=1, hours=8), every=timedelta(hours=1))

    received = by_recipient(mailoutbox)
    assert [lesson_titles(m) for m in received["ana@example.com"]] == [["Lesson 1", "Lesson 2", "Lesson 3"]]
    assert [lesson_titles(m) for m in received["late@example.com"]] == [["Lesson 3"]]
    assert all("Welcome" not in message.body for message in mailoutbox)


def test_a_second_run_gets_its_own_digest_on_its_own_dates(scene, mailoutbox):
    autumn = RunFactory(course=scene.course, title="Autumn cohort", starts_at=START + timedelta(days=30))
    bo = student("bo", run=autumn, tier=OfficeHoursTierFactory(run=autumn), enrolled_at=START)
    # Autumn's own date for lesson 4: day 9 of its run.
    ReleaseOverrideFactory(run=autumn, lesson=scene.lessons[4], opens_at=autumn.starts_at + timedelta(days=9))

    ticks(START, START + timedelta(days=45), every=timedelta(hours=6))

    received = by_recipient(mailoutbox)
    assert [lesson_titles(m) for m in received["ana@example.com"]] == [["Lesson 1", "Lesson 2", "Lesson 3"],
                                                                      ["Lesson 4"]]  # fmt: skip
    assert [lesson_titles(m) for m in received[bo.email]] == [["Lesson 1", "Lesson 2", "Lesson 3"], ["Lesson 4"]]
    days = {row.enrollment.user.email: row.day for row in ReleaseDigest.objects.select_related("enrollment__user")
            if "Lesson 1" in [Lesson.objects.get(pk=pk).title for pk in row.opened]}  # fmt: skip
    assert days["ana@example.com"] == (DAY7 + timedelta(days=1)).date()
    assert days[bo.email] == (DAY7 + timedelta(days=31)).date()  # 30 days later: autumn's day 7, next morning
    lesson_4 = {row.enrollment.user.email: row.day for row in ReleaseDigest.objects.select_related("enrollment__user")
                if row.opened == [scene.lessons[4].pk]}  # fmt: skip
    assert lesson_4 == {"ana@example.com": (START + timedelta(days=15)).date(),
                        "ken@example.com": (START + timedelta(days=15)).date(),
                        "ida@example.com": (START + timedelta(days=15)).date(),
                        bo.email: (START + timedelta(days=40)).date()}  # fmt: skip


# ---------------------------------------------------------------------------------------------------------
# The email


def test_the_email_lists_each_lesson_with_its_link_in_the_students_zone_with_a_one_click_unsubscribe(
    scene, mailoutbox
):
    tick(at(DAY7, 22, 5))  # Tokyo's morning: ken's digest
    [message] = mailoutbox

    assert message.to == ["ken@example.com"]
    assert message.subject == "WebRTC in practice: 3 new lessons open"
    html = message.alternatives[0][0]
    for n, local in ((1, "18:00"), (2, "21:00"), (3, "00:00")):  # 09:00, 12:00, 15:00 UTC in Tokyo
        url = settings.SITE_URL + reverse("courses:lesson", args=[scene.course.slug, f"lesson-{n}"])
        assert url in message.body and f'href="{url}"' in html
        assert local in message.body
    assert "Monday 11 March, 18:00" in message.body and "Tuesday 12 March, 00:00" in message.body
    assert "(Asia/Tokyo)" in message.body
    unsubscribe = course_email.unsubscribe_url(scene.ken, DIGESTS)
    assert message.extra_headers["List-Unsubscribe"] == f"<{unsubscribe}>"
    assert message.extra_headers["List-Unsubscribe-Post"] == "List-Unsubscribe=One-Click"
    assert unsubscribe in message.body and unsubscribe in html
    # Rendered again (a retry), it is the same message.
    row = ReleaseDigest.objects.select_related("enrollment__user", "enrollment__run__course").get()
    assert release_digests.build_message(row).extra_headers["Message-ID"] == message.extra_headers["Message-ID"]


def test_an_updated_lesson_goes_into_the_next_digest_with_its_note(scene, mailoutbox):
    tick(at(DAY7 + timedelta(days=1), 7, 5))
    mailoutbox.clear()
    Lesson.objects.filter(pk=scene.lessons[0].pk).update(
        content_updated_at=at(DAY7 + timedelta(days=1), 10), change_note="New diagrams of the call flow."
    )
    # Lesson 4 was "updated" before it opened: that is not news for anyone, its opening is.
    Lesson.objects.filter(pk=scene.lessons[4].pk).update(content_updated_at=at(DAY7 + timedelta(days=1), 11))

    tick(at(DAY7 + timedelta(days=2), 7, 5))

    message = by_recipient(mailoutbox)["ana@example.com"][0]
    assert message.subject == "WebRTC in practice: 1 lesson updated"
    assert "Updated:" in message.body and "Welcome (Getting started), updated" in message.body
    assert ": New diagrams of the call flow." in message.body
    assert "What changed: New diagrams of the call flow." in message.alternatives[0][0]
    assert "Lesson 4" not in message.body


def test_a_runs_own_date_for_a_lesson_is_the_one_the_digest_uses(scene, mailoutbox):
    ReleaseOverrideFactory(run=scene.run, lesson=scene.lessons[2], opens_at=START + timedelta(days=10))
    tick(at(DAY7 + timedelta(days=1), 7, 5))
    assert lesson_titles(by_recipient(mailoutbox)["ana@example.com"][0]) == ["Lesson 1", "Lesson 3"]


def test_the_emails_one_click_link_stops_the_next_digest(scene, mailoutbox):
    tick(at(DAY7 + timedelta(days=1), 7, 5))
    message = by_recipient(mailoutbox)["ana@example.com"][0]
    link = message.extra_headers["List-Unsubscribe"].strip("<>").removeprefix(settings.SITE_URL)

    page = Client().get(link).content.decode()
    assert "release digests" in page
    response = Client().post(link, {"List-Unsubscribe": "One-Click"})
    assert response.status_code == 200 and "no more release digests" in response.content.decode()

    mailoutbox.clear()
    ticks(START + timedelta(days=14), START + timedelta(days=15, hours=1), every=timedelta(hours=1))
    assert "ana@example.com" not in by_recipient(mailoutbox)
    assert "ida@example.com" in by_recipient(mailoutbox)


def test_the_settings_page_turns_release_digests_off_and_on(client):
    user = UserFactory()
    client.force_login(user)
    url = reverse("forum_email:settings")
    page = client.get(url).content.decode()
    assert "Release digests" in page and 'name="course-digests" value="on"' in page

    client.post(url, {"email_mode": "each", "course-digests": "off"})
    assert course_email.wanted(user) == {"announcements": True, "digests": False}
    client.post(url, {"email_mode": "each", "course-digests": "on"})
    assert course_email.wanted(user)["digests"]


def test_the_beat_schedule_runs_the_digest_job():
    entry = celery_app.conf.beat_schedule["send-release-digests"]
    assert entry["task"] == "enrollment.tasks.send_release_digests"
    assert entry["schedule"] <= 3600  # at least hourly: each student's morning comes at its own UTC hour
    assert zoneinfo.ZoneInfo(TOKYO)  # the zones the tests use exist here



def test_the_command_sends_what_is_due_now(mailoutbox):
    course, _ = build_course()
    now = datetime.now(UTC)
    run = RunFactory(course=course, starts_at=now - timedelta(days=10))  # lessons 1 to 3 opened three days ago
    student("dan", run=run, tier=OfficeHoursTierFactory(run=run), enrolled_at=now - timedelta(days=20))
    out = io.StringIO()

    call_command("send_release_digests", stdout=out)
    call_command("send_release_digests", stdout=out)

    assert out.getvalue().splitlines() == ["Release digests: 1 queued, 1 sent.", "Release digests: 0 queued, 0 sent."]
    assert [lesson_titles(message) for message in mailoutbox] == [["Lesson 1", "Lesson 2", "Lesson 3"]]
