"""Shared fixtures. Services: Postgres via DATABASE_URL, Redis via REDIS_URL, Chromium for browser tests.

With REQUIRE_SERVICES=1 (CI) a test that needs a missing service fails instead of skipping;
REQUIRE_BROWSER=1 does the same for Chromium.
"""

import asyncio
import email
import email.policy
import json
import os
import shutil
import threading
import uuid
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from urllib.parse import parse_qs, urlsplit

import pytest

from courseweb.celery import app as celery_app
from tests.workers import Workers, database_url, free_port

# Playwright's sync API runs an event loop in the test thread; the ORM calls in
# browser tests are still synchronous and safe.
os.environ.setdefault("DJANGO_ALLOW_ASYNC_UNSAFE", "true")

CHROMIUM = os.environ.get("CHROMIUM_PATH", "/usr/bin/chromium")
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
    "--disable-quic",
]


def _flag(name):
    return os.environ.get(name, "").strip().lower() in {"1", "true", "yes"}


def missing_service(message):
    """Fail under REQUIRE_SERVICES, skip otherwise."""
    if _flag("REQUIRE_SERVICES"):
        pytest.fail(f"{message} (REQUIRE_SERVICES=1)")
    pytest.skip(message)


def pytest_sessionstart(session):
    if _flag("REQUIRE_SERVICES"):
        url = os.environ.get("DATABASE_URL", "").strip()
        if not url.startswith(("postgres://", "postgresql://")):
            raise pytest.UsageError("REQUIRE_SERVICES=1 needs DATABASE_URL pointing at Postgres.")
        if not os.environ.get("REDIS_URL", "").strip():
            raise pytest.UsageError("REQUIRE_SERVICES=1 needs REDIS_URL.")


@pytest.fixture
def on_postgres(settings):
    if settings.DATABASES["default"]["ENGINE"] != "django.db.backends.postgresql":
        missing_service("needs Postgres (set DATABASE_URL)")


@pytest.fixture(autouse=True)
def eager_celery():
    """Run Celery tasks in the test, also when REDIS_URL made the settings non-eager.

    On for every test, so no test leaves tasks in the real Redis; the tests of a real worker turn it
    off for the tasks they send (and restore it by hand).

    Set and restored by hand: the app's conf is not a Django setting, so the settings fixture cannot undo it.
    """
    saved = celery_app.conf.task_always_eager, celery_app.conf.task_eager_propagates
    celery_app.conf.task_always_eager = True
    celery_app.conf.task_eager_propagates = True
    try:
        yield celery_app
    finally:
        celery_app.conf.task_always_eager, celery_app.conf.task_eager_propagates = saved


@pytest.fixture(autouse=True)
def fast_password_hasher(settings):
    """Hash test passwords with a cheap hasher: PBKDF2 at full strength costs ~0.5 s a user."""
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]


@pytest.fixture(autouse=True)
def own_rate_limit_counts(settings):
    """Count django-ratelimit's limits per test: they live in the shared cache (Redis when REDIS_URL is set),
    where every anonymous test client is 127.0.0.1 and a run a minute before used the same user ids."""
    settings.RATELIMIT_CACHE_PREFIX = f"rl-test-{uuid.uuid4().hex}:"


@pytest.fixture(autouse=True)
def own_cache_namespace(settings):
    """Give each test its own keys in the cache. With Redis the cache outlives the test database: the next run's
    course with the same id would otherwise find the content version, and what was cached under it, of this run's.
    """
    prefix = f"test-{uuid.uuid4().hex}"
    settings.CACHES = {name: {**config, "KEY_PREFIX": prefix} for name, config in settings.CACHES.items()}


@pytest.fixture(autouse=True)
def private_media(settings, tmp_path):
    """Keep uploaded files of a test in its own folder."""
    settings.MEDIA_ROOT = tmp_path / "media"
    settings.PRIVATE_MEDIA_ROOT = settings.MEDIA_ROOT
    return settings.MEDIA_ROOT


@pytest.fixture(scope="session")
def browser_type_launch_args(browser_type_launch_args):
    if not os.path.exists(CHROMIUM) and not shutil.which("chromium"):
        if _flag("REQUIRE_BROWSER"):
            pytest.fail(f"Chromium not found at {CHROMIUM} (REQUIRE_BROWSER=1)")
        pytest.skip("Chromium is not installed (apt-get install chromium)")
    return {**browser_type_launch_args, "executable_path": CHROMIUM, "args": CHROMIUM_ARGS}


