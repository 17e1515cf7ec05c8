#!/usr/bin/env python
"""Pre-launch emails per second through a real Celery worker, and a plain smtplib loop for scale.

Part of `make bench` (bench/bench.py calls it after the page measurements); needs Redis (REDIS_URL), else
the table says it was skipped. In each round a new run gets `--emails` students whose pre-launch email is
due; the bench sends `send_due_emails` (the beat job: queue the rows, then deliver them) to one worker
process (`celery -A courseweb worker --pool=solo` on a private queue) and times it from sending the task to
the last row marked sent. Then a plain smtplib loop sends the same messages, prebuilt, over one connection
to the same SMTP sink (aiosmtpd in a process of its own, so that neither side shares a GIL with it).

On its own, with the same scratch-database rules as bench.py (DATABASE_URL names a Postgres database that
does not exist yet and is created and dropped, else a temporary SQLite file):

    REDIS_URL=redis://127.0.0.1:6379/0 DATABASE_URL=postgres://postgres@127.0.0.1:5432/courseweb_bench_mail \
        .venv/bin/python bench/emails.py --emails 1000 --rounds 3
"""

import argparse
import os
import secrets
import shutil
import signal
import smtplib
import socket
import statistics
import subprocess
import sys
import tempfile
import time
import uuid
from dataclasses import dataclass, field
from datetime import timedelta
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
WARMUP_EMAILS = 20
SECTIONS = 8
OFFICE_HOURS_EVERY = 5  # one student in five has the office-hours tier
ZONES = ["UTC", "Europe/Berlin", "America/Los_Angeles", "Asia/Tokyo", "Australia/Sydney"]
TIMEOUT = 300  # seconds for one round through the worker


@dataclass
class Measured:
    name: str
    seconds: list[float] = field(default_factory=list)
    cpu: dict = field(default_factory=dict)  # process name -> CPU seconds over all rounds
    sessions: int = 0
    received: int = 0

    @property
    def median(self):
        return statistics.median(self.seconds) if self.seconds else None


@dataclass
class EmailReport:
    emails: int
    rounds: int
    database_label: str
    worker: Measured | None = None
    smtplib_loop: Measured | None = None
    skipped: str = ""

    def rate(self, path):
        return self.emails / path.median if path and path.median else None


# ---------------------------------------------------------------------------------------------------------
# The SMTP sink: aiosmtpd in its own process, counting messages and sessions


def serve_sink():
    """Run as `python -m bench.emails sink`: print the port, then answer "stats"/"reset" on stdin until EOF."""
    from aiosmtpd.controller import Controller

    class Counter:
        def __init__(self):
            self.messages = 0
            self.sessions = 0

        async def handle_EHLO(self, server, session, envelope, hostname, responses):
            self.sessions += 1
            session.host_name = hostname
            return responses

        async def handle_HELO(self, server, session, envelope, hostname):
            self.sessions += 1
            session.host_name = hostname
            return f"250 {server.hostname}"

        async def handle_DATA(self, server, session, envelope):
            self.messages += 1
            return "250 Message accepted"

    handler = Counter()
    controller = Controller(handler, hostname="127.0.0.1", port=_free_port())
    controller.start()
    print(f"port {controller.port}", flush=True)
    try:
        for line in sys.stdin:
            command = line.strip()
            if command == "reset":
                handler.messages = handler.sessions = 0
            print(f"{handler.messages} {handler.sessions}", flush=True)
    finally:
        controller.stop()


class Sink:
    def __init__(self, env):
        self.process = subprocess.Popen(
            [sys.executable, "-m", "bench.emails", "sink"], cwd=REPO, env=env, text=True,
            stdin=subprocess.PIPE, stdout=subprocess.PIPE,
        )  # fmt: skip
        line = self.process.stdout.readline()
        if not line.startswith("port "):
            raise RuntimeError(f"the SMTP sink did not start: {line!r}")
        self.port = int(line.split()[1])

    def stats(self, command="stats"):
        """Return (messages, sessions) received since the last reset."""
        self.process.stdin.write(command + "\n")
        self.process.stdin.flush()
        messages, sessions = self.process.stdout.readline().split()
        return int(messages), int(sessions)

    def stop(self):
        if self.process.poll() is None:
            self.process.stdin.close()
            try:
                self.process.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait(timeout=5)


def _free_port():
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def _cpu_seconds(pid):
    """utime + stime of a process from /proc; None where there is no /proc."""
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except (OSError, IndexError):
        return None
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


# ---------------------------------------------------------------------------------------------------------
# The Celery worker


