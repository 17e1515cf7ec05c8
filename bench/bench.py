#!/usr/bin/env python
"""Courseweb benchmark: every student page under load, against a bare Django view with the same session cookie.

Builds its own data in a scratch Postgres database, serves it with gunicorn as production runs it
(`gunicorn courseweb.wsgi -c gunicorn.conf.py`, DEBUG off, Postgres, the cache in Redis), loads each page
with wrk, alternating it with the bare view in short slices, and prints one table: req/s, p50, p99, the
ratio to the bare view, and the page's SQL queries (counted in-process with the test client). Then the
pre-launch emails through a real Celery worker against a plain smtplib loop (bench/emails.py). It writes
the table, the machine and the date to the page-speed section of bench/results.md.

    make bench
    DATABASE_URL=postgres://postgres@127.0.0.1:5432/courseweb_bench REDIS_URL=redis://127.0.0.1:6379/15 \
        .venv/bin/python bench/bench.py [--rounds 3] [--connections 32]

Other measurements, off by default: --bulk-rows N (bench/bulk_enroll.py), --search-posts N (forum search,
bench/forum.py), --dashboard-students N (the instructor's dashboard, bench/dashboard.py).
Method and columns: bench/README.md.
"""

import argparse
import http.client
import math
import os
import platform
import re
import resource
import secrets
import shutil
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from datetime import time as clock
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
COURSES = [("small", 7, 5), ("large", 50, 40)]  # name, sections, lessons per section
LOCAL_HOSTS = {"localhost", "127.0.0.1", "::1"}
RESULTS = REPO / "bench" / "results.md"
RESULTS_HEADING = "## Page speed"
PROXY_HEADERS = {"X-Forwarded-Proto": "https"}  # as nginx sends them (bench/settings.py trusts it, as BEHIND_PROXY=1)

LESSON_BODY = """In this lesson we follow one media stream from the camera to the remote peer and look at
every component it passes: capture, encoder, packetiser, congestion controller and the network.

## What you will learn

- why the **jitter buffer** trades latency for smoothness, and how to read its statistics;
- how bandwidth estimation reacts to loss and to growing delay;
- where simulcast layers are chosen, and who chooses them.

## A first experiment

Open two tabs, start a call between them, and watch `chrome://webrtc-internals` while you throttle the
network. The target bitrate follows the estimate within a second or two:

```js
const pc = new RTCPeerConnection({iceServers: []});
const stats = await pc.getStats();
for (const report of stats.values()) {
  if (report.type === "outbound-rtp") console.log(report.targetBitrate);
}
```

| Layer | Resolution | Bitrate |
|-------|------------|---------|
| low   | 320×180    | 150 kbps |
| mid   | 640×360    | 500 kbps |
| high  | 1280×720   | 1.5 Mbps |

Before the next lesson, read the two articles below and note which of the estimators they describe
reacts to delay and which to loss.
"""
TRANSCRIPT = "\n".join(
    f"{minute:02d}:{second:02d} Passage {minute * 4 + second // 15 + 1} of the lesson's video."
    for minute in range(5)
    for second in (0, 15, 30, 45)
)


STARTED = time.monotonic()


def log(message):
    print(f"[{time.monotonic() - STARTED:5.1f} s] {message}", file=sys.stderr, flush=True)


