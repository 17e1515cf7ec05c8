"""deploy/nginx.conf (the README's server block) in front of Django, on a real nginx: Django asks the access
policy, answers an allowed course file with X-Accel-Redirect, and nginx sends the bytes, ranges included.

The test runs the file as shipped, with only its addresses, certificate and folder replaced by the test's.
"""

import os
import shutil
import socket
import subprocess
import time
from pathlib import Path
from types import SimpleNamespace
from urllib.parse import urlsplit

import pytest
import requests
import urllib3
from django.core.files.base import ContentFile
from django.urls import reverse

from tests.conftest import missing_service
from tests.factories import EnrollmentFactory, LessonFactory, ResourceFactory, RunFactory
from tests.workers import free_port

ROOT = Path(__file__).resolve().parent.parent
NGINX = shutil.which("nginx") or "/usr/sbin/nginx"
HOST = "course.example.com"
DATA = bytes(range(256)) * 1200  # 300 KiB, every offset's byte known
PREFIX = "/_course_files/"


def wait_for_port(port, process, log):
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline:
        if process.poll() is not None:
            pytest.fail(f"nginx stopped: {log.read_text() if log.exists() else ''}")
        with socket.socket() as probe:
            if probe.connect_ex(("127.0.0.1", port)) == 0:
                return
        time.sleep(0.05)
    pytest.fail("nginx did not start listening")


def substitute(text, replacements):
    for old, new in replacements.items():
        assert old in text, f"deploy/nginx.conf no longer has {old!r}: update this test with it"
        text = text.replace(old, new)
    return text


@pytest.fixture
def nginx(live_server, tmp_path, settings, private_media):
    if not os.path.exists(NGINX):
        missing_service("nginx is not installed (apt-get install nginx)")
    settings.COURSE_FILES_ACCEL_PREFIX = PREFIX
    settings.ALLOWED_HOSTS = [HOST, "127.0.0.1", "localhost", "testserver"]
    key, cert = tmp_path / "key.pem", tmp_path / "cert.pem"
    subprocess.run(
        ["openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-keyout", key, "-out", cert, "-days", "1",
         "-subj", f"/CN={HOST}"],
        check=True, capture_output=True,
    )  # fmt: skip
    https_port, http_port = free_port(), free_port()
    block = substitute(
        (ROOT / "deploy" / "nginx.conf").read_text(),
        {
            "listen 443 ssl;": f"listen 127.0.0.1:{https_port} ssl;",
            "listen 80;": f"listen 127.0.0.1:{http_port};",
            f"/etc/letsencrypt/live/{HOST}/fullchain.pem": str(cert),
            f"/etc/letsencrypt/live/{HOST}/privkey.pem": str(key),
            "server 127.0.0.1:8000;": f"server {urlsplit(live_server.url).netloc};",
            "/srv/courseweb/media_private/": f"{private_media}/",
        },
    )
    temp = "\n".join(
        f"{kind}_temp_path {tmp_path / kind};" for kind in ("client_body", "proxy", "fastcgi", "uwsgi", "scgi")
    )
    user = "user root root;" if os.geteuid() == 0 else ""  # workers read the test's private folder
    conf = tmp_path / "nginx.conf"
    conf.write_text(
        f"daemon off; worker_processes 1; pid {tmp_path / 'nginx.pid'}; {user}\n"
        f"events {{}}\nhttp {{\ninclude /etc/nginx/mime.types;\naccess_log off;\n{temp}\n{block}\n}}\n"
    )
    log = tmp_path / "error.log"
    process = subprocess.Popen([NGINX, "-p", str(tmp_path), "-c", str(conf), "-e", str(log)])
    try:
        wait_for_port(https_port, process, log)
        yield SimpleNamespace(url=f"https://127.0.0.1:{https_port}", http_url=f"http://127.0.0.1:{http_port}",
                              direct=live_server.url)  # fmt: skip
    finally:
        process.terminate()
        process.wait(timeout=10)


def get(url, *, client=None, **headers):
    cookies = {"sessionid": client.cookies["sessionid"].value} if client and "sessionid" in client.cookies else {}
    with urllib3.warnings.catch_warnings():
        urllib3.warnings.simplefilter("ignore", urllib3.exceptions.InsecureRequestWarning)
        return requests.get(url, headers={"Host": HOST, **headers}, cookies=cookies, verify=False,
                            allow_redirects=False, timeout=10)  # fmt: skip


@pytest.fixture
def video(transactional_db, client):
    lesson = LessonFactory(video_file=ContentFile(DATA, name="intro.mp4"))
    student = EnrollmentFactory(run=RunFactory(course=lesson.course)).user
    client.force_login(student)
    return SimpleNamespace(lesson=lesson, path=reverse("courses:lesson_video", args=[lesson.course.slug, lesson.slug]))


def test_nginx_sends_an_allowed_video_with_ranges(nginx, video, client):
    whole = get(nginx.url + video.path, client=client, Range="bytes=0-")
    assert whole.status_code == 206
    assert whole.headers["Content-Range"] == f"bytes 0-{len(DATA) - 1}/{len(DATA)}"
    assert whole.content == DATA
    assert whole.headers["Content-Type"] == "video/mp4"

    seek = get(nginx.url + video.path, client=client, Range="bytes=100000-100099")
    assert seek.status_code == 206
    assert seek.content == DATA[100000:100100]

    plain = get(nginx.url + video.path, client=client)
    assert plain.status_code == 200 and plain.content == DATA


def test_django_itself_sends_no_bytes_only_the_redirect(nginx, video, client):
    answer = get(nginx.direct + video.path, client=client, Range="bytes=0-")
    assert answer.headers["X-Accel-Redirect"] == f"{PREFIX}{video.lesson.video_file.name}"
    assert answer.content == b""


def test_the_policy_still_decides_and_the_files_folder_is_not_reachable(nginx, video, client):
    visitor = get(nginx.url + video.path)  # no session: log in first, no bytes
    assert visitor.status_code == 302 and reverse("account_login") in visitor.headers["Location"]
    assert DATA[:64] not in visitor.content

    outside = get(f"{nginx.url}{PREFIX}{video.lesson.video_file.name}", client=client)
    assert outside.status_code == 404

    assert get(nginx.http_url + video.path).status_code == 301  # plain HTTP goes to HTTPS


def test_a_reading_file_keeps_its_download_name_through_nginx(nginx, video, client):
    resource = ResourceFactory(lesson=video.lesson, url="", file=ContentFile(b"%PDF-1.4 notes", name="notes.pdf"))
    answer = get(nginx.url + reverse("courses:resource", args=[video.lesson.course.slug, resource.pk]), client=client)
    assert answer.status_code == 200
    assert answer.content == b"%PDF-1.4 notes"
    assert answer.headers["Content-Disposition"] == 'attachment; filename="notes.pdf"'


def test_the_readme_shows_the_server_block_that_is_tested():
    assert (ROOT / "deploy" / "nginx.conf").read_text() in (ROOT / "README.md").read_text()