class SinkHandler:
    """Collect every message an SMTP client hands over.

    `.messages` in arrival order, `.sessions` the number of SMTP sessions (one per EHLO/HELO, so one per
    connection), `.session_of` the session number of each message. Set `.delay` (seconds) to make the
    server slow to answer "250" to each message (it keeps the message before the delay); `.max_per_session`
    to make it end a session after that many messages with "421", as servers that cap messages per
    connection do; `.fail_at`, a set of message counts, to refuse the next message once with "451" when
    that many have been accepted; `.unknown_recipients` and `.rejected_content`, sets of addresses, to
    refuse those recipients for good ("550" to RCPT) or messages to them ("554" to DATA).
    """

    def __init__(self):
        self.messages = []
        self.session_of = []
        self.sessions = 0
        self.delay = 0.0
        self.max_per_session = None
        self.fail_at = set()
        self.unknown_recipients = set()
        self.rejected_content = set()

    async def handle_EHLO(self, server, session, envelope, hostname, responses):
        self._start_session(session, hostname)
        return responses

    async def handle_HELO(self, server, session, envelope, hostname):
        self._start_session(session, hostname)
        return f"250 {server.hostname}"

    def _start_session(self, session, hostname):
        if getattr(session, "number", None) is None:
            self.sessions += 1
            session.number = self.sessions
            session.accepted = 0
        session.host_name = hostname

    async def handle_RCPT(self, server, session, envelope, address, rcpt_options):
        if address in self.unknown_recipients:
            return "550 No such user here"
        envelope.rcpt_tos.append(address)
        return "250 OK"

    async def handle_DATA(self, server, session, envelope):
        if set(envelope.rcpt_tos) & self.rejected_content:
            return "554 Message rejected"
        if self.max_per_session is not None and getattr(session, "accepted", 0) >= self.max_per_session:
            return "421 Too many messages in this session, closing"
        if len(self.messages) in self.fail_at:
            self.fail_at.discard(len(self.messages))
            return "451 Temporary failure, try again later"
        # Kept as soon as it has arrived, as a mail server that queues the message before it answers: a
        # client that dies while waiting for the "250" has handed the message over all the same.
        self.messages.append(email.message_from_bytes(envelope.content, policy=email.policy.default))
        self.session_of.append(getattr(session, "number", None))
        session.accepted = getattr(session, "accepted", 0) + 1
        if self.delay:
            await asyncio.sleep(self.delay)
        return "250 Message accepted"


@pytest.fixture
def smtp_sink():
    """A real SMTP server on 127.0.0.1 (aiosmtpd); `.messages` holds what it received (see SinkHandler)."""
    from aiosmtpd.controller import Controller

    handler = SinkHandler()
    controller = Controller(handler, hostname="127.0.0.1", port=free_port())
    controller.start()
    handler.port = controller.port
    yield handler
    controller.stop()


@pytest.fixture
def redis_url():
    url = os.environ.get("REDIS_URL", "").strip()
    if not url:
        missing_service("needs Redis (set REDIS_URL)")
    import redis

    try:
        redis.Redis.from_url(url, socket_connect_timeout=2).ping()
    except redis.RedisError as error:
        missing_service(f"Redis at {url} does not answer: {error}")
    return url


# --- A fake Stripe API on 127.0.0.1, so the stripe library's real HTTP requests can be checked ---

STRIPE_DATA = Path(__file__).parent / "data" / "stripe"
FAKE_STRIPE_KEY = "sk_test_51QRo2Lkd4IwHu7ixFakeKeyForTestsOnly0000"


def stripe_json(name):
    """A recorded Stripe API object or event from tests/data/stripe/, as a fresh dict."""
    return json.loads((STRIPE_DATA / name).read_text())


@dataclass
class StripeRequest:
    method: str
    path: str
    headers: dict  # names in lower case
    form: dict  # the form-encoded body (or query string), parsed with parse_qs: every value is a list