def parse_args(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--seconds", type=int, default=1, help="seconds of one wrk slice (default 1)")
    parser.add_argument("--rounds", type=int, default=3, help="rounds of slices over all pages (default 3)")
    parser.add_argument("--warmup", type=int, default=1, help="unmeasured seconds of wrk per page first (default 1)")
    parser.add_argument("--connections", type=int, default=32, help="wrk connections (default 32)")
    parser.add_argument("--wrk-threads", type=int, default=1, help="wrk threads (default 1)")
    parser.add_argument(
        "--workers", type=int, default=None, help="GUNICORN_WORKERS (default: gunicorn.conf.py's, 2 × cores + 1)"
    )
    parser.add_argument("--threads", type=int, default=None, help="GUNICORN_THREADS (default: gunicorn.conf.py's)")
    parser.add_argument(
        "--max-requests", type=int, default=None, help="gunicorn --max-requests (default: gunicorn.conf.py's)"
    )
    parser.add_argument("--show-queries", action="store_true", help="print the SQL of each counted page")
    parser.add_argument("--results", default=str(RESULTS), help="file whose page-speed section is rewritten")
    parser.add_argument("--no-results", action="store_true", help="print only; leave bench/results.md alone")
    parser.add_argument(
        "--emails", type=int, default=1000, help="pre-launch emails a round (default 1000; 0 skips them)"
    )
    parser.add_argument("--email-rounds", type=int, default=3, help="pre-launch email rounds (default 3)")
    parser.add_argument("--bulk-rows", type=int, default=0, help="bulk_enroll CSV rows (default 0: not measured)")
    parser.add_argument("--bulk-repeats", type=int, default=3, help="bulk_enroll measurements (default 3)")
    parser.add_argument(
        "--dashboard-students", type=int, default=0, help="students of the dashboard's run (default 0: not measured)"
    )
    parser.add_argument(
        "--search-posts", type=int, default=0, help="posts for the forum search timing (default 0: not measured)"
    )
    args = parser.parse_args(argv)
    if not (1 <= args.seconds <= 30 and 0 <= args.warmup <= 30 and 1 <= args.rounds <= 20):
        parser.error("--seconds must be 1..30, --warmup 0..30 and --rounds 1..20")
    if not (1 <= args.connections <= 1000 and 1 <= args.wrk_threads <= 16):
        parser.error("--connections must be 1..1000 and --wrk-threads 1..16")
    if args.wrk_threads > args.connections:
        parser.error("--wrk-threads must not exceed --connections")
    if any(value is not None and not 1 <= value <= 64 for value in (args.workers, args.threads)):
        parser.error("--workers and --threads must be 1..64")
    if args.max_requests is not None and args.max_requests < 0:
        parser.error("--max-requests must be 0 (no recycling) or more")
    if not (0 <= args.bulk_rows <= 200_000 and 1 <= args.bulk_repeats <= 10):
        parser.error("--bulk-rows must be 0..200000 and --bulk-repeats 1..10")
    if not (0 <= args.emails <= 100_000 and 1 <= args.email_rounds <= 10):
        parser.error("--emails must be 0..100000 and --email-rounds 1..10")
    if not (0 <= args.search_posts <= 500_000 and 0 <= args.dashboard_students <= 20_000):
        parser.error("--search-posts must be 0..500000 and --dashboard-students 0..20000")
    return args


# ---------------------------------------------------------------------------------------------------------
# The scratch database and Redis


@dataclass
class Database:
    url: str
    label: str
    postgres: dict | None = None  # connection settings of a Postgres database this script created
    created: bool = False
    _admin: object = None

    def backend_pids(self):
        """The Postgres server processes serving the scratch database, when the server runs on this machine."""
        if not self.postgres or (self.postgres.get("HOST") or "localhost") not in LOCAL_HOSTS | {""}:
            return None
        if self._admin is None:
            self._admin = _postgres_admin(self.postgres)
        with self._admin.cursor() as cursor:
            cursor.execute("SELECT pid FROM pg_stat_activity WHERE datname = %s", [self.postgres["NAME"]])
            return [row[0] for row in cursor.fetchall()]

    def close(self):
        if self._admin is not None:
            self._admin.close()
            self._admin = None


def _postgres_admin(config):
    import psycopg2

    connection = psycopg2.connect(
        dbname="postgres",
        user=config.get("USER") or None,
        password=config.get("PASSWORD") or None,
        host=config.get("HOST") or None,
        port=config.get("PORT") or None,
    )
    connection.autocommit = True
    return connection


def open_database(tmp: Path) -> Database:
    url = os.environ.get("DATABASE_URL", "").strip()
    if not url:
        return Database(url=f"sqlite:///{tmp / 'bench.sqlite3'}", label="SQLite (temporary file)")
    import dj_database_url

    config = dj_database_url.parse(url)
    if "postgresql" not in config["ENGINE"]:
        raise SystemExit("bench: DATABASE_URL must be a postgres:// URL (unset it to use a temporary SQLite file).")
    from psycopg2 import sql

    name = config["NAME"]
    admin = _postgres_admin(config)
    try:
        with admin.cursor() as cursor:
            cursor.execute("SELECT 1 FROM pg_database WHERE datname = %s", [name])
            if cursor.fetchone():
                raise SystemExit(
                    f"bench: database {name!r} already exists. The benchmark only uses a database it creates and "
                    f"drops itself; name a new one in DATABASE_URL, or drop this one if it is a leftover "
                    f"(dropdb -h {config.get('HOST') or 'localhost'} -U {config.get('USER') or '$USER'} {name})."
                )
            cursor.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(name)))
            version = admin.server_version
    finally:
        admin.close()
    label = f"PostgreSQL {version // 10000}.{version % 10000} ({name} on {config.get('HOST') or 'localhost'})"
    return Database(url=url, label=label, postgres=config, created=True)


def drop_database(database: Database):
    database.close()
    if not (database.postgres and database.created):
        return
    from psycopg2 import sql

    admin = _postgres_admin(database.postgres)
    try:
        force = sql.SQL(" WITH (FORCE)") if admin.server_version >= 130000 else sql.SQL("")
        with admin.cursor() as cursor:
            cursor.execute(
                sql.SQL("DROP DATABASE IF EXISTS {}{}").format(sql.Identifier(database.postgres["NAME"]), force)
            )
    finally:
        admin.close()
    log(f"bench: dropped database {database.postgres['NAME']}")


def open_redis(url):
    """The Redis at `url`, which must answer; its version."""
    import redis

    client = redis.Redis.from_url(url, socket_connect_timeout=2)
    try:
        version = client.info("server")["redis_version"]
    except redis.RedisError as error:
        raise SystemExit(
            f"bench: Redis at {url} does not answer ({error}). Start it (e.g. apt-get install redis-server) "
            "or set REDIS_URL / BENCH_REDIS_URL to one that runs."
        ) from None
    return client, version


def delete_cache_keys(client, prefix):
    """Delete this run's cache keys (bench/settings.py prefixes them with `prefix`): nothing else in that Redis."""
    deleted = 0
    batch = []
    for key in client.scan_iter(match=f"{prefix}:*", count=1000):
        batch.append(key)
        if len(batch) == 1000:
            deleted += client.delete(*batch)
            batch = []
    if batch:
        deleted += client.delete(*batch)
    client.close()
    log(f"bench: deleted {deleted} cache keys {prefix}:* from Redis")


def redis_cpu(client):
    """CPU seconds the Redis server has used (all its clients), or None."""
    try:
        info = client.info("cpu")
    except Exception:  # noqa: BLE001 - a figure for the report, not worth failing the run
        return None
    return float(info.get("used_cpu_sys", 0)) + float(info.get("used_cpu_user", 0))


# ---------------------------------------------------------------------------------------------------------
# Data


@dataclass
class Course:
    slug: str
    title: str
    lessons: int
    home_path: str
    lesson_path: str
    lesson_title: str
    landing_path: str
    search_path: str


