"""Real Celery worker processes for the tests that are about them (on Redis, against the test database)."""

import json
import os
import re
import signal
import socket
import subprocess
import sys
import time
import uuid
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import quote

import pytest
import redis

from courseweb.celery import app as celery_app

ROOT = Path(__file__).resolve().parents[1]
WORKER_START_TIMEOUT = 30  # seconds for a worker process to import Django and answer a ping
DELIVERY_TIMEOUT = 60


def free_port():
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


class Workers:
    """Celery worker processes on a private Redis queue, against the test database and the SMTP sink."""

    def __init__(self, *, redis_url, database_url, smtp_port, log_dir, queue=None, env=None):
        """`queue`: the queue to consume (a private one by default; "celery", the default queue, on a Redis of the
        test's own); `env`: the environment to run in (the test settings' by default)."""
        self.queue = queue or f"test-emails-{uuid.uuid4().hex[:12]}"
        self.redis_url = redis_url
        self.log_dir = log_dir
        self.processes = {}
        self.routed = {}
        self.env = {
            **os.environ,
            "DJANGO_SETTINGS_MODULE": "courseweb.settings",
            "DATABASE_URL": database_url,
            "REDIS_URL": redis_url,
            "EMAIL_HOST": "127.0.0.1",
            "EMAIL_PORT": str(smtp_port),
            "EMAIL_BACKEND": "",
            "LOG_LEVEL": "WARNING",
        } if env is None else env

    def start(self, *names):
        """Start workers (at once) and wait until each answers a ping, so that they consume before the test sends."""
        nodes = {name: self._spawn(name) for name in names}
        deadline = time.monotonic() + WORKER_START_TIMEOUT
        while nodes and time.monotonic() < deadline:
            for name, node in list(nodes.items()):
                if self.processes[name].poll() is not None:
                    pytest.fail(f"worker {name} exited with {self.processes[name].returncode}:\n{self.output(name)}")
                if celery_app.control.ping(destination=[node], timeout=0.5):
                    del nodes[name]
        if nodes:
            pytest.fail(f"workers {list(nodes)} did not answer within {WORKER_START_TIMEOUT} s:\n{self.output()}")
        return [self.processes[name] for name in names]

    def route(self, *task_names):
        """Send these tasks to the workers' queue also when they are queued by the code under test (`.delay`).

        Undone by stop(). A task caches its send options: they are rebuilt with the queue, and after.
        """
        for name in task_names:
            task = celery_app.tasks[name]
            self.routed.setdefault(name, task.__dict__.get("queue"))
            task.queue = self.queue
            task._exec_options = None

    def _unroute(self):
        for name, queue in self.routed.items():
            task = celery_app.tasks[name]
            if queue is None:
                task.__dict__.pop("queue", None)
            else:
                task.queue = queue
            task._exec_options = None
        self.routed = {}

    def _spawn(self, name):
        node = f"{name}-{self.queue}@test"
        log = open(self.log_dir / f"{name}.log", "wb")  # noqa: SIM115 - closed with the process
        process = subprocess.Popen(
            [sys.executable, "-m", "celery", "-A", "courseweb", "worker", "--pool=solo", "-Q", self.queue,
             "-n", node, "--without-gossip", "--without-mingle", "--without-heartbeat", "--loglevel=WARNING"],
            cwd=ROOT, env=self.env, stdout=log, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL,
        )  # fmt: skip
        process.log = log
        self.processes[name] = process
        return node

    def kill(self, name):
        """SIGKILL: the worker gets no chance to finish, roll back or acknowledge anything."""
        process = self.processes[name]
        os.kill(process.pid, signal.SIGKILL)
        process.wait(timeout=10)

    def output(self, name=None):
        names = [name] if name else list(self.processes)
        parts = []
        for each in names:
            path = self.log_dir / f"{each}.log"
            text = path.read_text(errors="replace") if path.exists() else ""
            parts.append(f"--- worker {each} ---\n{text[-4000:]}")
        return "\n".join(parts)

    def wait_until(self, condition, what, timeout=DELIVERY_TIMEOUT):
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if condition():
                return
            dead = [name for name, process in self.processes.items() if process.poll() not in (None, -signal.SIGKILL)]
            if dead:
                pytest.fail(f"worker {dead} exited while waiting for {what}:\n{self.output()}")
            time.sleep(0.05)
        pytest.fail(f"timed out after {timeout} s waiting for {what}:\n{self.output()}")

    def stop(self):
        self._unroute()
        for process in self.processes.values():
            if process.poll() is None:
                process.terminate()
        for process in self.processes.values():
            try:
                process.wait(timeout=10)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait(timeout=10)
            process.log.close()
        self._clean_redis()

    def _clean_redis(self):
        """Remove the private queue, and the message a killed worker left unacknowledged, from Redis."""
        client = redis.Redis.from_url(self.redis_url)
        client.delete(self.queue, f"_kombu.binding.{self.queue}", f"_kombu.binding_permanent.{self.queue}")
        for tag, payload in client.hscan_iter("unacked"):
            try:
                routing_key = json.loads(payload)[2]
            except (ValueError, IndexError, TypeError):
                continue
            if routing_key == self.queue:
                client.hdel("unacked", tag)
                client.zrem("unacked_index", tag)
        client.close()