class FakeStripe:
    """Stripe's API as far as Checkout goes: records every request and answers with recorded JSON.

    POST /v1/checkout/sessions answers `created_session` (checkout_session_created.json);
    GET /v1/checkout/sessions/<id> answers `sessions[id]`, or Stripe's 404. Set `error` to a
    (status, body) pair to make every call fail as Stripe would.
    """

    def __init__(self):
        self.url = ""
        self.requests = []
        self.sessions = {}
        self.created_session = stripe_json("checkout_session_created.json")
        self.error = None
        self._lock = threading.Lock()

    def record(self, request):
        with self._lock:
            self.requests.append(request)

    def answer(self, method, path):
        if self.error is not None:
            return self.error
        if method == "POST" and path == "/v1/checkout/sessions":
            return 200, self.created_session
        if method == "GET" and path.startswith("/v1/checkout/sessions/"):
            session_id = path.rsplit("/", 1)[1]
            if session_id in self.sessions:
                return 200, self.sessions[session_id]
            return 404, stripe_error(f"No such checkout.session: '{session_id}'", code="resource_missing")
        return 404, stripe_error(f"Unrecognized request URL ({method}: {path}).")


def stripe_error(message, *, code=None, error_type="invalid_request_error"):
    return {"error": {"code": code, "message": message, "type": error_type, "request_log_url": None}}


class FakeStripeHandler(BaseHTTPRequestHandler):
    def do_GET(self):
        self.serve()

    def do_POST(self):
        self.serve()

    def serve(self):
        fake = self.server.fake
        url = urlsplit(self.path)
        length = int(self.headers.get("Content-Length") or 0)
        body = self.rfile.read(length).decode() if length else url.query
        headers = {name.lower(): value for name, value in self.headers.items()}
        fake.record(StripeRequest(self.command, url.path, headers, parse_qs(body)))
        status, payload = fake.answer(self.command, url.path)
        data = json.dumps(payload).encode()
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(data)))
        self.send_header("Request-Id", f"req_fake{len(fake.requests)}")
        if status >= 400:
            self.send_header("Stripe-Should-Retry", "false")  # as Stripe does for a request that would fail again
        self.end_headers()
        self.wfile.write(data)

    def log_message(self, format, *args):
        pass


@pytest.fixture
def fake_stripe(settings):
    """Point the Stripe client at a fake API server on 127.0.0.1 (and give it a test key); yield the FakeStripe."""
    fake = FakeStripe()
    server = ThreadingHTTPServer(("127.0.0.1", 0), FakeStripeHandler)
    server.daemon_threads = True
    server.fake = fake
    thread = threading.Thread(target=server.serve_forever, args=(0.05,), name="fake-stripe", daemon=True)
    thread.start()
    fake.url = f"http://127.0.0.1:{server.server_port}"
    settings.STRIPE_API_BASE = fake.url
    settings.STRIPE_SECRET_KEY = FAKE_STRIPE_KEY
    yield fake
    server.shutdown()
    server.server_close()
    thread.join()


@pytest.fixture
def workers(on_postgres, redis_url, transactional_db, smtp_sink, settings, tmp_path):
    """Start workers with `workers.start(name)`; all of them are stopped (and Redis cleaned) afterwards."""
    pool = Workers(redis_url=redis_url, database_url=database_url(settings), smtp_port=smtp_sink.port,
                   log_dir=tmp_path)  # fmt: skip
    eager = celery_app.conf.task_always_eager
    celery_app.conf.task_always_eager = False
    try:
        yield pool
    finally:
        celery_app.conf.task_always_eager = eager
        pool.stop()


@pytest.fixture(scope="session")
def moto(tmp_path_factory):
    """A real S3-compatible server (moto in server mode, its own process) for the whole test run."""
    from tests.bucket import MotoServer

    server = MotoServer(tmp_path_factory.mktemp("moto") / "moto.log")
    yield server
    server.stop()


@pytest.fixture
def bucket(moto, settings):
    """A new private bucket, and the settings that keep course files in it (as AWS_STORAGE_BUCKET_NAME does)."""
    name = f"course-files-{uuid.uuid4().hex[:8]}"
    moto.client().create_bucket(Bucket=name)
    settings.STORAGES = {**settings.STORAGES, "default": moto.storage_setting(name)}
    settings.COURSE_FILE_LINK_SECONDS = 300
    return name