def build_course(student, name, n_sections, per_section, *, office_hours=False):
    """A published course with a run that started 3 days ago, the student enrolled, half the lessons done."""
    from django.urls import reverse
    from django.utils import timezone

    from courses.markdown import render_markdown
    from courses.models import Course as CourseModel
    from courses.models import Lesson, LessonProgress, Resource, Section
    from enrollment.models import Enrollment, Run, Tier

    now = timezone.now()
    body_html = render_markdown(LESSON_BODY)
    slug = f"bench-{name}"
    course = CourseModel.objects.create(
        title=f"Bench course ({name})", slug=slug, description="A benchmark course.", is_published=True
    )
    Section.objects.bulk_create(
        Section(course=course, order=i, title=f"Section {i + 1}: a topic", summary="What this section covers.")
        for i in range(n_sections)
    )
    lessons = [
        Lesson(
            course=course,
            section=section,
            order=j,
            title=f"Lesson {section.order + 1}.{j + 1}: a subject",
            slug=f"lesson-{section.order + 1}-{j + 1}",
            body=LESSON_BODY,
            body_html=body_html,
            video_file="lessons/videos/bench.webm",
            captions="lessons/captions/bench.vtt",
            transcript=TRANSCRIPT,
            video_minutes=8,
            estimated_minutes=15,
        )
        for section in course.sections.all()
        for j in range(per_section)
    ]
    lessons[-1].release_after_days = 10  # one "coming soon" lesson, as courses have (the run started 3 days ago)
    Lesson.objects.bulk_create(lessons, batch_size=500)
    lessons = list(Lesson.objects.filter(course=course).in_syllabus_order())
    Resource.objects.bulk_create(
        (
            Resource(
                lesson=lesson,
                order=k,
                title=f"Reading {k + 1}",
                url=f"https://example.org/{lesson.slug}/{k}",
                note="Why it is worth reading.",
            )
            for lesson in lessons
            for k in range(2)
        ),
        batch_size=1000,
    )
    run = Run.objects.create(course=course, title="Bench cohort", slug=f"{slug}-run", starts_at=now - timedelta(days=3))
    standard = Tier.objects.create(run=run, kind=Tier.Kind.STANDARD, name="Standard", price="200.00", months=2)
    tier = standard
    if office_hours:
        tier = Tier.objects.create(run=run, kind=Tier.Kind.OFFICE_HOURS, name="With office hours", price="400.00",
                                   months=2, includes_office_hours=True)  # fmt: skip
        build_office_hours(run)
    Enrollment.objects.create(user=student, run=run, tier=tier, enrolled_at=run.starts_at)
    half = len(lessons) // 2
    started = now - timedelta(days=3)
    LessonProgress.objects.bulk_create(
        LessonProgress(
            user=student,
            lesson=lesson,
            completed_at=started + timedelta(minutes=10 * k),
            updated_at=started + timedelta(minutes=10 * k),
            video_position=480,
        )
        for k, lesson in enumerate(lessons[:half])
    )
    target = lessons[half]  # the first lesson not done: where "Continue where you left off" leads
    return Course(
        slug=slug,
        title=course.title,
        lessons=len(lessons),
        home_path=reverse("courses:home", args=[slug]),
        lesson_path=reverse("courses:lesson", args=[slug, target.slug]),
        lesson_title=target.title,
        landing_path=reverse("courses:landing", args=[slug]),
        # a common word: every lesson's text and reading match, so the search ranks them all
        search_path=f"{reverse('search:course', args=[slug])}?q=jitter+buffer",
    )


def build_office_hours(run):
    """Two weekly slots, and their sessions generated for the run's office-hours window (as the admin does)."""
    from officehours.models import WeeklySlot
    from officehours.scheduling import generate_sessions

    for weekday, hour, zone in ((1, 17, "Europe/Berlin"), (4, 9, "America/New_York")):
        WeeklySlot.objects.create(run=run, title="Office hours", weekday=weekday, local_time=clock(hour, 0),
                                  timezone=zone, meeting_url="https://meet.example.org/bench", capacity=30)  # fmt: skip
    return generate_sessions(run=run)


@dataclass
class Page:
    name: str
    path: str
    marker: str  # text the page must show (so a lost session, a redirect or an error page fails the run)
    cookie: str  # "student", "anonymous" or "staff"
    ref: str = "bare"  # the key of the page its req/s is divided by
    key: str = ""
    queries: int | None = None
    in_process_ms: float | None = None

    def __post_init__(self):
        self.key = self.key or self.name


def build_pages(args):
    """The data, and the pages in the order of the table."""
    from django.urls import reverse

    from accounts.models import User
    from bench.forum import forum_pages

    log("bench: building the courses (a small one, and one of 2,000 lessons), the forum and office hours")
    student = User.objects.create_user(email="bench-student@example.com", password=None, first_name="Bench")
    small = build_course(student, *COURSES[0], office_hours=True)
    large = build_course(student, *COURSES[1])
    forum = forum_pages(course_slug=small.slug, log=log)
    if forum is None:
        raise RuntimeError("the forum's pages do not exist (forum:board does not reverse)")
    board, thread = forum
    pages = [
        Page("bare view, no cookie", "/bench/bare/", "ok", "anonymous", ref="", key="bare-anon"),
        Page("bare view, with cookie", "/bench/bare/", "ok", "student", ref="bare-anon", key="bare"),
        Page("landing page, anonymous", small.landing_path, small.title, "anonymous", ref="bare-anon"),
        Page("landing page, logged in", small.landing_path, small.title, "student"),
        Page("my courses (/)", "/", small.title, "student"),
        Page(f"course home ({small.lessons} lessons)", small.home_path, small.title, "student"),
        Page("lesson page (next to do)", small.lesson_path, small.lesson_title, "student"),
        Page("forum board (300 threads)", board.path, board.marker, "student"),
        Page("thread, 500 posts, page 1", thread.path, thread.marker, "student"),
        Page("office hours", reverse("officehours:index", args=[small.slug]), "Office hours", "student"),
        Page('course search ("jitter buffer")', small.search_path, "<mark>", "student"),
        Page(f"course home ({large.lessons:,} lessons)", large.home_path, large.title, "student"),
    ]
    # Bulk-built tables have no statistics yet; a live site's autovacuum keeps them. Without this, Postgres
    # guessed 4 of the 2,000 lessons and joined the student's progress to them in 30 ms instead of 1.5.
    from django.db import connection

    if connection.vendor == "postgresql":
        with connection.cursor() as cursor:
            cursor.execute("ANALYZE")
    staff, dashboard_list = None, []
    if args.dashboard_students:
        from bench.dashboard import dashboard_pages

        dashboard = dashboard_pages(course_slug=small.slug, log=log, students=args.dashboard_students)
        if dashboard is not None:
            staff, dashboard_list = dashboard
            pages += [Page(page.name, page.path, page.marker, "staff") for page in dashboard_list if page.load]
    return student, staff, small, large, pages, dashboard_list


