#!/usr/bin/env python
"""Launch-day figures (issue 11), written as a table to stdout (copied into bench/results.md):

1. memory (RSS) of one gunicorn worker while it serves `Range: bytes=0-` of a 1 GB sparse lesson video;
2. page latency while 30 clients download slowly (each reads 64 KiB every 0.5 s) from the same gunicorn;
3. time to render 20,000 `[` (courses.markdown.render_markdown);
4. wrong passwords before the login (where /admin/login/ sends) refuses: from one address over many
   accounts, and for one account;
5. `manage.py check --deploy` findings with the README's production settings;
6. with --faults, each fault test's outcome (tests/faults: lost, duplicated), from pytest's output.

Everything on 127.0.0.1 and bounded in time: gunicorn as production runs it (gunicorn.conf.py, DEBUG off, the
README's environment), a redis-server of its own, the Postgres database of DATABASE_URL (migrated; it gets a
course of its own per run).

    DATABASE_URL=postgres://postgres@127.0.0.1:5432/cw_faults .venv/bin/python bench/launch.py [--faults]
"""

import argparse
import os
import re
import statistics
import subprocess
import sys
import tempfile
import threading
import time
import uuid
from pathlib import Path

import requests

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))

GB = 1024**3
SLOW_CLIENTS = 30
SLOW_SECONDS = 10
# The kinds of email whose SIGKILL test lives with their own tests (tests/faults has the others).
KILL_TESTS_ELSEWHERE = [
    "tests/enrollment/test_email_delivery.py::test_worker_killed_mid_batch_loses_nothing_and_repeats_at_most_one",
    "tests/enrollment/test_announcement_delivery.py::test_a_worker_killed_mid_batch_mails_each_student_one_message",
    "tests/enrollment/test_release_digest_delivery.py::test_a_worker_killed_mid_batch_mails_each_student_one_digest",
    "tests/officehours/test_change_emails.py::test_a_worker_killed_mid_batch_mails_each_student_one_message",
]
ORIGINAL_ENVIRON = dict(os.environ)  # before main() puts the production settings in it


def rss_kib(pid):
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1])
    return 0


def page_latency(web, path, count=30):
    """Median and worst of `count` requests for the page, one after another."""
    times = []
    for _ in range(count):
        started = time.monotonic()
        status = web.get(path, timeout=30)[0]
        times.append(time.monotonic() - started)
        assert status == 200, status
    return statistics.median(times), max(times)


def stream(web, path, *, chunk=64 * 1024, pause=0.0, seconds=None, stop=None):
    """Read a range request's body; return bytes read."""
    headers = {"Host": "course.test", "X-Forwarded-Proto": "https", "Range": "bytes=0-"}
    read = 0
    deadline = time.monotonic() + seconds if seconds else None
    with requests.get(f"http://127.0.0.1:{web.port}{path}", headers=headers, stream=True, timeout=30) as response:
        assert response.status_code == 206, response.status_code
        for piece in response.iter_content(chunk):
            read += len(piece)
            if pause:
                time.sleep(pause)
            if (deadline and time.monotonic() > deadline) or (stop and stop.is_set()):
                break
    return read


def measure_memory(web, path):
    [worker] = web.worker_pids()
    web.get(path.rsplit("/lessons/", 1)[0] + "/")  # warm the worker up
    before = rss_kib(worker)
    peak, done = before, threading.Event()

    def sample():
        nonlocal peak
        while not done.is_set():
            peak = max(peak, rss_kib(worker))
            time.sleep(0.01)

    sampler = threading.Thread(target=sample)
    sampler.start()
    started = time.monotonic()
    sent = stream(web, path, chunk=1024 * 1024)
    seconds = time.monotonic() - started
    done.set()
    sampler.join()
    return before, peak, sent, seconds


def measure_slow_clients(web, video, page):
    page_latency(web, page, count=40)  # every worker has served the page once
    quiet = page_latency(web, page)
    stop = threading.Event()
    slow = {"pause": 0.5, "seconds": SLOW_SECONDS, "stop": stop}
    clients = [threading.Thread(target=stream, args=(web, video), kwargs=slow) for _ in range(SLOW_CLIENTS)]
    for client in clients:
        client.start()
    time.sleep(1)  # every client holds its download
    busy = page_latency(web, page)
    stop.set()
    for client in clients:
        client.join(timeout=SLOW_SECONDS + 30)
    return quiet, busy


