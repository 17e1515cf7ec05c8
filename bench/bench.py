#!/usr/bin/env python
"""Courseweb benchmark: page throughput under gunicorn, SQL queries per page, and bulk enrolment.

Builds its own data in a scratch database, then prints three tables:

1. requests per second and p50/p99 latency of a bare Django view and of the student's pages (lesson page,
   course home and course search, small and large course), all served by one gunicorn process group on 127.0.0.1 in the
   same run, with each page's throughput as a fraction of the bare view's;
2. the SQL queries of the course home, the lesson page and the course search, for a small (7 × 5) and a large (50 × 40)
   course, counted in-process with the test client;
3. bulk_enroll of a 10,000-row CSV in rows per second, and as a fraction of a plain COPY of the same rows
   (bench/bulk_enroll.py; COPY n/a without Postgres);
4. pre-launch emails per second through a real Celery worker to a local SMTP sink, and as a fraction of a
   plain smtplib loop over one connection (bench/emails.py; needs REDIS_URL, else the table says skipped).
5. the forum (bench/forum.py): its thread list and a page of a 500-post thread join table 1, and search latency
   over 100,000 posts is timed in-process (Postgres only, else the table says skipped).
6. the instructor's dashboard of a run of 2,000 students (bench/dashboard.py): its pages join table 1, and their
   queries and time (the CSV export too) are counted in-process.

Database: DATABASE_URL if set (Postgres only: the script creates the database it names, which must not
exist yet, and drops it at the end), else a temporary SQLite file. Traffic goes to 127.0.0.1 only, is
bounded in time and count, and gunicorn is stopped and everything removed even on error or Ctrl-C.

    make bench
    DATABASE_URL=postgres://postgres@127.0.0.1:5432/courseweb_bench .venv/bin/python bench/bench.py
    .venv/bin/python bench/bench.py --seconds 10 --workers 2 --concurrency 4

See bench/README.md for the method and how to read the tables.
"""

import argparse
import multiprocessing
import os
import secrets
import shutil
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from array import array
from dataclasses import dataclass, field
from datetime import timedelta
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
COURSES = [("small", 7, 5), ("large", 50, 40)]  # name, sections, lessons per section
LOCAL_HOSTS = {"localhost", "127.0.0.1", "::1"}

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


def parse_args():
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--seconds", type=float, default=5.0, help="measured seconds per page (default 5)")
    parser.add_argument("--warmup", type=float, default=2.0, help="warm-up seconds per page, not measured (default 2)")
    parser.add_argument("--workers", type=int, default=2, help="gunicorn sync workers (default 2)")
    parser.add_argument(
        "--concurrency", type=int, default=None, help="concurrent client connections (default: 2 per worker)"
    )
    parser.add_argument(
        "--max-requests", type=int, default=50_000, help="cap on measured requests per page (default 50000)"
    )
    parser.add_argument(
        "--rounds", type=int, default=5, help="measure the pages in this many interleaved rounds (default 5)"
    )
    parser.add_argument("--show-queries", action="store_true", help="print the SQL of each counted page")
    parser.add_argument(
        "--bulk-rows", type=int, default=10_000, help="rows in the bulk_enroll CSV (default 10000; 0 skips it)"
    )
    parser.add_argument("--bulk-repeats", type=int, default=3, help="bulk_enroll measurements (default 3)")
    parser.add_argument(
        "--emails", type=int, default=1000, help="pre-launch emails a round (default 1000; 0 skips them)"
    )
    parser.add_argument("--email-rounds", type=int, default=3, help="pre-launch email rounds (default 3)")
    parser.add_argument(
        "--dashboard-students", type=int, default=2000, help="students in the dashboard's run (default 2000)"
    )
    parser.add_argument(
        "--search-posts", type=int, default=100_000, help="posts to search over (default 100000; 0 skips it)"
    )
    args = parser.parse_args()
    args.concurrency = args.concurrency or 2 * args.workers
    if not (0 < args.seconds <= 60 and 0 <= args.warmup <= 30):
        parser.error("--seconds must be in (0, 60] and --warmup in [0, 30]")
    if not (1 <= args.workers <= 16 and 1 <= args.concurrency <= 64 and 1 <= args.rounds <= 20):
        parser.error("--workers must be 1..16, --concurrency 1..64, --rounds 1..20")
    if not (0 <= args.bulk_rows <= 200_000 and 1 <= args.bulk_repeats <= 10):
        parser.error("--bulk-rows must be 0..200000 and --bulk-repeats 1..10")
    if not (0 <= args.emails <= 100_000 and 1 <= args.email_rounds <= 10):
        parser.error("--emails must be 0..100000 and --email-rounds 1..10")
    if not 0 <= args.search_posts <= 500_000:
        parser.error("--search-posts must be 0..500000")
    if args.max_requests < args.rounds * args.concurrency:
        parser.error("--max-requests must be at least --rounds × --concurrency")
    return args