# ---------------------------------------------------------------------------------------------------------
# Queries per page, in-process


def make_client(user=None):
    from django.test import Client

    client = Client(headers=PROXY_HEADERS)
    if user is not None:
        client.force_login(user)
    return client


def count_queries(client, path, marker, repeats=5):
    """(queries, median ms) of one request in-process, after a first request that warms per-process caches."""
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    client.get(path)
    with CaptureQueriesContext(connection) as captured:
        response = client.get(path)
    queries = list(captured.captured_queries)
    if response.status_code != 200 or marker.encode() not in response.content:
        raise RuntimeError(f"{path} answered {response.status_code} in-process, expected 200 with {marker!r}")
    times = []
    for _ in range(repeats):
        start = time.perf_counter()
        client.get(path)
        times.append(time.perf_counter() - start)
    return queries, 1000 * statistics.median(times) if times else None


def cookie_header(client):
    from django.conf import settings

    cookie = f"{settings.SESSION_COOKIE_NAME}={client.cookies[settings.SESSION_COOKIE_NAME].value}"
    if settings.CSRF_COOKIE_NAME in client.cookies:  # a browser sends back the CSRF cookie that pages set
        cookie += f"; {settings.CSRF_COOKIE_NAME}={client.cookies[settings.CSRF_COOKIE_NAME].value}"
    return cookie


# ---------------------------------------------------------------------------------------------------------
# gunicorn, as production runs it


def free_port():
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


class Server:
    """`gunicorn courseweb.wsgi -c gunicorn.conf.py` on 127.0.0.1, in a process group of its own.

    The access log (stdout) goes to /dev/null: written as production writes it, not kept. The error log (stderr)
    goes to a file, shown if gunicorn fails.
    """

    def __init__(self, *, env, log_path, workers=None, threads=None, max_requests=None):
        self.port = free_port()
        self.env = {**env, "GUNICORN_BIND": f"127.0.0.1:{self.port}"}
        if workers:
            self.env["GUNICORN_WORKERS"] = str(workers)
        if threads:
            self.env["GUNICORN_THREADS"] = str(threads)
        self.log_path = log_path
        self.max_requests = max_requests
        self.process = None
        self._log = None

    def start(self, timeout=60):
        command = [sys.executable, "-m", "gunicorn", "courseweb.wsgi", "-c", "gunicorn.conf.py"]
        if self.max_requests is not None:
            command += ["--max-requests", str(self.max_requests)]  # the command line wins over the file
        self._log = open(self.log_path, "wb")  # noqa: SIM115 - closed in stop()
        self.process = subprocess.Popen(
            command, env=self.env, cwd=REPO, stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL, stderr=self._log,
            start_new_session=True,
        )  # fmt: skip
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise RuntimeError(f"gunicorn exited with code {self.process.returncode}:\n{self.log_tail()}")
            try:
                status, _ = fetch(self.port, "/bench/bare/", "")
                if status == 200:
                    return self
            except OSError:
                pass
            time.sleep(0.2)
        raise RuntimeError(f"gunicorn did not answer within {timeout} s:\n{self.log_tail()}")

    def config(self):
        """Workers, threads, max_requests of the running configuration (gunicorn.conf.py with our environment)."""
        code = (
            "import runpy, json; c = runpy.run_path('gunicorn.conf.py'); "
            "print(json.dumps({k: c.get(k) for k in ('workers', 'threads', 'worker_class', 'max_requests', "
            "'max_requests_jitter', 'keepalive')}))"
        )
        import json

        out = subprocess.run([sys.executable, "-c", code], env=self.env, cwd=REPO, capture_output=True, text=True,
                             check=True, timeout=30)  # fmt: skip
        config = json.loads(out.stdout)
        if self.max_requests is not None:
            config["max_requests"] = self.max_requests
        return config

    def log_tail(self, lines=30):
        try:
            return "\n".join(self.log_path.read_text(errors="replace").splitlines()[-lines:])
        except OSError:
            return "(no log)"

    def workers_booted(self):
        """How many times a worker has booted so far (gunicorn.conf.py's max_requests recycles them)."""
        try:
            return self.log_path.read_text(errors="replace").count("Booting worker")
        except OSError:
            return 0

    def cpu_seconds(self):
        """CPU of the master, its live workers and the workers it has reaped (cutime): all of gunicorn's."""
        if not HAS_PROC or self.process is None:
            return None
        total = 0.0
        fields = _stat(self.process.pid)
        if fields is None:
            return None
        total += sum(int(value) for value in fields[11:15]) / CLOCK_TICKS  # utime, stime, cutime, cstime
        for pid in children(self.process.pid):
            child = _stat(pid)
            if child is not None:
                total += (int(child[11]) + int(child[12])) / CLOCK_TICKS
        return total

    def stop(self):
        """SIGTERM to the group (gunicorn stops its workers, then itself); SIGKILL to the group if that hangs."""
        if self.process is None:
            return
        try:
            if self.process.poll() is None:
                os.killpg(self.process.pid, signal.SIGTERM)
            self.process.wait(timeout=40)
        except ProcessLookupError:
            pass
        except subprocess.TimeoutExpired:
            os.killpg(self.process.pid, signal.SIGKILL)  # the master is still alive, so the group is still ours
            self.process.wait(timeout=5)
        self.process = None
        if self._log is not None:
            self._log.close()


def fetch(port, path, cookie):
    """One GET through gunicorn; (status, body)."""
    connection = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
    try:
        headers = {"Accept": "text/html", **PROXY_HEADERS}
        if cookie:
            headers["Cookie"] = cookie
        connection.request("GET", path, headers=headers)
        response = connection.getresponse()
        return response.status, response.read()
    finally:
        connection.close()