def render_brackets():
    from courses.markdown import render_markdown

    started = time.monotonic()
    render_markdown("[" * 20000)
    return time.monotonic() - started


def wrong_passwords(web, *, accounts):
    """Wrong passwords accepted for checking before the first refusal (one address; `accounts` emails in turn)."""
    for attempt in range(1, 30):
        cookies = {}
        headers = {"Host": "course.test", "X-Forwarded-Proto": "https", "X-Forwarded-For": "198.51.100.20",
                   "Referer": "https://course.test/accounts/login/", "Origin": "https://course.test"}  # fmt: skip
        base = f"http://127.0.0.1:{web.port}/accounts/login/"
        form = requests.get(base, headers=headers, timeout=20)
        cookies.update(form.cookies.get_dict())
        token = re.search(r'name="csrfmiddlewaretoken" value="([^"]+)"', form.text).group(1)
        email = accounts[(attempt - 1) % len(accounts)]
        cookie = "; ".join(f"{k}={v}" for k, v in cookies.items())
        answer = requests.post(base, headers={**headers, "Cookie": cookie},
                               data={"csrfmiddlewaretoken": token, "login": email, "password": f"wrong-{attempt}"},
                               allow_redirects=False, timeout=20)  # fmt: skip
        if answer.status_code == 429 or "Too many failed login attempts" in answer.text:
            return attempt - 1
    return None


def check_deploy(env):
    result = subprocess.run([sys.executable, "manage.py", "check", "--deploy"], cwd=REPO, env=env,
                            capture_output=True, text=True, timeout=120)  # fmt: skip
    output = result.stdout + result.stderr
    if "no issues" in output:
        return 0
    found = re.search(r"identified (\d+) issue", output)
    return int(found.group(1)) if found else output


def fault_outcomes():
    env = {**ORIGINAL_ENVIRON, "REQUIRE_SERVICES": "1"}  # the tests' own settings (REDIS_URL, DEBUG)
    command = [sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", "-rA", "tests/faults",
               *KILL_TESTS_ELSEWHERE]  # fmt: skip
    result = subprocess.run(command, cwd=REPO, env=env, capture_output=True, text=True, timeout=2400)
    log = REPO / "bench" / "results" / "launch-faults.log"  # the whole pytest output, to read a failure
    log.parent.mkdir(exist_ok=True)
    log.write_text(result.stdout + result.stderr)
    found = re.findall(r"\[SIGKILL mid-batch([^\]]*)\].*?(\d+) received for (\d+) students; duplicates: (\d+)",
                       result.stdout)  # fmt: skip
    kills = [(label.strip(" ,()") or "pre-launch", *numbers) for label, *numbers in found]
    passed = re.findall(r"^PASSED (\S+)", result.stdout, re.MULTILINE)
    failed = re.findall(r"^FAILED (\S+)", result.stdout, re.MULTILINE)
    return kills, passed, failed, result.stdout.strip().splitlines()[-1]


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--faults", action="store_true", help="also run tests/faults and report their outcomes")
    args = parser.parse_args()
    if not os.environ.get("DATABASE_URL", "").startswith("postgres"):
        sys.exit("Set DATABASE_URL to a Postgres database (it is migrated and gets a course of its own).")

    from tests.services import RedisServer, production_env

    work = Path(tempfile.mkdtemp(prefix="cw-launch-"))
    redis = RedisServer(work).start()
    media = work / "media"
    env = production_env(database_url=os.environ["DATABASE_URL"], redis_url=redis.url, PRIVATE_MEDIA_ROOT=media)
    os.environ.update({key: value for key, value in env.items() if key not in ("EMAIL_BACKEND",)})
    subprocess.run([sys.executable, "manage.py", "migrate", "--noinput", "-v0"], cwd=REPO, env=env, check=True,
                   timeout=600)  # fmt: skip

    import django

    django.setup()
    from django.contrib.auth.hashers import make_password

    from accounts.models import User
    from courses.models import Course, Lesson, Section

    tag = uuid.uuid4().hex[:8]
    video = media / "lessons" / "videos" / f"launch-{tag}.mp4"
    video.parent.mkdir(parents=True)
    with open(video, "wb") as handle:
        handle.truncate(GB)  # sparse: no disk used
    course = Course.objects.create(title=f"Launch {tag}", slug=f"launch-{tag}", is_published=True)
    section = Section.objects.create(course=course, title="One", order=1)
    lesson = Lesson.objects.create(section=section, title="Big", slug="big", is_free_preview=True,
                                   video_file=f"lessons/videos/launch-{tag}.mp4")  # fmt: skip
    video_path = f"/courses/{course.slug}/lessons/{lesson.slug}/video/"
    page = f"/courses/{course.slug}/"
    accounts = [f"launch-{tag}-{n}@example.com" for n in range(12)]
    User.objects.bulk_create(User(email=email, password=make_password("right-password-123"), is_staff=True)
                             for email in accounts)  # fmt: skip

    try:
        rows = measure(env, work, redis, video_path, page, accounts)
    finally:
        redis.stop()
    if args.faults:
        rows += fault_rows()
    print("| Figure | Measured |\n| --- | --- |")
    for name, value in rows:
        print(f"| {name} | {value} |")


