"""The instructor's weekly pulse: what it lists for a hand-built class, when it is due in each staff member's zone,
and that it goes once a week to each staff member (and to nobody else).

Times are given to the services (`now=`): Monday 30 November 2026 09:00 UTC is Monday 10:00 in Paris.
"""

from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta

import pytest
from django.core import mail as outbox
from django.core.management import call_command
from django.urls import reverse
from django.utils import timezone

from courseweb.celery import app as celery_app
from dashboard import pulse
from dashboard.models import WeeklyPulse
from enrollment.models import Enrollment
from forum.models import Thread
from tests.dashboard.conftest import progress
from tests.factories import (
    BoardFactory,
    CourseFactory,
    EnrollmentFactory,
    LessonFactory,
    OfficeHoursTierFactory,
    PaymentFactory,
    PostFactory,
    QuestionFactory,
    QuizAttemptFactory,
    QuizFactory,
    QuizQuestionFactory,
    RunFactory,
    SectionFactory,
    SessionFactory,
    StaffFactory,
    ThreadFactory,
    TierFactory,
    UserFactory,
    WeeklyPulseFactory,
    enrolled_students,
)
from tests.workers import settle

pytestmark = pytest.mark.django_db

NOW = datetime(2026, 11, 30, 9, 0, tzinfo=UTC)  # a Monday
SITE = "http://testserver"


@dataclass
class Week:
    run: object
    next_run: object
    lessons: dict
    enrollments: dict
    staff: object


def absolute(name, *args, query=""):
    return f"{SITE}{reverse(f'dashboard:{name}', args=args)}{query}"


@pytest.fixture
def week(settings):
    """A run that started 30 days ago; lessons L1, L2, L3, L4, L5 open on days 0, 7, 20, 40 and from the start,
    so three (L1, L2, L5) opened two weeks ago: fewer than 3 completed is behind.

    ada  completed L1, L2, L3, opened L5          3: not behind
    bob  completed L1, opened L2 and L3           1: behind
    cy   opened L1, L2, L3                        0: behind
    dee  opened L1, L3                            0: behind
    Drop-off (opened − completed): L3 4−1=3, L1 4−2=2, L2 3−1=2, L5 1−0=1, L4 none → L3, L1, L2.
    Questions: ada's thread 25 h old (waiting), bob's 23 h old (not yet), cy's 30 h old answered by staff, an
    office-hours question 26 h old (waiting), one answered. Sign-ups in the Paris week (23 Nov 00:00 to 30 Nov 00:00):
    gus (27 Nov, next run), not hal (30 Nov 07:00 UTC). Refunds: eve's on 25 Nov, not ivy's on 20 Nov.
    An old run, over, with a student: not in the pulse.
    """
    settings.SITE_URL = SITE
    course = CourseFactory(title="Hand-built course", slug="hand-built")
    section = SectionFactory(course=course, title="Only section")
    lessons = {
        f"L{n + 1}": LessonFactory(section=section, order=n, slug=f"l{n + 1}", title=f"Lesson {n + 1}",
                                   release_after_days=days)
        for n, days in enumerate([0, 7, 20, 40, None])
    }  # fmt: skip
    run = RunFactory(course=course, slug="hand-run", title="Hand run", starts_at=NOW - timedelta(days=30))
    standard = TierFactory(run=run)
    next_run = RunFactory(course=course, slug="next-run", title="Next run", starts_at=NOW + timedelta(days=10))
    next_tier = TierFactory(run=next_run)
    old_run = RunFactory(course=course, slug="old-run", title="Old run", starts_at=NOW - timedelta(days=200))
    EnrollmentFactory(run=old_run, tier=TierFactory(run=old_run), enrolled_at=NOW - timedelta(days=210))

    def student(name, *, run=run, tier=standard, at=NOW - timedelta(days=40), status=Enrollment.Status.ACTIVE):
        user = UserFactory(email=f"{name}@example.com", first_name=name.title(), last_name="Tester")
        return EnrollmentFactory(user=user, run=run, tier=tier, enrolled_at=at, status=status)

    people = {name: student(name) for name in ["ada", "bob", "cy", "dee"]}
    people["gus"] = student("gus", run=next_run, tier=next_tier, at=datetime(2026, 11, 27, 15, 0, tzinfo=UTC))
    people["hal"] = student("hal", run=next_run, tier=next_tier, at=datetime(2026, 11, 30, 7, 0, tzinfo=UTC))
    for name in ["eve", "ivy"]:
        people[name] = student(name, status=Enrollment.Status.REFUNDED)
    PaymentFactory(enrollment=people["eve"], amount_total=19900, currency="usd",
                   refunded_at=datetime(2026, 11, 25, 12, 0, tzinfo=UTC))  # fmt: skip
    PaymentFactory(enrollment=people["ivy"], refunded_at=datetime(2026, 11, 20, 12, 0, tzinfo=UTC))

    at = NOW - timedelta(days=3)
    done = {"ada": ["L1", "L2", "L3"], "bob": ["L1"], "cy": [], "dee": []}
    opened = {"ada": ["L5"], "bob": ["L2", "L3"], "cy": ["L1", "L2", "L3"], "dee": ["L1", "L3"]}
    for name in done:
        user = people[name].user
        for key in done[name]:
            progress(user, lessons[key], at=at, completed=True)
        for key in opened[name]:
            progress(user, lessons[key], at=at)

    board = BoardFactory(course=course, slug="questions")
    ThreadFactory(board=board, author=people["ada"].user, title="Why does ICE fail?",
                  created_at=NOW - timedelta(hours=25))  # fmt: skip
    ThreadFactory(board=board, author=people["bob"].user, title="TURN or STUN?", created_at=NOW - timedelta(hours=23))
    answered = ThreadFactory(board=board, author=people["cy"].user, title="Answered already",
                             created_at=NOW - timedelta(hours=30))  # fmt: skip
    staff = StaffFactory(email="ina@example.com", first_name="Ina", timezone="Europe/Paris")
    PostFactory(thread=answered, author=staff, created_at=NOW - timedelta(hours=29))
    session = SessionFactory(run=run, title="Office hours A", starts_at=NOW + timedelta(days=1))
    QuestionFactory(session=session, author=people["dee"].user, text="Can we see SFU logs?",
                    created_at=NOW - timedelta(hours=26))  # fmt: skip
    QuestionFactory(session=session, author=people["bob"].user, text="Answered question",
                    created_at=NOW - timedelta(hours=40), answered_at=NOW - timedelta(hours=2))  # fmt: skip
    return Week(run, next_run, lessons, people, staff)