def check_page(port, page, cookie):
    """One request before the load: 200, the expected text, and "Log out" when logged in (the session holds)."""
    status, body = fetch(port, page.path, cookie)
    if status != 200:
        raise RuntimeError(f"{page.name}: GET {page.path} answered {status} through gunicorn; expected 200")
    wanted = [page.marker] + (["Log out"] if cookie and page.cookie == "student" and page.key != "bare" else [])
    for marker in wanted:
        if marker.encode() not in body:
            raise RuntimeError(f"{page.name}: GET {page.path} answered 200 but without {marker!r}")


# ---------------------------------------------------------------------------------------------------------
# CPU accounting (Linux /proc; elsewhere n/a)

HAS_PROC = Path("/proc/self/stat").exists() and Path("/proc/stat").exists()
CLOCK_TICKS = os.sysconf("SC_CLK_TCK") if hasattr(os, "sysconf") else 100


def _stat(pid):
    try:
        return Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()  # fields from 3 (state) on
    except (OSError, IndexError):
        return None


def children(parent):
    found = []
    for entry in Path("/proc").glob("[0-9]*/stat") if HAS_PROC else []:
        try:
            fields = entry.read_text().rsplit(")", 1)[1].split()
        except (OSError, IndexError):
            continue
        if int(fields[1]) == parent:
            found.append(int(entry.parent.name))
    return found


def _process_cpu(pid):
    fields = _stat(pid)
    return None if fields is None else (int(fields[11]) + int(fields[12])) / CLOCK_TICKS


def children_cpu():
    """CPU seconds of this process's finished children: the wrk runs (gunicorn is waited for only at the end)."""
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    return usage.ru_utime + usage.ru_stime


def machine_busy():
    if not HAS_PROC:
        return None
    fields = [int(value) for value in Path("/proc/stat").read_text().splitlines()[0].split()[1:9]]
    user, nice, system, _idle, _iowait, irq, softirq, steal = fields
    return (user + nice + system + irq + softirq + steal) / CLOCK_TICKS


class CpuMeter:
    """CPU seconds of gunicorn, of the scratch database's Postgres backends, of Redis, of wrk, of the machine."""

    def __init__(self, server, database, redis_client):
        self.server, self.database, self.redis = server, database, redis_client

    def snapshot(self):
        backends = self.database.backend_pids()
        return {
            "time": time.monotonic(),
            "app": self.server.cpu_seconds(),
            "db": None if backends is None else {pid: _process_cpu(pid) for pid in backends},
            "redis": redis_cpu(self.redis),
            "wrk": children_cpu(),
            "machine": machine_busy(),
        }

    @staticmethod
    def shares(before, after):
        """Each part's CPU between two snapshots, as a share of one core; "other" is the machine's rest."""
        seconds = after["time"] - before["time"]

        def delta(key):
            first, second = before[key], after[key]
            return None if first is None or second is None else second - first

        db = None
        if before["db"] is not None and after["db"] is not None:
            db = sum(cpu - (before["db"].get(pid) or 0) for pid, cpu in after["db"].items() if cpu is not None)
        used = {"app": delta("app"), "db": db, "redis": delta("redis"), "wrk": delta("wrk")}
        machine = delta("machine")
        if machine is not None:
            used["other"] = max(0.0, machine - sum(value or 0.0 for value in used.values()))
        return {key: None if value is None else value / seconds for key, value in used.items()}


# ---------------------------------------------------------------------------------------------------------
# The load: wrk slices, each page alternated with its reference


def schedule(pages):
    """The order of the slices of one round: each page between two slices of its reference.

    bare, bare-anon, landing anonymous, bare-anon, bare, page, bare, page, ..., bare: the anonymous pages between
    slices of the bare view without cookie, every other page between slices of the bare view with the cookie.
    """
    by_key = {page.key: page for page in pages}
    anonymous = [page for page in pages if page.ref == "bare-anon" and page.key != "bare"]
    rest = [page for page in pages if page.ref == "bare"]
    order = [by_key["bare"], by_key["bare-anon"]]
    for page in anonymous:
        order += [page, by_key["bare-anon"]]
    order.append(by_key["bare"])
    for page in rest:
        order += [page, by_key["bare"]]
    return order


def adjacent_reference_rate(sequence, key, ref):
    """req/s of the reference over its slices adjacent to one of `key`'s slices, in a sequence of (key, Slice)."""
    from bench.wrk import Slices

    chosen = set()
    for index, (slice_key, _) in enumerate(sequence):
        if slice_key != key:
            continue
        for neighbour in (index - 1, index + 1):
            if 0 <= neighbour < len(sequence) and sequence[neighbour][0] == ref:
                chosen.add(neighbour)
    slices = Slices([sequence[index][1] for index in sorted(chosen)])
    return slices.rate


class Load:
    """wrk slices of the pages against one gunicorn."""

    def __init__(self, port, cookies, args, tmp):
        from bench.wrk import SCRIPT

        self.port, self.cookies, self.args = port, cookies, args
        self.durations = {}  # page key -> seconds of its slices
        self.script = tmp / "bench.lua"
        self.script.write_text(SCRIPT)

    def one(self, page, seconds):
        from bench.wrk import run_slice

        headers = {"Accept": "text/html", **PROXY_HEADERS}
        if self.cookies[page.cookie]:
            headers["Cookie"] = self.cookies[page.cookie]
        return run_slice(url=f"http://127.0.0.1:{self.port}{page.path}", headers=headers, seconds=seconds,
                         connections=self.args.connections, threads=self.args.wrk_threads,
                         script_path=self.script)  # fmt: skip

    def warm_up(self, pages):
        """Load each page for --warmup seconds, and choose its slice length from its latency then."""
        log(f"bench: warming up, {self.args.warmup} s of load on each page")
        for page in pages:
            warm = self.one(page, self.args.warmup)
            if warm.requests < self.args.connections:  # a slow page: most requests were still running at the end
                warm = self.one(page, SLOW_WARMUP)
            latency = warm.mean_latency if warm.requests else None
            self.durations[page.key] = slice_seconds(
                latency=latency, in_process_ms=page.in_process_ms, connections=self.args.connections,
                minimum=self.args.seconds,
            )  # fmt: skip

    def rounds(self, pages):
        """The measured rounds; the sequence of (page key, Slice) in the order they ran."""
        order = schedule(pages)
        for page in pages:
            self.durations.setdefault(
                page.key,
                slice_seconds(latency=None, in_process_ms=page.in_process_ms, connections=self.args.connections,
                              minimum=self.args.seconds),
            )  # fmt: skip
        total = sum(self.durations[page.key] for page in order)
        sequence = []
        for number in range(self.args.rounds):
            log(f"bench: round {number + 1} of {self.args.rounds}: {len(order)} slices, {total} s")
            for page in order:
                sequence.append((page.key, self.one(page, self.durations[page.key])))
        return sequence