class Worker:
    """One `celery -A courseweb worker --pool=solo` on a private queue of the Redis at `redis_url`."""

    def __init__(self, *, redis_url, env, log_path):
        from celery import Celery

        self.queue = f"bench-emails-{uuid.uuid4().hex[:12]}"
        self.node = f"{self.queue}@bench"
        self.redis_url = redis_url
        self.log_path = log_path
        # A producer of our own: the bench process runs with REDIS_URL unset (eager), like the page bench.
        self.app = Celery("bench-emails", broker=redis_url)
        self.log = open(log_path, "wb")  # noqa: SIM115 - closed in stop()
        self.process = subprocess.Popen(
            [sys.executable, "-m", "celery", "-A", "courseweb", "worker", "--pool=solo", "-Q", self.queue,
             "-n", self.node, "--without-gossip", "--without-mingle", "--without-heartbeat", "--loglevel=WARNING"],
            cwd=REPO, env=env, stdout=self.log, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL,
            start_new_session=True,
        )  # fmt: skip

    def wait_ready(self, timeout=60):
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise RuntimeError(f"the worker exited with {self.process.returncode}:\n{self.log_tail()}")
            if self.app.control.ping(destination=[self.node], timeout=0.5):
                return
        raise RuntimeError(f"the worker did not answer within {timeout} s:\n{self.log_tail()}")

    def send(self, task_name):
        self.app.send_task(task_name, queue=self.queue)

    def log_tail(self, lines=30):
        try:
            return "\n".join(self.log_path.read_text(errors="replace").splitlines()[-lines:])
        except OSError:
            return "(no log)"

    def stop(self):
        try:
            if self.process.poll() is None:
                os.killpg(self.process.pid, signal.SIGTERM)
            self.process.wait(timeout=15)
        except ProcessLookupError:
            pass
        except subprocess.TimeoutExpired:
            os.killpg(self.process.pid, signal.SIGKILL)
            self.process.wait(timeout=5)
        self.log.close()
        with self.app.connection_for_write() as connection:
            client = connection.default_channel.client
            client.delete(self.queue, f"_kombu.binding.{self.queue}", f"_kombu.binding_permanent.{self.queue}")
        self.app.close()


# ---------------------------------------------------------------------------------------------------------
# Data and measurement


def _new_run(label, students):
    """A run starting tomorrow (so its pre-launch email is due) with `students` enrolled, none emailed yet."""
    from django.contrib.auth.hashers import make_password
    from django.utils import timezone

    from accounts.models import User
    from courses.models import Course, Section
    from enrollment.models import Enrollment, Run, Tier

    slug = f"bench-mail-{label}-{uuid.uuid4().hex[:6]}"
    course = Course.objects.create(
        title=f"Bench mail course {label}", slug=slug, instructor_name="Bench Teacher", is_published=True
    )
    Section.objects.bulk_create(
        Section(course=course, order=i, title=f"Section {i + 1}: a topic") for i in range(SECTIONS)
    )
    starts_at = timezone.now() + timedelta(days=1)
    run = Run.objects.create(
        course=course, title="Bench cohort", slug=slug, starts_at=starts_at, prelaunch_email_days=2
    )
    standard = Tier.objects.create(run=run, kind=Tier.Kind.STANDARD, name="Standard", price="200.00", months=2)
    office_hours = Tier.objects.create(run=run, kind=Tier.Kind.OFFICE_HOURS, name="With office hours",
                                       price="400.00", months=4, includes_office_hours=True)  # fmt: skip
    unusable = make_password(None)
    users = User.objects.bulk_create(
        (User(email=f"{slug}-{n}@example.com", password=unusable, timezone=ZONES[n % len(ZONES)], first_name="Sam")
         for n in range(students)),
        batch_size=1000,
    )  # fmt: skip
    Enrollment.objects.bulk_create(
        (Enrollment(user=user, run=run, tier=office_hours if n % OFFICE_HOURS_EVERY == 0 else standard)
         for n, user in enumerate(users)),
        batch_size=1000,
    )  # fmt: skip
    return run


def _sent(run):
    from enrollment.models import SentEmail

    return SentEmail.objects.filter(enrollment__run=run, status=SentEmail.Status.SENT).count()


