"""Beyond one machine: two gunicorn processes and two Celery workers (as on two machines) against one Postgres,
one Redis (the test's own) and one S3-compatible bucket (moto's server): a student's login works on both web
processes, a file uploaded through one is served through the other, a batch of 1,000 emails goes out once
across both workers, and of two beat processes (the README says to run one) one ticks and the other takes over
when it dies: each due pre-launch email goes once.
"""

import re
import subprocess
import sys
import time
from datetime import timedelta

import pytest
import requests
from django.test import override_settings
from django.utils import timezone

from courses.models import Lesson
from courseweb.celery import app as celery_app
from enrollment.emails import queue_due_prelaunch
from enrollment.models import SentEmail
from enrollment.tasks import deliver_emails
from tests.factories import (
    CourseFactory,
    EnrollmentFactory,
    RunFactory,
    SectionFactory,
    StaffFactory,
    TierFactory,
    UserFactory,
    enrolled_students,
)
from tests.services import SITE_URL, Gunicorn, RedisServer, celery_broker, production_env, session_cookie
from tests.workers import ROOT, Workers, database_url, sender_pid, settle

pytestmark = [pytest.mark.faults, pytest.mark.usefixtures("on_postgres", "transactional_db")]

PASSWORD = "correct horse battery staple 42"
DATA = bytes(range(256)) * 800
BEAT_TIMEOUT = 90  # the sweep's first tick comes one schedule period (60 s) after beat starts


@pytest.fixture
def machines(smtp_sink, settings, tmp_path, moto):
    """Two web processes and two workers in production settings, sharing Postgres, a Redis and a bucket."""
    redis = RedisServer(tmp_path).start()
    bucket = f"course-files-{int(time.time() * 1000)}"
    moto.client().create_bucket(Bucket=bucket)
    env = production_env(database_url=database_url(settings), redis_url=redis.url, smtp_port=smtp_sink.port,
                         **moto.environment(bucket))  # fmt: skip
    webs = []
    pool = Workers(redis_url=redis.url, database_url=database_url(settings), smtp_port=smtp_sink.port,
                   log_dir=tmp_path, queue="celery", env=env)  # fmt: skip
    beats = []
    with celery_broker(redis.url):
        try:
            webs = [Gunicorn(env, tmp_path, name=f"web{n}", workers=1, threads=4) for n in (1, 2)]
            yield webs, pool, beats, env, bucket
        finally:
            for beat in beats:
                beat.terminate()
                beat.wait(timeout=10)
            for web in webs:
                web.stop()
            pool.stop()
            redis.stop()


class Visitor:
    """A browser's cookies and the CSRF dance, through whichever web process a request goes to."""

    def __init__(self):
        self.cookies = {}

    def request(self, web, method, path, **kwargs):
        headers = {"Host": "course.test", "X-Forwarded-Proto": "https", "X-Forwarded-For": "203.0.113.9",
                   "Referer": f"{SITE_URL}{path}", "Origin": SITE_URL,
                   "Cookie": "; ".join(f"{k}={v}" for k, v in self.cookies.items())}  # fmt: skip
        response = requests.request(method, f"http://127.0.0.1:{web.port}{path}", headers=headers,
                                    allow_redirects=False, timeout=20, **kwargs)  # fmt: skip
        self.cookies.update(response.cookies.get_dict())
        return response

    def form_token(self, web, path):
        page = self.request(web, "GET", path)
        assert page.status_code == 200, page.text[:500]
        return re.search(r'name="csrfmiddlewaretoken" value="([^"]+)"', page.text).group(1)