def pulses_to(address):
    return [message for message in outbox.outbox if message.to == [address]]


def text_and_html(message):
    return message.body, message.alternatives[0][0]


def test_the_pulse_lists_exactly_the_classs_behind_waiting_drop_off_sign_ups_and_refunds(week):
    assert pulse.send_due(now=NOW) == 1
    [message] = pulses_to("ina@example.com")
    text, html = text_and_html(message)
    assert message.subject == "Weekly pulse, 30 November: 3 students behind, 2 questions waiting, 1 sign-up, 1 refund"
    assert "week of Monday 23 November to Sunday 29 November 2026 (Europe/Paris)" in text

    hand_run, next_run = text.split("== Hand-built course: Next run")
    assert "Old run" not in text

    behind = hand_run.split("Students behind the release schedule (fewer than 3 lessons completed): 3\n")[1]
    behind = behind.split("\n\n")[0]
    e = week.enrollments
    assert behind.splitlines() == [
        "- Cy Tester: 0 of 5 lessons completed", f"  {absolute('student', 'hand-run', e['cy'].pk)}",
        "- Dee Tester: 0 of 5 lessons completed", f"  {absolute('student', 'hand-run', e['dee'].pk)}",
        "- Bob Tester: 1 of 5 lessons completed", f"  {absolute('student', 'hand-run', e['bob'].pk)}",
        f"  All of them: {absolute('students', 'hand-run', query='?show=behind&sort=completed')}",
    ]  # fmt: skip

    waiting = hand_run.split("Questions waiting more than 24 hours: 2\n")[1].split("\n\n")[0]
    thread = Thread.objects.get(title="Why does ICE fail?")
    assert waiting.splitlines() == [
        # oldest first, at Paris time (UTC+1): 26 h before Monday 10:00 is Sunday 08:00
        "- Can we see SFU logs? (office-hours question (Office hours A), by Dee Tester), since Sun 29 Nov, 08:00",
        f"  {absolute('unanswered', 'hand-run')}",
        "- Why does ICE fail? (forum question by Ada Tester), since Sun 29 Nov, 09:00",
        f"  {SITE}{reverse('forum:thread', args=['hand-built', thread.pk])}",
        f"  The unanswered queue: {absolute('unanswered', 'hand-run')}",
    ]
    assert "TURN or STUN?" not in text and "Answered" not in text

    drop_off = hand_run.split("Largest drop-off (opened, not completed):\n")[1].split("\n\n")[0]
    assert drop_off.splitlines() == [
        "- Lesson 3: 4 opened, 1 completed",
        "- Lesson 1: 4 opened, 2 completed",
        "- Lesson 2: 3 opened, 1 completed",
        f"  The lessons' funnel: {absolute('lessons', 'hand-run')}",
    ]
    assert "Sign-ups this week: 0" in hand_run
    refunds = hand_run.split("Refunds this week: 1\n")[1].split("\n\n")[0]
    assert refunds.splitlines() == [
        "- Eve Tester (eve@example.com, 199.00 USD), Wed 25 Nov, 13:00",
        f"  {absolute('student', 'hand-run', e['eve'].pk)}",
    ]
    assert "ivy" not in text.lower()

    assert "(2 students)" in next_run.splitlines()[0]  # gus and hal; hal signed up on this week's Monday
    assert "Students behind" not in next_run  # not running yet: only its sign-ups and refunds
    signups = next_run.split("Sign-ups this week: 1\n")[1].split("\n\n")[0]
    assert signups.splitlines() == [
        "- Gus Tester (gus@example.com, Standard), Fri 27 Nov, 16:00",
        f"  {absolute('student', 'next-run', e['gus'].pk)}",
    ]
    assert "hal" not in text.lower()
    assert "Refunds this week: 0" in next_run
    assert f"The dashboard: {SITE}/staff/" in text

    # The HTML says the same with links.
    for href in [
        absolute("student", "hand-run", e["cy"].pk),
        absolute("students", "hand-run", query="?show=behind&amp;sort=completed"),
        absolute("unanswered", "hand-run"),
        absolute("lessons", "hand-run"),
        absolute("student", "next-run", e["gus"].pk),
        absolute("student", "hand-run", e["eve"].pk),
        f"{SITE}/staff/",
    ]:
        assert f'href="{href}"' in html
    assert "Lesson 3</a>" not in html and "Lesson 3: 4 opened, 1 completed" in html
    assert "Hal" not in html and "Ivy" not in html and "TURN or STUN?" not in html
    assert message.extra_headers["Message-ID"] == pulse.mail.message_id("weekly-pulse", week.staff.pk, "2026-11-30")