def measure(env, work, redis, video_path, page, accounts):
    from tests.services import Gunicorn

    rows = []
    web = Gunicorn(env, work, name="one-worker", workers=1, threads=8)
    try:
        before, peak, sent, seconds = measure_memory(web, video_path)
        rows.append(("Memory of one gunicorn worker serving `bytes=0-` of a 1 GB file",
                     f"RSS {before / 1024:.0f} MiB before, {peak / 1024:.0f} MiB peak "
                     f"(+{(peak - before) / 1024:.1f} MiB) while sending {sent / GB:.2f} GB "
                     f"in {seconds:.1f} s"))  # fmt: skip
    finally:
        web.stop()
    web = Gunicorn(env, work, name="production")  # gunicorn.conf.py's own counts: 2 × cores + 1 workers, 8 threads
    try:
        (quiet_median, quiet_max), (busy_median, busy_max) = measure_slow_clients(web, video_path, page)
        rows.append((f"Page latency while {SLOW_CLIENTS} clients download slowly (Django streams; no nginx)",
                     f"median {busy_median * 1000:.0f} ms, max {busy_max * 1000:.0f} ms "
                     f"(quiet: median {quiet_median * 1000:.0f} ms, max {quiet_max * 1000:.0f} ms); "
                     f"{os.cpu_count() * 2 + 1} workers × 8 threads"))  # fmt: skip
        per_address = wrong_passwords(web, accounts=accounts[:11])
        redis.stop()
        redis.start()  # a clean slate for the per-account count
        per_account = wrong_passwords(web, accounts=accounts[11:])
        rows.append(("Wrong passwords before refusal (`/admin/login/` sends to the site's login)",
                     f"{per_address} from one address (over many accounts), "
                     f"{per_account} for one account"))  # fmt: skip
    finally:
        web.stop()
    rows.append(("Time to render 20,000 `[` (render_markdown)", f"{render_brackets() * 1000:.0f} ms"))
    rows.append(("`check --deploy` findings, README production settings", str(check_deploy(env))))
    return rows


def fault_rows():
    rows = []
    kills, passed, failed, summary = fault_outcomes()
    for kind, received, total, duplicates in kills:
        rows.append((f"Worker SIGKILLed mid-batch: {kind}",
                     f"lost {int(total) - (int(received) - int(duplicates))}, duplicated {duplicates} "
                     f"({received} received for {total})"))  # fmt: skip
    for test in passed + failed:
        if "kill" in test or not test.startswith("tests/faults"):
            continue
        rows.append((test.split("::")[-1].replace("_", " "), "passed" if test in passed else "FAILED"))
    rows.append(("tests/faults and the SIGKILL tests elsewhere", summary))
    return rows


if __name__ == "__main__":
    main()