def test_a_students_login_works_on_both_web_processes_and_a_file_uploaded_through_one_is_served_by_the_other(
    machines, moto
):
    (web1, web2), _, _, _, bucket = machines
    course = CourseFactory(title="WebRTC in practice")
    section = SectionFactory(course=course)
    run = RunFactory(course=course, starts_at=timezone.now() - timedelta(days=3))
    with override_settings(PASSWORD_HASHERS=["django.contrib.auth.hashers.PBKDF2PasswordHasher"]):
        student = UserFactory(email="ada@example.com", password=PASSWORD)
    EnrollmentFactory(user=student, run=run, tier=TierFactory(run=run))

    # Logged in through web 1 (allauth's form, its limits counted in the shared Redis) ...
    ada = Visitor()
    token = ada.form_token(web1, "/accounts/login/")
    form = {"csrfmiddlewaretoken": token, "login": "ada@example.com", "password": PASSWORD}
    login = ada.request(web1, "POST", "/accounts/login/", data=form)
    assert login.status_code == 302, login.text[:1000]
    # ... the session is known to web 2 (sessions live in Postgres).
    home = f"/courses/{course.slug}/learn/"
    assert ada.request(web2, "GET", home).status_code == 200
    assert ada.request(web1, "GET", home).status_code == 200

    # The instructor uploads a video through web 1's admin: it goes to the bucket.
    staff = Visitor()
    staff.cookies["sessionid"] = session_cookie(StaffFactory(is_superuser=True)).split("=", 1)[1]
    token = staff.form_token(web1, "/admin/courses/lesson/add/")
    data = {"csrfmiddlewaretoken": token, "section": section.pk, "title": "Intro", "slug": "intro",
            "estimated_minutes": 10, "video_url": "", "video_minutes": 1, "transcript": "", "body": "",
            "resources-TOTAL_FORMS": "0", "resources-INITIAL_FORMS": "0"}  # fmt: skip
    upload = staff.request(web1, "POST", "/admin/courses/lesson/add/", data=data,
                           files={"video_file": ("intro.mp4", DATA, "video/mp4")})  # fmt: skip
    assert upload.status_code == 302, upload.text[:2000]
    lesson = Lesson.objects.get(slug="intro")

    # Web 2 serves it: a redirect to a link signed for the bucket, which plays and seeks.
    answer = ada.request(web2, "GET", f"/courses/{course.slug}/lessons/{lesson.slug}/video/")
    assert answer.status_code == 302, answer.text[:1000]
    link = answer.headers["Location"]
    assert link.startswith(f"{moto.url}/{bucket}/")
    assert requests.get(link, timeout=10).content == DATA
    seek = requests.get(link, headers={"Range": "bytes=1000-1099"}, timeout=10)
    assert (seek.status_code, seek.content) == (206, DATA[1000:1100])


def due_run(count):
    run = RunFactory(starts_at=timezone.now() + timedelta(days=1), prelaunch_email_days=2)
    return {user.email for user in enrolled_students(count, run=run, tier=TierFactory(run=run))}


def test_1000_emails_go_out_once_across_two_workers(machines, smtp_sink):
    _, workers, _, _, _ = machines
    addresses = due_run(1000)
    assert queue_due_prelaunch() == 1000
    first, second = workers.start("w1", "w2")

    for _ in range(2):  # each worker takes one delivery task: both send from the one outbox
        deliver_emails.delay()
    sent = SentEmail.objects.filter(status=SentEmail.Status.SENT)
    workers.wait_until(lambda: sent.count() == 1000, "1,000 emails marked sent", timeout=180)
    messages = settle(smtp_sink, seconds=1.5)

    assert len(messages) == 1000
    assert {m["To"] for m in messages} == addresses
    by_worker = {pid: sum(1 for m in messages if sender_pid(m) == pid) for pid in (first.pid, second.pid)}
    assert all(by_worker.values()), by_worker


def start_beat(env, tmp_path, name):
    log = open(tmp_path / f"{name}.log", "wb")  # noqa: SIM115 - closed when the process ends
    return subprocess.Popen(
        [sys.executable, "-m", "celery", "-A", "courseweb", "beat", "--loglevel=INFO",
         "--schedule", str(tmp_path / f"{name}-schedule")],
        cwd=ROOT, env=env, stdout=log, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL,
    )  # fmt: skip


def sent_tasks(tmp_path, name):
    return (tmp_path / f"{name}.log").read_text(errors="replace").count("Sending due task send-due-emails")


def test_of_two_beats_one_ticks_and_the_other_takes_over_when_it_dies(machines, smtp_sink, tmp_path):
    _, workers, beats, env, _ = machines
    addresses = due_run(50)
    workers.start("w1", "w2")

    # The README says one beat; a deploy that starts one on two machines gets one that ticks (it holds a lock
    # in Redis, courseweb/beat.py) and one that waits. Each due email would go once all the same: every
    # email is an outbox row, claimed and marked sent in one transaction.
    beats.extend(start_beat(env, tmp_path, name) for name in ("beat1", "beat2"))
    sent = SentEmail.objects.filter(status=SentEmail.Status.SENT)
    workers.wait_until(lambda: sent.count() == 50, "the first beat tick's 50 pre-launch emails", timeout=BEAT_TIMEOUT)
    messages = settle(smtp_sink, seconds=3)

    assert len(messages) == 50
    assert {m["To"] for m in messages} == addresses
    assert all(beat.poll() is None for beat in beats)
    ticks = {name: sent_tasks(tmp_path, name) for name in ("beat1", "beat2")}
    assert sorted(ticks.values()) == [0, 1], ticks  # one beat sent the job, once

    # The ticking beat's machine dies: the other takes over within the lock's 30 s, and the emails that came
    # due meanwhile go, once.
    holder = beats[0] if ticks["beat1"] else beats[1]
    holder.kill()
    holder.wait(timeout=10)
    more = due_run(20)
    workers.wait_until(lambda: sent.count() == 70, "the next 20 emails, sent by the other beat",
                       timeout=BEAT_TIMEOUT)  # fmt: skip
    messages = settle(smtp_sink, seconds=3)
    assert len(messages) == 70
    assert {m["To"] for m in messages} == addresses | more
    assert celery_app.conf.beat_schedule["send-due-emails"]["schedule"] == 60.0