SLICE_LATENCIES = 5  # a slice lasts at least this many times the page's latency under load
MAX_SLICE = 10
SLOW_WARMUP = 4  # seconds of a second warm-up for a page that completed fewer requests than connections in the first


def slice_seconds(*, latency, in_process_ms, connections, minimum):
    """Whole seconds of one slice of a page: at least `minimum`, and SLICE_LATENCIES × its latency under load.

    wrk counts the requests that complete within the slice; the `connections` requests still running at its
    end are cut off, so a slice must be long against the page's latency. Without a latency from the warm-up
    (a slow page completes few requests in it), it is estimated from the in-process time: `connections`
    requests sharing the machine's cores.
    """
    if latency is None and in_process_ms:
        latency = connections * in_process_ms / 1000 / (os.cpu_count() or 1)
    wanted = math.ceil(SLICE_LATENCIES * latency) if latency else minimum
    return max(minimum, min(MAX_SLICE, wanted))


@dataclass
class Row:
    page: Page
    slices: object
    ratio: float | None
    ref_rate: float | None


def rows_of(pages, sequence):
    from bench.wrk import Slices

    rows = []
    for page in pages:
        slices = Slices([one for key, one in sequence if key == page.key])
        ref_rate = adjacent_reference_rate(sequence, page.key, page.ref) if page.ref else None
        ratio = slices.rate / ref_rate if ref_rate else None
        rows.append(Row(page, slices, ratio, ref_rate))
    return rows


# ---------------------------------------------------------------------------------------------------------
# The machine


def machine():
    def first(path, pattern):
        try:
            match = re.search(pattern, Path(path).read_text(), re.MULTILINE)
        except OSError:
            return None
        return match.group(1).strip() if match else None

    memory = first("/proc/meminfo", r"^MemTotal:\s+(\d+)")
    return {
        "cpu": first("/proc/cpuinfo", r"^model name\s*:\s*(.+)$") or platform.processor() or platform.machine(),
        "cores": os.cpu_count(),
        "ram": f"{int(memory) / 1024 / 1024:.1f} GiB" if memory else "?",
        "os": (first("/etc/os-release", r'^PRETTY_NAME="?([^"\n]+)') or platform.system()) + f", {platform.release()}",
        "python": platform.python_version(),
    }


def tool_version(command):
    try:
        done = subprocess.run(command, capture_output=True, text=True, timeout=10, check=False)
    except OSError:
        return "?"
    return (done.stdout + done.stderr).strip().splitlines()[0] if (done.stdout + done.stderr).strip() else "?"


# ---------------------------------------------------------------------------------------------------------
# Output


def fmt(value, spec, missing="–"):
    return missing if value is None else format(value, spec)


def page_table(rows):
    """The markdown table of the pages."""
    lines = [
        "| page | req/s | p50 ms | p99 ms | ratio | of | queries | in-process ms | errors | KB | requests | slices |",
        "|---|---:|---:|---:|---:|---|---:|---:|---:|---:|---:|---|",
    ]
    names = {"bare": "bare, cookie", "bare-anon": "bare, no cookie"}
    for row in rows:
        slices = row.slices
        rate = slices.rate
        lines.append(
            f"| {row.page.name} | {rate:,.0f} | {1000 * slices.percentile(50):.1f} | "
            f"{1000 * slices.percentile(99):.1f} | {fmt(row.ratio, '.3f')} | {names.get(row.page.ref, '–')} | "
            f"{fmt(row.page.queries, 'd')} | {fmt(row.page.in_process_ms, '.1f')} | {slices.errors} | "
            f"{slices.kilobytes:.1f} | {slices.requests:,} | {slice_summary(slices)} |"
        )
    return lines


def errors_line(rows):
    failing = [row for row in rows if row.slices.errors]
    if not failing:
        return "Errors: none."
    return (
        "ERRORS: "
        + "; ".join(
            f"{row.page.name} {row.slices.errors} (statuses other than 200: {row.slices.statuses or 'none'})"
            for row in failing
        )
        + "."
    )


def slice_summary(slices):
    """e.g. "3 × 2 s": how many slices the page had, and how long (wrk's duration, rounded)."""
    lengths = sorted({round(one.seconds) for one in slices.items})
    return f"{len(slices.items)} × {'/'.join(str(length) for length in lengths)} s"


def emails_line(report):
    if report is None:
        return "Pre-launch emails: not measured (--emails 0)."
    if report.skipped:
        return f"Pre-launch emails: {report.skipped}."
    worker, loop = report.rate(report.worker), report.rate(report.smtplib_loop)
    ratio = worker / loop if worker and loop else None
    return (
        f"Pre-launch emails ({report.emails} a round, median of {report.rounds} rounds): "
        f"**{fmt(worker, '.0f')} emails/s** through a Celery worker (solo pool) to an SMTP sink, "
        f"{fmt(loop, '.0f')} emails/s for a plain smtplib loop over one connection: ratio **{fmt(ratio, '.3f')}**."
    )