def test_the_pulse_is_due_from_monday_0800_in_each_staff_members_zone(week):
    tokyo = StaffFactory(email="tokyo@example.com", timezone="Asia/Tokyo")  # Monday 08:00 = Sunday 23:00 UTC
    new_york = StaffFactory(email="ny@example.com", timezone="America/New_York")  # Monday 08:00 = 13:00 UTC
    week.staff.is_active = False
    week.staff.save()
    for user in (tokyo, new_york):  # the week before's went on its Monday
        WeeklyPulseFactory(
            user=user,
            week_of=date(2026, 11, 23),
            status=WeeklyPulse.Status.SENT,
            covers_from=datetime(2026, 11, 16, tzinfo=UTC),
            covers_until=datetime(2026, 11, 23, tzinfo=UTC),
        )

    pulse.send_due(now=datetime(2026, 11, 29, 22, 59, tzinfo=UTC))  # Monday 07:59 in Tokyo
    assert outbox.outbox == []
    pulse.send_due(now=datetime(2026, 11, 29, 23, 0, tzinfo=UTC))
    assert [m.to for m in outbox.outbox] == [[tokyo.email]]
    pulse.send_due(now=datetime(2026, 11, 30, 12, 59, tzinfo=UTC))  # Monday 07:59 in New York
    assert len(outbox.outbox) == 1
    pulse.send_due(now=datetime(2026, 11, 30, 13, 0, tzinfo=UTC))
    assert [m.to for m in outbox.outbox] == [[tokyo.email], [new_york.email]]
    rows = {
        row.user.email: row for row in WeeklyPulse.objects.filter(week_of=date(2026, 11, 30)).select_related("user")
    }
    assert {email: row.week_of for email, row in rows.items()} == {tokyo.email: date(2026, 11, 30),
                                                                   new_york.email: date(2026, 11, 30)}  # fmt: skip
    # Each covers the week before on their own calendar.
    assert rows[tokyo.email].covers_from == datetime(2026, 11, 22, 15, 0, tzinfo=UTC)
    assert rows[new_york.email].covers_until == datetime(2026, 11, 30, 5, 0, tzinfo=UTC)
    assert "(Asia/Tokyo)" in outbox.outbox[0].body and "(America/New_York)" in outbox.outbox[1].body


def test_a_second_tick_of_the_week_sends_nothing_and_the_next_week_sends_again(week):
    assert pulse.send_due(now=NOW) == 1
    assert pulse.send_due(now=NOW + timedelta(hours=1)) == 0
    assert pulse.send_due(now=NOW + timedelta(days=6, hours=13)) == 0  # Sunday 23:00 in Paris
    assert len(outbox.outbox) == 1
    assert pulse.send_due(now=NOW + timedelta(days=7)) == 1  # the next Monday
    assert WeeklyPulse.objects.filter(user=week.staff).count() == 2