def database_url(settings):
    db = settings.DATABASES["default"]
    credentials = quote(db["USER"] or "")
    if db.get("PASSWORD"):
        credentials += f":{quote(db['PASSWORD'])}"
    return f"postgres://{credentials}@{db['HOST'] or 'localhost'}:{db['PORT'] or 5432}/{quote(db['NAME'])}"


def sender_pid(message):
    """The pid of the process that built the message (Python's Message-ID is <time.pid.random@host>)."""
    return int(re.match(r"<\d+\.(\d+)\.", message["Message-ID"]).group(1))


def settle(sink, seconds=0.5):
    """Wait a moment after the last row was marked sent, so that a stray extra message would be seen."""
    time.sleep(seconds)
    return list(sink.messages)


@dataclass
class KillMidBatch:
    """What a batch of `total` emails did when its worker was SIGKILLed after `kill_after` of them."""

    received_at_kill: int
    killed_after: float  # seconds from the start of the batch
    finished_after: float  # seconds from the restart until every row was marked sent
    still_queued: set  # addresses whose rows were still queued at the kill
    messages: list  # every message the SMTP sink received, in order

    @property
    def received(self):
        return [message["To"] for message in self.messages]

    @property
    def duplicates(self):
        return len(self.received) - len(set(self.received))

    @property
    def repeated(self):
        return {address for address, count in Counter(self.received).items() if count > 1}

    @property
    def message_ids(self):
        """Each address's Message-IDs: one per student when every repeat was the same message."""
        ids = {}
        for message in self.messages:
            ids.setdefault(message["To"], set()).add(message["Message-ID"])
        return ids

    def summary(self, label, total):
        return (
            f"[SIGKILL mid-batch{label}] killed after {self.received_at_kill} messages ({self.killed_after:.1f} s); "
            f"restarted, done {self.finished_after:.1f} s later; {len(self.received)} received for {total} students; "
            f"duplicates: {self.duplicates}"
        )


def kill_mid_batch(workers, sink, *, total: int, start: Callable, restart: Callable, sent: Callable[[], int],
                   queued_addresses: Callable[[], set], kill_after: int = 100) -> KillMidBatch:  # fmt: skip
    """SIGKILL the only worker once `kill_after` messages reached the sink, start another, run the task again.

    `start()` sends the batch's task (worker "w1" must be running), `restart()` sends it again to the new
    worker "w2"; `sent()` counts the rows marked sent and `queued_addresses()` the addresses still queued.
    The sink's `delay` should make the batch take seconds, so that the kill lands mid-batch.
    """
    began = time.monotonic()
    start()
    workers.wait_until(lambda: len(sink.messages) >= kill_after, f"{kill_after} messages at the SMTP server")
    workers.kill("w1")
    killed_after = time.monotonic() - began
    received_at_kill = len(sink.messages)
    time.sleep(0.3)  # a message the server was accepting at the kill lands now, or never
    marked_sent = sent()
    assert marked_sent <= len(sink.messages)
    still_queued = queued_addresses()
    assert len(still_queued) == total - marked_sent > 0

    restarted = time.monotonic()
    workers.start("w2")
    restart()
    workers.wait_until(lambda: sent() == total, f"all {total} rows marked sent after the restart")
    finished_after = time.monotonic() - restarted
    return KillMidBatch(received_at_kill, killed_after, finished_after, still_queued, settle(sink))