# ---------------------------------------------------------------------------------------------------------
# The scratch database


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


# ---------------------------------------------------------------------------------------------------------
# Data


@dataclass
class CoursePages:
    name: str
    sections: int
    per_section: int
    home_path: str
    lesson_path: str
    lesson_title: str
    title: str
    search_path: str = ""

    @property
    def lessons(self):
        return self.sections * self.per_section

    @property
    def label(self):
        return f"{self.name} ({self.sections}×{self.per_section} = {self.lessons} lessons)"


def build_data():
    """Create one student enrolled in a small and a large course, with progress on half of each."""
    from django.urls import reverse
    from django.utils import timezone

    from accounts.models import User
    from courses.markdown import render_markdown
    from courses.models import Course, Lesson, LessonProgress, Resource, Section
    from enrollment.models import Enrollment, Run, Tier

    now = timezone.now()
    body_html = render_markdown(LESSON_BODY)
    student = User.objects.create_user(email="bench-student@example.com", password=None, first_name="Bench")
    pages = []
    for name, n_sections, per_section in COURSES:
        slug = f"bench-{name}"
        course = Course.objects.create(
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
        run = Run.objects.create(
            course=course, title="Bench cohort", slug=f"{slug}-run", starts_at=now - timedelta(days=3)
        )
        tier = Tier.objects.create(run=run, kind=Tier.Kind.STANDARD, name="Standard", price="200.00", months=2)
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
        pages.append(
            CoursePages(
                name=name,
                sections=n_sections,
                per_section=per_section,
                home_path=reverse("courses:home", args=[slug]),
                lesson_path=reverse("courses:lesson", args=[slug, target.slug]),
                lesson_title=target.title,
                title=course.title,
                # a common word: every lesson's text and reading match, so the search ranks them all
                search_path=f"{reverse('search:course', args=[slug])}?q=jitter+buffer",
            )
        )
    return student, pages


# ---------------------------------------------------------------------------------------------------------
# Queries per page, in-process


@dataclass
class PageCost:
    page: str
    course: CoursePages
    queries: list
    sql_ms: float
    total_ms: float
    size: int


def measure_in_process(client, course, page, path, repeats=7):
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    client.get(path)  # first request: URL resolver, template and other per-process caches
    with CaptureQueriesContext(connection) as captured:
        response = client.get(path)
    queries = list(captured.captured_queries)  # now: the next request_started empties the connection's log
    if response.status_code != 200:
        raise RuntimeError(f"{path} answered {response.status_code} in-process; expected 200")
    sql_time = [0.0]

    def timed(execute, sql, params, many, context):
        start = time.perf_counter()
        try:
            return execute(sql, params, many, context)
        finally:
            sql_time[0] += time.perf_counter() - start

    totals, sql_totals = [], []
    with connection.execute_wrapper(timed):
        for _ in range(repeats):
            sql_time[0] = 0.0
            start = time.perf_counter()
            client.get(path)
            totals.append(time.perf_counter() - start)
            sql_totals.append(sql_time[0])
    return PageCost(
        page=page,
        course=course,
        queries=queries,
        sql_ms=1000 * statistics.median(sql_totals),
        total_ms=1000 * statistics.median(totals),
        size=len(response.content),
    )


# ---------------------------------------------------------------------------------------------------------
# gunicorn


def free_port():
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


class Server:
    """One gunicorn master and its sync workers on 127.0.0.1, in a process group of their own."""

    def __init__(self, *, workers, env, log_path):
        self.workers = workers
        self.env = env
        self.log_path = log_path
        self.port = free_port()
        self.process = None

    def start(self, ready_path, timeout=30):
        command = [
            sys.executable,
            "-m",
            "gunicorn",
            "courseweb.wsgi:application",
            "--chdir",
            str(REPO),
            "--bind",
            f"127.0.0.1:{self.port}",
            "--workers",
            str(self.workers),
            "--worker-class",
            "sync",
            "--timeout",
            "30",
            "--graceful-timeout",
            "5",
            "--no-control-socket",
            "--log-level",
            "warning",
            "--error-logfile",
            str(self.log_path),
        ]
        self.process = subprocess.Popen(
            command, env=self.env, cwd=REPO, stdin=subprocess.DEVNULL, start_new_session=True
        )
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise RuntimeError(f"gunicorn exited with code {self.process.returncode}:\n{self.log_tail()}")
            try:
                status, _ = HttpConnection(("127.0.0.1", self.port)).fetch(request_bytes(self.port, ready_path))
                if status == 200:
                    return self
            except OSError:
                pass
            time.sleep(0.2)
        raise RuntimeError(f"gunicorn did not answer within {timeout} s:\n{self.log_tail()}")

    def log_tail(self, lines=30):
        try:
            return "\n".join(self.log_path.read_text(errors="replace").splitlines()[-lines:])
        except OSError:
            return "(no log)"

    def worker_pids(self):
        """The master's children (the workers), read from /proc; empty where there is no /proc."""
        pids = []
        for entry in Path("/proc").glob("[0-9]*/stat") if HAS_PROC else []:
            try:
                fields = entry.read_text().rsplit(")", 1)[1].split()
            except (OSError, IndexError):
                continue
            if int(fields[1]) == self.process.pid:
                pids.append(int(entry.parent.name))
        return pids

    def stop(self):
        """SIGTERM to the group (gunicorn stops its workers, then itself); SIGKILL to the group if that hangs."""
        if self.process is None:
            return
        try:
            if self.process.poll() is None:
                os.killpg(self.process.pid, signal.SIGTERM)
            self.process.wait(timeout=15)
        except ProcessLookupError:
            pass
        except subprocess.TimeoutExpired:
            os.killpg(self.process.pid, signal.SIGKILL)  # the master is still alive, so the group is still ours
            self.process.wait(timeout=5)
        self.process = None


# ---------------------------------------------------------------------------------------------------------
# Where the CPU went (Linux /proc; elsewhere the CPU columns say n/a)

HAS_PROC = Path("/proc/self/stat").exists() and Path("/proc/stat").exists()
CLOCK_TICKS = os.sysconf("SC_CLK_TCK") if hasattr(os, "sysconf") else 100


def _process_cpu(pid):
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except (OSError, IndexError):
        return None
    return (int(fields[11]) + int(fields[12])) / CLOCK_TICKS  # utime + stime


def _machine_busy():
    fields = [int(value) for value in Path("/proc/stat").read_text().splitlines()[0].split()[1:9]]
    user, nice, system, _idle, _iowait, irq, softirq, steal = fields
    return (user + nice + system + irq + softirq + steal) / CLOCK_TICKS


class CpuMeter:
    """CPU seconds of the gunicorn workers, of the scratch database's Postgres backends and of the whole machine."""

    def __init__(self, server, database):
        self.server = server
        self.database = database

    def snapshot(self):
        if not HAS_PROC:
            return None
        backends = self.database.backend_pids()
        return {
            "server": {pid: _process_cpu(pid) for pid in self.server.worker_pids()},
            "db": None if backends is None else {pid: _process_cpu(pid) for pid in backends},
            "machine": _machine_busy(),
        }

    @staticmethod
    def used(before, after):
        """CPU seconds used between two snapshots. A process that started in between counts whole."""

        def processes(first, second):
            if first is None or second is None:
                return None
            return sum(cpu - (first.get(pid) or 0) for pid, cpu in second.items() if cpu is not None)

        if before is None or after is None:
            return {}
        return {
            "server": processes(before["server"], after["server"]),
            "db": processes(before["db"], after["db"]),
            "machine": after["machine"] - before["machine"],
        }


# ---------------------------------------------------------------------------------------------------------
# The load generator: a few processes, each one HTTP/1.1 connection, reconnecting when the server closes it
# (gunicorn's sync workers close after every response, as behind nginx without upstream keep-alive).


def request_bytes(port, path, cookie=""):
    lines = [f"GET {path} HTTP/1.1", f"Host: 127.0.0.1:{port}", "Accept: text/html", "User-Agent: courseweb-bench"]
    if cookie:
        lines.append(f"Cookie: {cookie}")
    return ("\r\n".join(lines) + "\r\n\r\n").encode("ascii")


class HttpConnection:
    def __init__(self, address):
        self.address = address
        self.sock = None

    def close(self):
        if self.sock is not None:
            self.sock.close()
            self.sock = None

    def fetch(self, request):
        """Send one request and read the whole response; return (status, body)."""
        reused = self.sock is not None
        try:
            return self._fetch(request)
        except (ConnectionError, TimeoutError):
            self.close()
            if not reused:
                raise
            return self._fetch(request)  # the server had closed an idle kept-alive connection: retry once

    def _fetch(self, request):
        if self.sock is None:
            self.sock = socket.create_connection(self.address, timeout=30)
            self.sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        sock = self.sock
        sock.sendall(request)
        buffer = bytearray()
        while (end := buffer.find(b"\r\n\r\n")) < 0:
            chunk = sock.recv(65536)
            if not chunk:
                raise ConnectionError("connection closed before the response headers")
            buffer += chunk
        head = bytes(buffer[:end]).split(b"\r\n")
        body = buffer[end + 4 :]
        status = int(head[0].split()[1])
        length, close = None, head[0].startswith(b"HTTP/1.0")
        for line in head[1:]:
            name, _, value = line.partition(b":")
            name = name.strip().lower()
            if name == b"content-length":
                length = int(value)
            elif name == b"connection":
                close = value.strip().lower() == b"close"
            elif name == b"transfer-encoding" and value.strip().lower() != b"identity":
                raise ConnectionError("chunked responses are not supported by this client")
        while length is None or len(body) < length:
            chunk = sock.recv(65536)
            if not chunk:
                if length is None:
                    close = True
                    break
                raise ConnectionError("connection closed inside the response body")
            body += chunk
        if close:
            self.close()
        return status, body


@dataclass
class LoadResult:
    name: str
    path: str
    cookie: str
    marker: str
    latencies: array = field(default_factory=lambda: array("d"))
    errors: int = 0
    bad_status: dict = field(default_factory=dict)
    elapsed: float = 0.0
    size: int = 0
    cpu_seconds: dict = field(default_factory=dict)  # server, db, client, machine: None where unknown

    @property
    def count(self):
        return len(self.latencies)

    @property
    def rps(self):
        return self.count / self.elapsed if self.elapsed else 0.0

    def percentile(self, fraction):
        ordered = sorted(self.latencies)
        if not ordered:
            return float("nan")
        return ordered[min(len(ordered) - 1, max(0, round(fraction * len(ordered)) - 1))]

    def add_cpu(self, used):
        for key in ("server", "db", "client", "machine"):
            value = used.get(key)
            known = self.cpu_seconds.get(key, 0.0)
            self.cpu_seconds[key] = None if value is None or known is None else known + value

    def cpu_share(self, key):
        """CPU used over the measured time, as a share of one core; None where unknown."""
        if key == "other":
            parts = [self.cpu_seconds.get(name) for name in ("machine", "server", "client")]
            if None in parts or not self.elapsed:
                return None
            machine, server, client = parts
            return max(0.0, machine - server - client - (self.cpu_seconds.get("db") or 0.0)) / self.elapsed
        value = self.cpu_seconds.get(key)
        return None if value is None or not self.elapsed else value / self.elapsed


def _connection_loop(address, request, start_at, seconds, quota):
    """One client connection: from `start_at` (time.monotonic) for `seconds`, at most `quota` requests."""
    connection = HttpConnection(address)
    latencies, errors, bad_status, size = array("d"), 0, {}, 0
    delay = start_at - time.monotonic()
    if delay > 0:
        time.sleep(delay)
    cpu_before = time.process_time()
    began = time.monotonic()
    deadline = began + seconds
    try:
        while len(latencies) < quota and time.monotonic() < deadline:
            start = time.perf_counter()
            try:
                status, body = connection.fetch(request)
            except (OSError, ValueError, IndexError):  # refused, reset, timed out, or not HTTP
                connection.close()
                errors += 1
                if errors >= 100:
                    break
                continue
            latencies.append(time.perf_counter() - start)
            if status == 200:
                size = len(body)
            else:
                bad_status[status] = bad_status.get(status, 0) + 1
    finally:
        connection.close()
    return latencies.tobytes(), errors, bad_status, size, began, time.monotonic(), time.process_time() - cpu_before


def _client_process(pipe):
    signal.signal(signal.SIGINT, signal.SIG_IGN)  # the parent handles Ctrl-C and stops us
    while (task := pipe.recv()) is not None:
        pipe.send(_connection_loop(*task))


class LoadClients:
    """`count` client processes, one connection each: no GIL between them, so none waits on another.

    A process, not a thread, because gunicorn's sync worker, after the response, waits for the client to
    close the connection: a client that is slow to get back to its socket holds the worker up.
    """

    def __init__(self, count):
        context = multiprocessing.get_context("spawn")  # the same on Linux and macOS; the children import no Django
        self.pipes, self.processes = [], []
        for _ in range(count):
            ours, theirs = context.Pipe()
            process = context.Process(target=_client_process, args=(theirs,), daemon=True)
            process.start()
            self.pipes.append(ours)
            self.processes.append(process)

    def run(self, address, request, seconds, quota):
        start_at = time.monotonic() + 0.05
        for pipe in self.pipes:
            pipe.send((address, request, start_at, seconds, max(1, quota // len(self.pipes))))
        return [pipe.recv() for pipe in self.pipes]

    def close(self):
        for pipe in self.pipes:
            try:
                pipe.send(None)
            except OSError:
                pass
        for process in self.processes:
            process.join(timeout=5)
            if process.is_alive():
                process.terminate()
                process.join(timeout=5)
        self.pipes, self.processes = [], []


def run_load(server, clients, meter, results, args):
    """Warm each page up, then measure them in interleaved rounds, so that any change in the machine's
    background load during the run falls on every page alike."""
    address = ("127.0.0.1", server.port)
    requests = {result.name: request_bytes(server.port, result.path, result.cookie) for result in results}
    if args.warmup:
        for result in results:
            log(f"bench: warming up {result.name}")
            clients.run(address, requests[result.name], args.warmup, args.max_requests)
    slice_seconds = args.seconds / args.rounds
    for round_number in range(args.rounds):
        log(f"bench: round {round_number + 1} of {args.rounds}")
        for result in results:
            before = meter.snapshot()
            parts = clients.run(address, requests[result.name], slice_seconds, args.max_requests // args.rounds)
            used = CpuMeter.used(before, meter.snapshot())
            used["client"] = sum(part[6] for part in parts)
            result.add_cpu(used)
            for latencies, errors, bad_status, size, _began, _ended, _cpu in parts:
                result.latencies.frombytes(latencies)
                result.errors += errors
                result.size = size or result.size
                for status, count in bad_status.items():
                    result.bad_status[status] = result.bad_status.get(status, 0) + count
            result.elapsed += max(part[5] for part in parts) - min(part[4] for part in parts)


def check_page(server, path, cookie, marker):
    """One request before the load: the page must answer 200 with the expected content (so we are logged in)."""
    connection = HttpConnection(("127.0.0.1", server.port))
    try:
        status, body = connection.fetch(request_bytes(server.port, path, cookie))
    finally:
        connection.close()
    if status != 200:
        raise RuntimeError(f"GET {path} answered {status} through gunicorn; expected 200 (is the session valid?)")
    if marker.encode() not in body:
        raise RuntimeError(f"GET {path} answered 200 but without {marker!r}")


# ---------------------------------------------------------------------------------------------------------
# Output


def fmt_cpu(value):
    return "n/a" if value is None else f"{100 * value:.0f}%"


def fmt_rate(value):
    return f"{value:.0f}" if value >= 100 else f"{value:.1f}"


def print_load_table(results, args, server_label, database, load_before):
    bare = results[0]
    print()
    print(f"Throughput: {server_label}, {args.concurrency} client connections, {database.label}.")
    print(
        f"Each page: {args.warmup:g} s warm-up, then {args.seconds:g} s measured in {args.rounds} interleaved rounds."
        + (f" Load average before: {load_before:.2f}." if load_before is not None else "")
    )
    header = (
        f"{'page':<26} {'requests':>8} {'req/s':>7} {'÷ bare':>7} {'p50 ms':>7} {'p99 ms':>7} {'errors':>6} "
        f"{'KB':>6} | {'CPU: app':>8} {'db':>5} {'client':>6} {'other':>5}"
    )
    print(header)
    print("-" * len(header))
    for result in results:
        failures = result.errors + sum(result.bad_status.values())
        ratio = result.rps / bare.rps if bare.rps else float("nan")
        db = fmt_cpu(result.cpu_share("db")) if database.postgres else "-"
        print(
            f"{result.name:<26} {result.count:>8} {fmt_rate(result.rps):>7} {ratio:>7.3f} "
            f"{1000 * result.percentile(0.50):>7.1f} {1000 * result.percentile(0.99):>7.1f} {failures:>6} "
            f"{result.size / 1024:>6.1f} | {fmt_cpu(result.cpu_share('server')):>8} {db:>5} "
            f"{fmt_cpu(result.cpu_share('client')):>6} {fmt_cpu(result.cpu_share('other')):>5}"
        )
        if result.bad_status:
            print(f"{'':<26} statuses other than 200: {result.bad_status}")
    lessons = [result for result in results if result.name.startswith("lesson page")]
    if bare.rps:
        ratios = ", ".join(f"{result.name.split(', ')[1]} {result.rps / bare.rps:.3f}" for result in lessons)
        print(f"lesson page req/s ÷ bare view req/s: {ratios}")
    cores = os.cpu_count() or 1
    print(
        f"CPU: share of one core over the measured time ({cores} cores = {100 * cores}%). app = the gunicorn workers "
        "(with SQLite, the database work too), db = the Postgres backends serving them, client = this load "
        "generator, other = the rest of the machine: when it is large, something else competed for the CPU."
    )


def print_query_table(costs, args):
    print()
    print("SQL per page: in-process test client, no HTTP; a student who has completed half the lessons.")
    header = f"{'page':<14} {'course':<34} {'queries':>7} {'SQL ms':>7} {'total ms':>8} {'KB':>6}"
    print(header)
    print("-" * len(header))
    for cost in costs:
        print(
            f"{cost.page:<14} {cost.course.label:<34} {len(cost.queries):>7} {cost.sql_ms:>7.1f} "
            f"{cost.total_ms:>8.1f} {cost.size / 1024:>6.1f}"
        )
    print("SQL ms: time inside cursor.execute (with Postgres that includes fetching the rows; with SQLite, not all).")
    print("SQL ms and total ms: median of 7 requests in this one process, no concurrency, no HTTP.")
    if args.show_queries:
        for cost in costs:
            print(f"\n-- {cost.page}, {cost.course.label}: {len(cost.queries)} queries")
            for number, query in enumerate(cost.queries, 1):
                print(f"{number:>3}. {query['sql']}")


# ---------------------------------------------------------------------------------------------------------


def _cleanup(what, function, *args):
    try:
        function(*args)
    except Exception as error:  # noqa: BLE001 - report it, and go on cleaning up
        log(f"bench: could not {what}: {error!r}")


def _interrupt(signum, frame):
    raise KeyboardInterrupt(f"signal {signum}")


def main():
    args = parse_args()
    # Run as bench/bench.py, Python puts bench/ first on the path, where "bench" would be this file, not the package.
    sys.path[:] = [entry for entry in sys.path if Path(entry or ".").resolve() != Path(__file__).resolve().parent]
    sys.path.insert(0, str(REPO))
    for signum in (signal.SIGTERM, signal.SIGHUP):
        signal.signal(signum, _interrupt)
    tmp = Path(tempfile.mkdtemp(prefix="courseweb-bench-"))
    database = server = clients = None
    django_ready = False
    try:
        database = open_database(tmp)
        log(f"bench: database {database.label}")
        # These pages use no cache and no queue; only the email measurement's worker gets Redis.
        redis_url = os.environ.pop("REDIS_URL", "").strip()
        os.environ.update(
            DJANGO_SETTINGS_MODULE="bench.settings",
            SECRET_KEY=secrets.token_urlsafe(50),  # one key for this process and the workers: sessions stay valid
            DATABASE_URL=database.url,
            BENCH_STATIC_ROOT=str(tmp / "static"),
            PYTHONPATH=os.pathsep.join([str(REPO), *filter(None, [os.environ.get("PYTHONPATH")])]),
        )

        import django

        django.setup()
        django_ready = True
        from django.conf import settings
        from django.core.management import call_command
        from django.db import connections
        from django.test import Client

        log("bench: migrating and collecting static files")
        call_command("migrate", verbosity=0, interactive=False)
        call_command("collectstatic", verbosity=0, interactive=False)
        log("bench: building the courses")
        student, pages = build_data()
        from bench.forum import forum_pages

        forum = forum_pages(course_slug=f"bench-{COURSES[-1][0]}", log=log)
        from bench.dashboard import dashboard_pages, measure_dashboard, print_dashboard_table

        dashboard = dashboard_pages(course_slug=f"bench-{COURSES[0][0]}", log=log, students=args.dashboard_students)

        log("bench: counting queries")
        client = Client()
        client.force_login(student)
        costs = []
        for course in pages:
            costs.append(measure_in_process(client, course, "course home", course.home_path))
            costs.append(measure_in_process(client, course, "lesson page", course.lesson_path))
            costs.append(measure_in_process(client, course, "course search", course.search_path))
        cookie = f"{settings.SESSION_COOKIE_NAME}={client.cookies[settings.SESSION_COOKIE_NAME].value}"
        if settings.CSRF_COOKIE_NAME in client.cookies:  # a browser sends back the CSRF cookie that pages set
            cookie += f"; {settings.CSRF_COOKIE_NAME}={client.cookies[settings.CSRF_COOKIE_NAME].value}"
        dashboard_costs = dashboard_cookie = None
        if dashboard is not None:
            staff_client = Client()
            staff_client.force_login(dashboard[0])
            dashboard_costs = measure_dashboard(staff_client, dashboard[1])
            dashboard_cookie = (
                f"{settings.SESSION_COOKIE_NAME}={staff_client.cookies[settings.SESSION_COOKIE_NAME].value}"
            )
        connections.close_all()

        import gunicorn

        log(f"bench: starting gunicorn {gunicorn.__version__} with {args.workers} workers")
        server = Server(workers=args.workers, env=dict(os.environ), log_path=tmp / "gunicorn.log")
        server.start("/bench/bare/")
        results = [LoadResult("bare view (anonymous)", "/bench/bare/", "", "ok")]
        for course in pages:
            results.append(
                LoadResult(f"lesson page, {course.name} course", course.lesson_path, cookie, course.lesson_title)
            )
        for course in pages:
            results.append(LoadResult(f"course home, {course.name} course", course.home_path, cookie, course.title))
        for course in pages:
            results.append(LoadResult(f"course search, {course.name} course", course.search_path, cookie, "<mark>"))
        for forum_page in forum or []:
            results.append(LoadResult(forum_page.name, forum_page.path, cookie, forum_page.marker))
        for dashboard_page in dashboard[1] if dashboard else []:
            if dashboard_page.load:
                results.append(LoadResult(dashboard_page.name, dashboard_page.path, dashboard_cookie,
                                          dashboard_page.marker))  # fmt: skip
        for result in results:
            check_page(server, result.path, result.cookie, result.marker)
        clients = LoadClients(args.concurrency)
        load_before = os.getloadavg()[0] if hasattr(os, "getloadavg") else None
        run_load(server, clients, CpuMeter(server, database), results, args)
        server_label = f"gunicorn {gunicorn.__version__}, {args.workers} sync workers on 127.0.0.1"
        print_load_table(results, args, server_label, database, load_before)
        print_query_table(costs, args)
        if forum is None:
            print("\nForum pages: skipped (the forum's URLs do not exist yet).")
        if dashboard_costs is not None:
            print_dashboard_table(dashboard_costs, students=args.dashboard_students)
        if args.search_posts:
            from bench.forum import measure_search, print_search_table

            print_search_table(measure_search(postgres=bool(database.postgres), log=log, posts=args.search_posts))
        if args.bulk_rows:
            from bench.bulk_enroll import measure_bulk_enroll, print_bulk_table

            bulk = measure_bulk_enroll(
                database_label=database.label, postgres=bool(database.postgres), tmp=tmp, rows=args.bulk_rows,
                repeats=args.bulk_repeats, log=log,
            )  # fmt: skip
            print_bulk_table(bulk)
        if args.emails:
            from bench.emails import measure_prelaunch_emails, print_email_table

            mail = measure_prelaunch_emails(
                redis_url=redis_url, database_url=database.url, database_label=database.label, tmp=tmp,
                emails=args.emails, rounds=args.email_rounds, log=log,
            )  # fmt: skip
            print_email_table(mail)
        log("bench: done")
    except KeyboardInterrupt:
        log("bench: interrupted; cleaning up")
        return 130
    finally:
        # Each step on its own, so that one that fails does not leave the others undone.
        if clients is not None:
            _cleanup("stop the load generator", clients.close)
        if server is not None:
            _cleanup("stop gunicorn", server.stop)
        if django_ready:
            from django.db import connections

            _cleanup("close the database connections", connections.close_all)
        if database is not None:
            _cleanup("drop the scratch database", drop_database, database)
        shutil.rmtree(tmp, ignore_errors=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