def test_each_active_staff_member_gets_one_and_nobody_else(week):
    other = StaffFactory(email="other@example.com", timezone="UTC")
    StaffFactory(email="gone@example.com", is_active=False)
    UserFactory(email="student@example.com")
    assert pulse.send_due(now=NOW) == 2
    assert pulse.send_due(now=NOW) == 0
    assert sorted(m.to[0] for m in outbox.outbox) == [week.staff.email, other.email]
    assert WeeklyPulse.objects.count() == 2
    assert len({m.extra_headers["Message-ID"] for m in outbox.outbox}) == 2


def test_a_staff_member_who_is_no_longer_staff_at_sending_gets_none(week):
    assert pulse.queue_due(now=NOW) == 1
    week.staff.is_staff = False
    week.staff.save()
    assert pulse.deliver_queued(now=NOW) == 0
    assert outbox.outbox == []
    assert WeeklyPulse.objects.get().status == WeeklyPulse.Status.SKIPPED


def test_a_quiet_week_sends_nothing_and_is_not_evaluated_again_that_week():
    staff = StaffFactory(timezone="UTC")
    course = CourseFactory()
    LessonFactory(section=SectionFactory(course=course))
    run = RunFactory(course=course, starts_at=NOW - timedelta(days=3))  # nothing opened two weeks ago: none behind
    EnrollmentFactory(run=run, tier=TierFactory(run=run), enrolled_at=NOW - timedelta(days=20))
    assert pulse.send_due(now=NOW) == 0
    row = WeeklyPulse.objects.get(user=staff)
    assert (row.status, row.sent_at) == (WeeklyPulse.Status.SKIPPED, None)
    EnrollmentFactory(run=run, tier=TierFactory(run=run, kind="office-hours", includes_office_hours=True),
                      enrolled_at=NOW - timedelta(days=2))  # fmt: skip
    assert pulse.send_due(now=NOW + timedelta(hours=2)) == 0  # the week was decided
    assert outbox.outbox == []


def test_at_most_ten_students_are_named_and_the_rest_counted(week):
    enrolled_students(12, run=week.run, tier=OfficeHoursTierFactory(run=week.run))  # nothing done: behind
    pulse.send_due(now=NOW)
    [message] = outbox.outbox
    assert "Students behind the release schedule (fewer than 3 lessons completed): 15" in message.body
    assert message.body.count("0 of 5 lessons completed") + message.body.count("1 of 5 lessons completed") == 10
    assert f"… and 5 more: {absolute('students', 'hand-run', query='?show=behind&sort=completed')}" in message.body


def test_the_command_sends_what_is_due_once(capsys):
    """By hand, with the real clock: a staff member in a zone whose Monday 08:00 has passed, a student behind."""
    now = timezone.now()
    zone = "UTC" if now >= pulse.pulse_week(UserFactory.build(timezone="UTC"), now=now)[1] else "Pacific/Kiritimati"
    staff = StaffFactory(timezone=zone)
    course = CourseFactory()
    LessonFactory(section=SectionFactory(course=course), release_after_days=1)
    run = RunFactory(course=course, starts_at=now - timedelta(days=20))
    EnrollmentFactory(run=run, tier=TierFactory(run=run))  # opened nothing: behind
    call_command("send_weekly_pulse")
    assert capsys.readouterr().out == "Weekly pulses: 1 queued, 1 sent.\n"
    call_command("send_weekly_pulse")
    assert capsys.readouterr().out == "Weekly pulses: 0 queued, 0 sent.\n"
    [message] = outbox.outbox
    assert message.to == [staff.email] and "Students behind the release schedule" in message.body


