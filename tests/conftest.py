"""Shared fixtures. Services: Postgres via DATABASE_URL, Redis via REDIS_URL, Chromium for browser tests.

With REQUIRE_SERVICES=1 (CI) a test that needs a missing service fails instead of skipping;
REQUIRE_BROWSER=1 does the same for Chromium.
"""

import email
import email.policy
import os
import shutil
import socket

import pytest

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
def fast_password_hasher(settings):
    """Hash test passwords with a cheap hasher: PBKDF2 at full strength costs ~0.5 s a user."""
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]


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


def free_port():
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


class SinkHandler:
    """Collect every message an SMTP client hands over."""

    def __init__(self):
        self.messages = []

    async def handle_DATA(self, server, session, envelope):
        self.messages.append(email.message_from_bytes(envelope.content, policy=email.policy.default))
        return "250 Message accepted"


@pytest.fixture
def smtp_sink():
    """A real SMTP server on 127.0.0.1 (aiosmtpd); `.messages` holds what it received."""
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