def report_lines(*, rows, args, info, constant, cpu, load, restarts, email_report, command):
    bare = next(row for row in rows if row.page.key == "bare")
    lines = [
        RESULTS_HEADING,
        "",
        f"`{command}`, {info['date']}.",
        "",
        f"Machine: {info['cpu']}, {info['cores']} cores, {info['ram']} RAM; {info['os']}; Python {info['python']}, "
        f"Django {info['django']}, {info['postgres']}, Redis {info['redis']}, {info['gunicorn']}, {info['wrk']}.",
        "",
        f"Server: `gunicorn courseweb.wsgi -c gunicorn.conf.py` ({info['server']}), DEBUG off "
        "(bench/settings.py), Postgres, the cache in Redis, behind no proxy (requests carry `X-Forwarded-Proto: "
        "https` as nginx's do). "
        f"Load: wrk, {args.connections} connections, {args.wrk_threads} thread(s). After {args.warmup} s of "
        f"warm-up per page, {args.rounds} rounds in one run: in each, every page's slice between two slices of its "
        f"reference (`of`); a slice lasts {args.seconds} s, or {SLICE_LATENCIES} × the page's mean latency at "
        f"warm-up if longer (at most {MAX_SLICE} s). Every request but the anonymous ones carries the same "
        "logged-in student's session and CSRF cookies.",
        "",
        *page_table(rows),
        "",
        "req/s: the page's requests ÷ the time of its slices. ratio: that ÷ the req/s of the reference's slices "
        "adjacent to the page's (`bare, cookie`: the bare Django view with the same cookie; `bare, no cookie`: "
        "without cookies, the reference of the anonymous pages and of the bare view with the cookie). p50/p99: "
        "over all requests of the page's slices (each slice's wrk percentiles, merged weighted by its request "
        "count). queries: one request in-process (test client, after a warm-up request); in-process ms: median of "
        "5 such requests. errors: failed connections, timeouts and responses other than 200. KB: bytes received "
        "per response, headers included. requests, slices: what the row is measured over.",
        "",
        f"Queries against course size (small course of {COURSES[0][1] * COURSES[0][2]} lessons → "
        f"{COURSES[1][1] * COURSES[1][2]:,}-lesson course): "
        + "; ".join(f"{name} {small} → {large}" for name, small, large in constant)
        + ".",
        "",
        f"CPU during the measured rounds (share of one core; {info['cores']} cores = {100 * info['cores']}%): "
        + ", ".join(f"{key} {fmt(None if value is None else 100 * value, '.0f')}%" for key, value in cpu.items())
        + f" (app = gunicorn, db = the scratch database's Postgres backends, redis = the whole Redis server, "
        f"other = everything else on the machine). Load average before/after: {load[0]:.2f}/{load[1]:.2f}. "
        f"gunicorn worker boots during the run: {restarts} (max_requests {info['max_requests']} recycles workers).",
        "",
        f"Bare view, with cookie ÷ without: {fmt(bare.ratio, '.3f')}. {errors_line(rows)}",
        "",
        emails_line(email_report),
        "",
    ]
    return lines


def write_results(path, lines):
    """Replace the page-speed section of `path` (from its heading to the next `## ` heading), or append it."""
    path = Path(path)
    text = path.read_text() if path.exists() else "# Benchmark results\n"
    section = "\n".join(lines).rstrip() + "\n"
    return_text = replace_section(text, section)
    path.write_text(return_text)


def replace_section(text, section):
    """`text` with its RESULTS_HEADING section replaced by `section` (or `section` appended)."""
    start = text.find(f"\n{RESULTS_HEADING}\n")
    if start < 0:
        return text.rstrip() + "\n\n" + section
    start += 1
    end = text.find("\n## ", start + len(RESULTS_HEADING))
    rest = "" if end < 0 else text[end + 1 :]
    return text[:start] + section + ("\n" + rest if rest else "")


# ---------------------------------------------------------------------------------------------------------


def _cleanup(what, function, *args):
    try:
        function(*args)
    except Exception as error:  # noqa: BLE001 - report it, and go on cleaning up
        log(f"bench: could not {what}: {error!r}")


def _interrupt(signum, frame):
    raise KeyboardInterrupt(f"signal {signum}")


def preflight():
    """Stop early, with a message, when wrk, the database URL or Redis is missing."""
    from bench.wrk import wrk_path

    if not wrk_path():
        raise SystemExit("bench: wrk is not installed (Debian, Ubuntu: apt-get install wrk; macOS: brew install wrk).")
    url = os.environ.get("DATABASE_URL", "").strip()
    if not url.startswith(("postgres://", "postgresql://")):
        raise SystemExit(
            "bench: set DATABASE_URL to a Postgres database that does not exist yet; the bench creates and drops it "
            "(make bench uses postgres://postgres@127.0.0.1:5432/courseweb_bench)."
        )
    if not os.environ.get("REDIS_URL", "").strip():
        raise SystemExit("bench: set REDIS_URL (make bench uses redis://127.0.0.1:6379/15): the cache, as production.")