def test_the_beat_job_on_two_workers_mails_each_staff_member_one_pulse(workers, smtp_sink):
    """Real workers on Redis and an SMTP sink, the beat job sent by name twice at once: one pulse per staff member."""
    now = timezone.now()
    zone = "UTC" if now >= pulse.pulse_week(UserFactory.build(timezone="UTC"), now=now)[1] else "Pacific/Kiritimati"
    staff = [StaffFactory(email=f"staff{n}@example.com", timezone=zone) for n in range(3)]
    StaffFactory(email="inactive@example.com", timezone=zone, is_active=False)
    course = CourseFactory(title="WebRTC in practice")
    LessonFactory(section=SectionFactory(course=course), release_after_days=1)
    run = RunFactory(course=course, starts_at=now - timedelta(days=20))
    students = enrolled_students(5, run=run, tier=TierFactory(run=run))  # opened nothing: behind
    smtp_sink.delay = 0.2  # both workers are at it at the same time
    workers.start("w1", "w2")

    entry = celery_app.conf.beat_schedule["send-weekly-pulses"]
    for _ in range(2):
        celery_app.send_task(entry["task"], queue=workers.queue)  # by name, as beat sends it
    sent = WeeklyPulse.objects.filter(status=WeeklyPulse.Status.SENT)
    workers.wait_until(lambda: sent.count() == 3, "3 weekly pulses marked sent")
    celery_app.send_task(entry["task"], queue=workers.queue)  # a later tick of the week
    messages = settle(smtp_sink, seconds=2)

    assert sorted(m["To"] for m in messages) == [user.email for user in staff]
    assert len({m["Message-ID"] for m in messages}) == 3
    assert all("5 students behind" in m["Subject"] for m in messages)
    assert not {user.email for user in students} & {m["To"] for m in messages}
    assert WeeklyPulse.objects.count() == 3


def test_the_subject_names_only_what_there_is():
    report = pulse.RunReport(run=None, running=False, signup_count=2)
    assert pulse.subject_for([report], week_of=date(2026, 11, 30)) == "Weekly pulse, 30 November: 2 sign-ups"


def test_the_admin_lists_who_got_which_weeks_pulse(admin_client):
    WeeklyPulseFactory(user=StaffFactory(email="ina@example.com"), status=WeeklyPulse.Status.SENT, sent_at=NOW)
    page = admin_client.get(reverse("admin:dashboard_weeklypulse_changelist"))
    assert page.status_code == 200
    assert "ina@example.com" in page.text and "Sent" in page.text
    assert admin_client.get(reverse("admin:dashboard_weeklypulse_add")).status_code == 403


def test_the_pulse_lists_the_three_quiz_questions_missed_most_in_the_week(week):
    """Latest attempts of the Paris week (23 Nov 00:00 to 30 Nov 00:00, UTC+1) by the run's active students:
    ada missed Q1, Q2 on the 24th then only Q2 on the 26th; bob Q2, Q3; cy Q3, Q4 (and Q1 on the 20th, before
    the week); dee Q2, Q4. Refunded eve's Q1 and the next run's gus don't count. So Q2 3, Q3 2, Q4 2, Q1 0."""
    quiz = QuizFactory(section=week.lessons["L1"].section, title="Basics quiz")
    questions = [QuizQuestionFactory(quiz=quiz, order=n, text=f"Question {n + 1}?") for n in range(4)]

    def took(name, day, wrong):
        QuizAttemptFactory(
            user=week.enrollments[name].user, quiz=quiz, submitted_at=datetime(2026, 11, day, 12, 0, tzinfo=UTC),
            answers={str(q.pk): [] for q in questions}, wrong_question_ids=[questions[n - 1].pk for n in wrong],
            correct_count=4 - len(wrong), question_count=4,
        )  # fmt: skip

    took("ada", 24, [1, 2])
    took("ada", 26, [2])
    took("bob", 25, [2, 3])
    took("cy", 20, [1])
    took("cy", 27, [3, 4])
    took("dee", 28, [2, 4])
    took("eve", 25, [1])
    took("gus", 28, [1])

    assert pulse.send_due(now=NOW) == 1
    [message] = pulses_to("ina@example.com")
    text, html = text_and_html(message)
    hand_run = text.split("== Hand-built course: Next run")[0]
    missed = hand_run.split("Quiz questions missed most this week (latest attempt of each student):\n")[1]
    url = absolute("quiz", "hand-run", quiz.pk)
    assert missed.split("\n\n")[0].splitlines() == [
        "- Question 2? (Only section: Basics quiz, question 2; 3 of 4 students wrong)", f"  {url}",
        "- Question 3? (Only section: Basics quiz, question 3; 2 of 4 students wrong)", f"  {url}",
        "- Question 4? (Only section: Basics quiz, question 4; 2 of 4 students wrong)", f"  {url}",
    ]  # fmt: skip
    assert "Question 1?" not in text
    assert f'href="{url}"' in html and "Question 2?</a>" in html
    assert f'href="{absolute("quizzes", "hand-run")}"' in html


def test_the_pulse_says_nothing_of_quizzes_in_a_week_without_attempts(week):
    QuizQuestionFactory(quiz=QuizFactory(section=week.lessons["L1"].section), choices=[("a", True), ("b", False)])

    pulse.send_due(now=NOW)

    [message] = pulses_to("ina@example.com")
    assert "Quiz questions" not in message.body
