"""Services of the fault tests, each the test's own: a redis-server, a Postgres cluster, gunicorn processes.

The machine's shared Postgres and Redis are never stopped: a test that stops a service stops one it started.
Everything listens on 127.0.0.1 on a free port and is bounded in time.
"""

import contextlib
import http.client
import os
import shutil
import signal
import subprocess
import sys
import time
from contextlib import contextmanager
from pathlib import Path

from courseweb.celery import app as celery_app
from tests.conftest import missing_service
from tests.workers import ROOT, free_port


def _postgres_bin():
    """Debian's newest installed Postgres server binaries (initdb, pg_ctl)."""
    found = sorted(Path("/usr/lib/postgresql").glob("*/bin/initdb"), key=lambda path: int(path.parts[-3]))
    return found[-1].parent if found else Path("/usr/lib/postgresql/15/bin")


PG_BIN = _postgres_bin()
START_TIMEOUT = 30
SECRET_KEY = "fault-tests-secret-key-that-is-long-enough-for-check-deploy-0123456789"
SITE_URL = "https://course.test"
WEBHOOK_SECRET = "whsec_faults0123456789abcdef"


def wait_for_port(port, process=None, *, what, timeout=START_TIMEOUT, log=None):
    import socket

    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if process is not None and process.poll() is not None:
            raise RuntimeError(f"{what} exited with {process.returncode}: {log.read_text() if log else ''}")
        with socket.socket() as probe:
            probe.settimeout(0.5)
            if probe.connect_ex(("127.0.0.1", port)) == 0:
                return
        time.sleep(0.05)
    raise RuntimeError(f"{what} did not listen on {port} within {timeout} s")


class RedisServer:
    """A redis-server of the test's own (no persistence), that the test may stop and start again on its port."""

    def __init__(self, directory):
        self.binary = shutil.which("redis-server")
        if not self.binary:
            missing_service("redis-server is not installed (apt-get install redis-server)")
        self.port = free_port()
        self.url = f"redis://127.0.0.1:{self.port}/0"
        self.directory = Path(directory)
        self.process = None

    def start(self):
        log = self.directory / "redis.log"
        self.process = subprocess.Popen(
            [self.binary, "--port", str(self.port), "--bind", "127.0.0.1", "--save", "", "--appendonly", "no",
             "--dir", str(self.directory), "--logfile", str(log)],
            stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL, stderr=subprocess.STDOUT,
        )  # fmt: skip
        wait_for_port(self.port, self.process, what="redis-server", log=log)
        return self

    def stop(self):
        if self.process is not None and self.process.poll() is None:
            self.process.terminate()
            self.process.wait(timeout=10)
        self.process = None


class PostgresCluster:
    """A Postgres cluster of the test's own (initdb into a temp dir, trust auth), restartable with pg_ctl."""

    def __init__(self, directory):
        if not (PG_BIN / "initdb").exists():
            missing_service(f"{PG_BIN / 'initdb'} is not installed (postgresql-15)")
        self.port = free_port()
        self.directory = Path(directory)
        self.data = self.directory / "data"
        self.log = self.directory / "postgres.log"
        self.as_root = os.geteuid() == 0

    def _run(self, *command, check=True):
        prefix = ["runuser", "-u", "postgres", "--"] if self.as_root else []
        return subprocess.run([*prefix, *map(str, command)], check=check, capture_output=True, timeout=60)

    def init(self):
        self.directory.mkdir(parents=True, exist_ok=True)
        if self.as_root:
            shutil.chown(self.directory, "postgres", "postgres")
        self._run(PG_BIN / "initdb", "-D", self.data, "-U", "postgres", "--auth=trust", "-E", "UTF8", "--no-sync")
        with open(self.data / "postgresql.conf", "a") as conf:
            conf.write(f"\nport = {self.port}\nlisten_addresses = '127.0.0.1'\n"
                       f"unix_socket_directories = '{self.directory}'\nfsync = off\n")  # fmt: skip
        return self

    def ctl(self, action, *extra):
        return self._run(PG_BIN / "pg_ctl", "-D", self.data, "-l", self.log, "-w", "-t", "30", action, *extra)

    def start(self):
        self.ctl("start")
        return self

    def stop(self):
        self._run(PG_BIN / "pg_ctl", "-D", self.data, "-w", "-t", "30", "stop", "-m", "fast", check=False)

    def url(self, name):
        return f"postgres://postgres@127.0.0.1:{self.port}/{name}"

    def create_database(self, name):
        self._run(PG_BIN / "createdb", "-h", "127.0.0.1", "-p", self.port, "-U", "postgres", name)