def main(argv=None):
    args = parse_args(argv)
    # Run as bench/bench.py, Python puts bench/ first on the path, where "bench" would be this file, not the package.
    sys.path[:] = [entry for entry in sys.path if Path(entry or ".").resolve() != Path(__file__).resolve().parent]
    sys.path.insert(0, str(REPO))
    preflight()
    for signum in (signal.SIGTERM, signal.SIGHUP):
        signal.signal(signum, _interrupt)
    tmp = Path(tempfile.mkdtemp(prefix="courseweb-bench-"))
    database = server = redis_client = None
    prefix = f"bench-{secrets.token_hex(4)}"
    django_ready = False
    arguments = list(sys.argv[1:] if argv is None else argv)
    command = " ".join(["make bench" if os.environ.get("BENCH_FROM_MAKE") else "bench/bench.py", *arguments])
    try:
        redis_url = os.environ["REDIS_URL"].strip()
        redis_client, redis_version = open_redis(redis_url)
        try:
            database = open_database(tmp)
        except Exception as error:
            if type(error).__name__ == "OperationalError":
                raise SystemExit(f"bench: Postgres does not answer ({str(error).strip()}). Is it running?") from None
            raise
        log(f"bench: database {database.label}, Redis {redis_url} (cache keys {prefix}:*)")
        os.environ.update(
            DJANGO_SETTINGS_MODULE="bench.settings",
            SECRET_KEY=secrets.token_urlsafe(50),  # one key for this process and the workers: sessions stay valid
            DATABASE_URL=database.url,
            BENCH_STATIC_ROOT=str(tmp / "static"),
            BENCH_CACHE_PREFIX=prefix,
            PYTHONPATH=os.pathsep.join([str(REPO), *filter(None, [os.environ.get("PYTHONPATH")])]),
        )

        import django

        django.setup()
        django_ready = True
        from django.core.management import call_command
        from django.db import connections

        log("bench: migrating and collecting static files")
        call_command("migrate", verbosity=0, interactive=False)
        call_command("collectstatic", verbosity=0, interactive=False)
        student, staff, small, large, pages, dashboard_list = build_pages(args)

        log("bench: counting queries in-process")
        clients = {"student": make_client(student), "anonymous": make_client(), "staff": make_client(staff)}
        counted = {}
        for page in pages:
            queries, page.in_process_ms = count_queries(clients[page.cookie], page.path, page.marker)
            page.queries = len(queries)
            counted[page.name] = queries
        constant = []
        for name, kind in (("course home", "home_path"), ("lesson page", "lesson_path"), ("search", "search_path")):
            marker_small = small.lesson_title if kind == "lesson_path" else "<mark>" if kind == "search_path" else ""
            marker_large = large.lesson_title if kind == "lesson_path" else "<mark>" if kind == "search_path" else ""
            few, _ = count_queries(clients["student"], getattr(small, kind), marker_small, repeats=0)
            many, _ = count_queries(clients["student"], getattr(large, kind), marker_large, repeats=0)
            constant.append((name, len(few), len(many)))
        cookies = {"anonymous": "", "student": cookie_header(clients["student"])}
        cookies["staff"] = cookie_header(clients["staff"]) if staff is not None else ""
        connections.close_all()

        import gunicorn
        from django import get_version

        server = Server(env=dict(os.environ), log_path=tmp / "gunicorn.log", workers=args.workers,
                        threads=args.threads, max_requests=args.max_requests)  # fmt: skip
        config = server.config()
        log(f"bench: starting gunicorn {gunicorn.__version__}: {config}")
        server.start()
        for page in pages:
            check_page(server.port, page, cookies[page.cookie])
        meter = CpuMeter(server, database, redis_client)
        boots_before = server.workers_booted()
        load_before = os.getloadavg()[0]
        load = Load(server.port, cookies, args, tmp)
        if args.warmup:
            load.warm_up(pages)
        before = meter.snapshot()
        sequence = load.rounds(pages)
        after = meter.snapshot()
        cpu = CpuMeter.shares(before, after)
        load_after = os.getloadavg()[0]
        restarts = server.workers_booted() - boots_before
        rows = rows_of(pages, sequence)

        email_report = None
        if args.emails:
            from bench.emails import measure_prelaunch_emails, print_email_table

            server.stop()  # the emails get the CPU to themselves
            email_report = measure_prelaunch_emails(
                redis_url=redis_url, database_url=database.url, database_label=database.label, tmp=tmp,
                emails=args.emails, rounds=args.email_rounds, log=log,
            )  # fmt: skip
        info = {
            **machine(),
            "date": datetime.now(UTC).strftime("%Y-%m-%d %H:%M UTC"),
            "django": get_version(),
            "postgres": database.label.split(" (")[0],
            "redis": redis_version,
            "gunicorn": f"gunicorn {gunicorn.__version__}",
            "wrk": tool_version(["wrk", "--version"]).split(" [")[0],
            "max_requests": config["max_requests"],
            "server": f"{config['workers']} {config['worker_class']} workers × {config['threads']} threads, "
            f"max_requests {config['max_requests']}",
        }
        lines = report_lines(rows=rows, args=args, info=info, constant=constant, cpu=cpu,
                             load=(load_before, load_after), restarts=restarts, email_report=email_report,
                             command=command)  # fmt: skip
        print()
        print("\n".join(lines))
        if email_report is not None:
            print_email_table(email_report)
        if args.show_queries:
            for name, queries in counted.items():
                print(f"\n-- {name}: {len(queries)} queries")
                for number, query in enumerate(queries, 1):
                    print(f"{number:>3}. {query['sql']}")
        if not args.no_results:
            write_results(args.results, lines)
            log(f"bench: wrote the page-speed section of {args.results}")
        extra_measurements(args, database, tmp, clients["staff"], dashboard_list)
        log("bench: done")
        if any(row.slices.errors for row in rows):
            log("bench: some requests failed (see the errors column); exit status 1")
            return 1
    except KeyboardInterrupt:
        log("bench: interrupted; cleaning up")
        return 130
    finally:
        # Each step on its own, so that one that fails does not leave the others undone.
        if server is not None:
            _cleanup("stop gunicorn", server.stop)
        if django_ready:
            from django.db import connections

            _cleanup("close the database connections", connections.close_all)
        if database is not None:
            _cleanup("drop the scratch database", drop_database, database)
        if redis_client is not None:
            _cleanup("delete the cache keys", delete_cache_keys, redis_client, prefix)
        shutil.rmtree(tmp, ignore_errors=True)
    return 0


def extra_measurements(args, database, tmp, staff_client, dashboard_list):
    """The measurements `make bench` leaves out, each behind its option."""
    if dashboard_list:
        from bench.dashboard import measure_dashboard, print_dashboard_table

        print_dashboard_table(measure_dashboard(staff_client, dashboard_list), students=args.dashboard_students)
    if args.search_posts:
        from bench.forum import measure_search, print_search_table

        print_search_table(measure_search(postgres=True, log=log, posts=args.search_posts))
    if args.bulk_rows:
        from bench.bulk_enroll import measure_bulk_enroll, print_bulk_table

        bulk = measure_bulk_enroll(
            database_label=database.label, postgres=True, tmp=tmp, rows=args.bulk_rows,
            repeats=args.bulk_repeats, log=log,
        )  # fmt: skip
        print_bulk_table(bulk)


if __name__ == "__main__":
    sys.exit(main())
