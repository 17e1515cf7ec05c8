"""Postgres restarted while gunicorn serves: requests fail only while it is down, and succeed after it is back
without restarting the web processes (CONN_MAX_AGE with conn_health_checks: a persistent connection that the
restart closed is noticed and replaced at the next request).

The cluster is the test's own (initdb into a temporary folder, on a free port): the machine's Postgres is
never restarted.
"""

import shutil
import subprocess
import sys
import tempfile
import time

import pytest

from tests.services import Gunicorn, PostgresCluster, RedisServer, production_env
from tests.workers import ROOT

pytestmark = pytest.mark.faults

PAGES = ["/healthz", "/"]  # a bare query, and the course list (ORM, templates, the session middleware)


@pytest.fixture
def cluster():
    directory = tempfile.mkdtemp(prefix="cw-pg-")  # under /tmp: the postgres user must reach it
    cluster = PostgresCluster(directory).init().start()
    try:
        yield cluster
    finally:
        cluster.stop()
        shutil.rmtree(directory, ignore_errors=True)


@pytest.fixture
def site(cluster, tmp_path):
    redis = RedisServer(tmp_path).start()
    cluster.create_database("courseweb")
    env = production_env(database_url=cluster.url("courseweb"), redis_url=redis.url)
    subprocess.run([sys.executable, "manage.py", "migrate", "--noinput", "-v0"], cwd=ROOT, env=env, check=True,
                   timeout=300)  # fmt: skip
    web = Gunicorn(env, tmp_path, workers=2, threads=2)
    try:
        yield web
    finally:
        web.stop()
        redis.stop()


def statuses(web, rounds=6):
    """The answers to each page, `rounds` times: enough requests to reach every thread of every worker."""
    return [web.get(path, timeout=15)[0] for _ in range(rounds) for path in PAGES]


def test_requests_fail_only_while_postgres_is_down_and_succeed_after_without_restarting_gunicorn(site, cluster):
    web = site
    assert set(statuses(web)) == {200}, web.output()  # every thread now holds a persistent connection
    workers = sorted(web.worker_pids())
    assert len(workers) == 2

    cluster.ctl("stop", "-m", "fast")
    down = statuses(web, rounds=2)
    cluster.ctl("start")
    started = time.monotonic()
    back = statuses(web)

    assert set(down) == {500}  # a server error page while the database is away, quickly
    assert set(back) == {200}, web.output()  # the first request after the restart already succeeds
    assert time.monotonic() - started < 30
    assert sorted(web.worker_pids()) == workers  # the same web processes: nothing was restarted

    # `pg_ctl restart` (stop and start at once) too, between two requests of the same threads.
    cluster.ctl("restart", "-m", "fast")
    assert set(statuses(web)) == {200}, web.output()
    assert sorted(web.worker_pids()) == workers