def production_env(*, database_url, redis_url, smtp_port=None, **extra):
    """The README's production environment (DEBUG off), on 127.0.0.1: what gunicorn, workers and beat run with."""
    env = {
        **os.environ,
        "DJANGO_SETTINGS_MODULE": "courseweb.settings",
        "DEBUG": "0",
        "SECRET_KEY": SECRET_KEY,
        "ALLOWED_HOSTS": "127.0.0.1,course.test",
        "CSRF_TRUSTED_ORIGINS": SITE_URL,
        "SITE_URL": SITE_URL,
        "BEHIND_PROXY": "1",
        "DATABASE_URL": database_url,
        "REDIS_URL": redis_url,
        "STRIPE_WEBHOOK_SECRET": WEBHOOK_SECRET,
        "LOG_LEVEL": "WARNING",
        "EMAIL_BACKEND": "",
    }
    env.pop("EMAIL_HOST", None)
    env.pop("DJANGO_ALLOW_ASYNC_UNSAFE", None)  # the tests' own (Playwright); check --deploy refuses it
    if smtp_port is not None:
        env.update({"EMAIL_HOST": "127.0.0.1", "EMAIL_PORT": str(smtp_port)})
    env.update({key: str(value) for key, value in extra.items()})
    return env


def collect_static(env):
    """DEBUG off serves static files from the manifest collectstatic writes (README): once per checkout."""
    if (ROOT / "staticfiles" / "staticfiles.json").exists():
        return
    subprocess.run([sys.executable, "manage.py", "collectstatic", "--noinput", "-v0"], cwd=ROOT, env=env, check=True,
                   timeout=120)  # fmt: skip


class Gunicorn:
    """`gunicorn courseweb.wsgi -c gunicorn.conf.py` (README) with the production environment, on a free port."""

    def __init__(self, env, log_dir, *, name="web", workers=1, threads=4):
        collect_static(env)
        self.port = free_port()
        self.log = Path(log_dir) / f"{name}.log"
        self._log = open(self.log, "wb")  # noqa: SIM115 - closed in stop()
        env = {**env, "GUNICORN_BIND": f"127.0.0.1:{self.port}", "GUNICORN_WORKERS": str(workers),
               "GUNICORN_THREADS": str(threads)}  # fmt: skip
        self.process = subprocess.Popen(
            [sys.executable, "-m", "gunicorn", "courseweb.wsgi", "-c", "gunicorn.conf.py", "--no-control-socket"],
            cwd=ROOT, env=env, stdout=self._log, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL,
            start_new_session=True,  # its own process group: stop() ends the workers with the arbiter
        )  # fmt: skip
        try:
            wait_for_port(self.port, self.process, what="gunicorn", log=self.log)
        except RuntimeError:
            self.stop()
            raise

    def request(self, method, path, *, body=None, headers=None, timeout=10):
        """One request as nginx would pass it on (HTTPS at the proxy); return (status, headers, body)."""
        connection = http.client.HTTPConnection("127.0.0.1", self.port, timeout=timeout)
        try:
            sent = {"Host": "course.test", "X-Forwarded-Proto": "https", "X-Forwarded-For": "203.0.113.7",
                    **(headers or {})}  # fmt: skip
            connection.request(method, path, body=body, headers=sent)
            response = connection.getresponse()
            return response.status, dict(response.getheaders()), response.read()
        finally:
            connection.close()

    def get(self, path, **kwargs):
        return self.request("GET", path, **kwargs)

    def output(self):
        return self.log.read_text(errors="replace")[-6000:]

    def worker_pids(self, timeout=10):
        """The pids of gunicorn's worker processes (children of the arbiter), once there is at least one."""
        children = Path(f"/proc/{self.process.pid}/task/{self.process.pid}/children")
        deadline = time.monotonic() + timeout
        while True:
            pids = [int(pid) for pid in children.read_text().split()] if children.exists() else []
            if pids or time.monotonic() > deadline:
                return pids
            time.sleep(0.05)

    def stop(self):
        """Quick shutdown (SIGQUIT); what is left of the process group after 10 s is killed."""
        if self.process.poll() is None:
            self.process.send_signal(signal.SIGQUIT)
            try:
                self.process.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait(timeout=10)
        with contextlib.suppress(ProcessLookupError, PermissionError):
            os.killpg(self.process.pid, signal.SIGKILL)
        self._log.close()


@contextmanager
def celery_broker(url):
    """Point this process's Celery app (its producer and `control`) at another broker for a while.

    kombu keeps its connection pools per broker URL for the whole process: the app's own pool (the test
    settings' broker) is left open for the tests after; only the pool of `url` is closed at the end.
    """
    conf = celery_app.conf
    saved = conf.broker_url, conf.task_always_eager

    def reset():
        celery_app._pool = None
        celery_app.amqp._producer_pool = None

    reset()
    conf.broker_url, conf.task_always_eager = url, False
    try:
        yield celery_app
    finally:
        own = celery_app._pool
        reset()
        conf.broker_url, conf.task_always_eager = saved
        if own is not None:
            own.force_close_all()


def session_cookie(user):
    """A logged-in session of `user` in the database (the sessions' store), as a Cookie header.

    Signed with the production environment's SECRET_KEY (the processes' own), as their login would be.
    """
    from django.test import Client, override_settings

    with override_settings(SECRET_KEY=SECRET_KEY):
        return _session_cookie(Client, user)


def _session_cookie(Client, user):  # noqa: N803 - the class, passed in

    client = Client()
    client.force_login(user)
    return f"sessionid={client.cookies['sessionid'].value}"