def _through_worker(worker, sink, run, students, path):
    """Send the beat job to the worker; time it from the send to the last row marked sent."""
    from django.db.models import Max
    from django.utils import timezone

    from enrollment.models import SentEmail

    sink.stats("reset")
    cpu_before = _cpu_seconds(worker.process.pid), _cpu_seconds(sink.process.pid)
    started = timezone.now()
    worker.send("enrollment.tasks.send_due_emails")
    deadline = time.monotonic() + TIMEOUT
    while _sent(run) < students:
        if worker.process.poll() is not None:
            raise RuntimeError(f"the worker exited with {worker.process.returncode}:\n{worker.log_tail()}")
        if time.monotonic() > deadline:
            raise RuntimeError(f"{_sent(run)} of {students} emails sent after {TIMEOUT} s:\n{worker.log_tail()}")
        time.sleep(0.05)
    finished = SentEmail.objects.filter(enrollment__run=run).aggregate(last=Max("sent_at"))["last"]
    cpu_after = _cpu_seconds(worker.process.pid), _cpu_seconds(sink.process.pid)
    path.seconds.append((finished - started).total_seconds())
    _add_cpu(path, ("worker", "sink"), cpu_before, cpu_after)
    time.sleep(0.2)  # a stray extra message would arrive now
    received, sessions = sink.stats()
    path.received += received
    path.sessions = max(path.sessions, sessions)


def _prebuilt_messages(run):
    """The same messages the worker sent, rendered here: (from, to, bytes) for smtplib."""
    from django.conf import settings

    from enrollment import emails
    from enrollment.models import SentEmail

    rows = SentEmail.objects.filter(enrollment__run=run).select_related(
        "enrollment__user", "enrollment__run__course", "enrollment__tier"
    )
    sections = emails.course_sections(run.course)
    prebuilt = []
    for row in rows:
        message = emails.build_message(row, sections=sections)
        prebuilt.append((settings.DEFAULT_FROM_EMAIL, message.to, message.message().as_bytes(linesep="\r\n")))
    return prebuilt


def _through_smtplib(sink, prebuilt, path):
    sink.stats("reset")
    cpu_before = None, _cpu_seconds(sink.process.pid)
    with smtplib.SMTP("127.0.0.1", sink.port, timeout=30) as smtp:
        smtp.ehlo()
        started = time.perf_counter()
        for from_email, to, data in prebuilt:
            smtp.sendmail(from_email, to, data)
        path.seconds.append(time.perf_counter() - started)
    cpu_after = None, _cpu_seconds(sink.process.pid)
    _add_cpu(path, ("bench", "sink"), cpu_before, cpu_after)
    received, sessions = sink.stats()
    path.received += received
    path.sessions = max(path.sessions, sessions)


def _add_cpu(path, names, before, after):
    for name, first, second in zip(names, before, after, strict=True):
        if first is None or second is None:
            continue
        path.cpu[name] = path.cpu.get(name, 0.0) + second - first


def measure_prelaunch_emails(*, redis_url, database_url, database_label, tmp, emails=1000, rounds=3, log=print):
    """Measure, in `rounds` interleaved rounds of `emails` students each. Call after django.setup()."""
    report = EmailReport(emails=emails, rounds=rounds, database_label=database_label)
    if not redis_url:
        report.skipped = "skipped: set REDIS_URL (e.g. redis://127.0.0.1:6379/0) to measure through a Celery worker"
        return report
    import redis

    try:
        redis.Redis.from_url(redis_url, socket_connect_timeout=2).ping()
    except redis.RedisError as error:
        report.skipped = f"skipped: Redis at {redis_url} does not answer ({error})"
        return report
    from django.db import connections

    env = {
        **os.environ,
        "REDIS_URL": redis_url,
        "DATABASE_URL": database_url,
        "EMAIL_BACKEND": "",
        "PYTHONPATH": os.pathsep.join([str(REPO), *filter(None, [os.environ.get("PYTHONPATH")])]),
    }
    sink = worker = None
    try:
        sink = Sink(env)
        env.update(EMAIL_HOST="127.0.0.1", EMAIL_PORT=str(sink.port))
        log(f"bench: emails: starting a Celery worker on Redis, SMTP sink on port {sink.port}")
        worker = Worker(redis_url=redis_url, env=env, log_path=tmp / "celery-worker.log")
        worker.wait_ready()
        connections.close_all()  # the worker writes; on SQLite, hold no transaction open beside it
        log(f"bench: emails: warm-up, {WARMUP_EMAILS} emails")
        _through_worker(worker, sink, _new_run("warmup", WARMUP_EMAILS), WARMUP_EMAILS, Measured("warm-up"))
        report.worker = Measured("Celery worker: send_due_emails")
        report.smtplib_loop = Measured("plain smtplib loop, prebuilt")
        for number in range(rounds):
            log(f"bench: emails: round {number + 1} of {rounds}, {emails} through the worker")
            run = _new_run(f"r{number}", emails)
            _through_worker(worker, sink, run, emails, report.worker)
            log(f"bench: emails: round {number + 1} of {rounds}, {emails} through a plain smtplib loop")
            _through_smtplib(sink, _prebuilt_messages(run), report.smtplib_loop)
    finally:
        if worker is not None:
            worker.stop()
        if sink is not None:
            sink.stop()
    return report


