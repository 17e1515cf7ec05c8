"""The integrations that settings switch on from the environment: Redis cache, Celery on Redis."""

import os
import subprocess
import sys
import time
import uuid
from pathlib import Path

from django.core.cache import cache

from accounts.tasks import send_account_email
from courseweb.celery import app as celery_app

ROOT = Path(__file__).resolve().parent.parent


def test_cache_round_trips_through_redis(redis_url, settings):
    assert settings.CACHES["default"]["BACKEND"] == "django_redis.cache.RedisCache"
    key = f"courseweb-test-{uuid.uuid4()}"
    cache.set(key, {"answer": 42}, timeout=30)
    try:
        assert cache.get(key) == {"answer": 42}
    finally:
        cache.delete(key)


def test_celery_worker_on_redis_sends_account_email_over_smtp(redis_url, smtp_sink):
    """A real worker process takes the task from Redis and hands the email to a real SMTP server."""
    queue = f"test-{uuid.uuid4().hex[:12]}"
    env = {
        **os.environ,
        "REDIS_URL": redis_url,
        "EMAIL_HOST": "127.0.0.1",
        "EMAIL_PORT": str(smtp_sink.port),
        "DJANGO_SETTINGS_MODULE": "courseweb.settings",
    }
    worker = subprocess.Popen(
        [sys.executable, "-m", "celery", "-A", "courseweb", "worker", "--pool=solo", "-Q", queue,
         "--without-gossip", "--without-mingle", "--without-heartbeat", "--loglevel=WARNING"],
        cwd=ROOT, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
    )  # fmt: skip
    eager = celery_app.conf.task_always_eager
    celery_app.conf.task_always_eager = False
    try:
        send_account_email.apply_async(
            kwargs={
                "subject": "Your login code",
                "body": "Your code is 123456",
                "html": "<p>Your code is <b>123456</b></p>",
                "from_email": "Courseweb <courses@localhost>",
                "to": ["student@example.com"],
            },
            queue=queue,
        )
        deadline = time.monotonic() + 30
        while not smtp_sink.messages and time.monotonic() < deadline and worker.poll() is None:
            time.sleep(0.1)
    finally:
        celery_app.conf.task_always_eager = eager
        worker.terminate()
        output = worker.communicate(timeout=20)[0].decode(errors="replace")
    assert len(smtp_sink.messages) == 1, output
    message = smtp_sink.messages[0]
    assert message["To"] == "student@example.com"
    assert message["Subject"] == "Your login code"
    assert "123456" in message.get_body(("plain",)).get_content()
    assert "<b>123456</b>" in message.get_body(("html",)).get_content()