def _fmt(value, spec, missing="-"):
    return missing if value is None else format(value, spec)


def print_email_table(report: EmailReport):
    print()
    rounds = f"{report.rounds} round{'s' if report.rounds > 1 else ''}"
    print(
        f"Pre-launch emails: {report.emails} students a round, {rounds}, {report.database_label}; "
        "SMTP sink: aiosmtpd on 127.0.0.1 in its own process."
    )
    if report.skipped:
        print(f"  {report.skipped}")
        return
    header = (
        f"{'path':<52} {'emails':>6} {'seconds':>7} {'emails/s':>8} {'÷ smtplib':>9} {'received':>8} "
        f"{'sessions':>8} | {'CPU: worker':>11} {'sink':>5}"
    )
    print(header)
    print("-" * len(header))
    baseline = report.rate(report.smtplib_loop)
    rows = [
        (report.worker, "Celery worker (solo), send_due_emails: queue + send"),
        (report.smtplib_loop, "plain smtplib loop, prebuilt messages, one connection"),
    ]
    for path, label in rows:
        rate = report.rate(path)
        total = sum(path.seconds)
        cpu = {name: f"{100 * seconds / total:.0f}%" for name, seconds in path.cpu.items()} if total else {}
        print(
            f"{label:<52} {report.emails:>6} {_fmt(path.median, '.2f'):>7} {_fmt(rate, '.0f'):>8} "
            f"{_fmt(rate / baseline if rate and baseline else None, '.3f'):>9} {path.received:>8} "
            f"{path.sessions:>8} | {cpu.get('worker', '-'):>11} {cpu.get('sink', '-'):>5}"
        )
    worker_rate = report.rate(report.worker)
    if worker_rate and baseline:
        print(f"pre-launch emails/s through the worker ÷ smtplib loop emails/s: {worker_rate / baseline:.3f}")
    for line in (
        "seconds: median of the rounds. Worker: from sending the task to the last row marked sent; it queues the",
        "rows, claims them 50 at a time (advisory locks that die with its connection), renders each email once per",
        "run, tier and zone and fills in the student's own strings, hands it to SMTP and marks it sent in a commit",
        "of its own right after the server's 250. smtplib: the send loop only.",
        "received: messages the sink got in all rounds (emails × rounds when none is sent twice); sessions: SMTP",
        "connections in one round (1: one connection per batch). CPU: share of one core over the measured time.",
    ):
        print(line)


# ---------------------------------------------------------------------------------------------------------


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--emails", type=int, default=1000, help="students a round (default 1000)")
    parser.add_argument("--rounds", type=int, default=3, help="rounds, each with a new run (default 3)")
    args = parser.parse_args()
    if not (1 <= args.emails <= 100_000 and 1 <= args.rounds <= 10):
        parser.error("--emails must be 1..100000 and --rounds 1..10")
    here = Path(__file__).resolve().parent
    sys.path[:] = [entry for entry in sys.path if Path(entry or ".").resolve() != here]
    sys.path.insert(0, str(here.parent))
    from bench import bench as pages

    tmp = Path(tempfile.mkdtemp(prefix="courseweb-bench-emails-"))
    database = None
    django_ready = False
    try:
        database = pages.open_database(tmp)
        pages.log(f"bench: database {database.label}")
        redis_url = os.environ.pop("REDIS_URL", "").strip()  # this process runs tasks eagerly; the worker uses it
        os.environ.update(
            DJANGO_SETTINGS_MODULE="bench.settings", SECRET_KEY=secrets.token_urlsafe(50), DATABASE_URL=database.url
        )
        import django

        django.setup()
        django_ready = True
        from django.core.management import call_command

        pages.log("bench: migrating")
        call_command("migrate", verbosity=0, interactive=False)
        report = measure_prelaunch_emails(
            redis_url=redis_url, database_url=database.url, database_label=database.label, tmp=tmp,
            emails=args.emails, rounds=args.rounds, log=pages.log,
        )  # fmt: skip
        print_email_table(report)
    except KeyboardInterrupt:
        pages.log("bench: interrupted; cleaning up")
        return 130
    finally:
        if django_ready:
            from django.db import connections

            pages._cleanup("close the database connections", connections.close_all)
        if database is not None:
            pages._cleanup("drop the scratch database", pages.drop_database, database)
        shutil.rmtree(tmp, ignore_errors=True)
    return 0


if __name__ == "__main__":
    if sys.argv[1:] == ["sink"]:
        serve_sink()
    else:
        sys.exit(main())
