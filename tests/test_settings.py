"""Settings from the environment: DEBUG is off unless DEBUG=1 turns it on, and off it demands a SECRET_KEY."""

import os
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
SHOW = "from django.conf import settings as s; print(s.DEBUG, s.SESSION_COOKIE_SECURE, s.CSRF_COOKIE_SECURE)"


def load_settings(**variables):
    """Import courseweb.settings in a fresh interpreter whose environment has only these variables."""
    env = {"PATH": os.environ.get("PATH", ""), "DJANGO_SETTINGS_MODULE": "courseweb.settings", **variables}
    return subprocess.run(
        [sys.executable, "-c", SHOW], cwd=ROOT, env=env, capture_output=True, text=True, timeout=60, check=False
    )


SERVER = {
    "SECRET_KEY": "a-key-for-this-server",
    "REDIS_URL": "redis://127.0.0.1:6379/0",
    "SITE_URL": "https://course.example.com",
}
# The README's production settings ("Running it in production"), as `check --deploy` is run with them.
PRODUCTION = {
    **SERVER,
    "DEBUG": "0",
    "SECRET_KEY": "x7Hq-" + "long-random-key-of-this-server-" * 3,
    "ALLOWED_HOSTS": "course.example.com",
    "CSRF_TRUSTED_ORIGINS": "https://course.example.com",
    "BEHIND_PROXY": "1",
}


def test_debug_is_off_by_default_and_cookies_are_then_sent_over_https_only():
    loaded = load_settings(**SERVER)
    assert loaded.returncode == 0, loaded.stderr
    assert loaded.stdout.split() == ["False", "True", "True"]


def test_with_debug_off_the_settings_refuse_to_load_without_a_secret_key():
    loaded = load_settings()
    assert loaded.returncode != 0
    assert "Set SECRET_KEY when DEBUG is off." in loaded.stderr


def test_debug_1_turns_debug_on_for_development():
    loaded = load_settings(DEBUG="1")
    assert loaded.returncode == 0, loaded.stderr
    assert loaded.stdout.split() == ["True", "False", "False"]


def test_with_debug_off_the_settings_refuse_to_load_without_a_shared_cache():
    loaded = load_settings(SECRET_KEY="a-key-for-this-server", SITE_URL="https://course.example.com")
    assert loaded.returncode != 0
    assert "Set REDIS_URL when DEBUG is off" in loaded.stderr


def test_behind_a_proxy_exactly_one_forwarding_proxy_is_trusted():
    show = "from django.conf import settings as s; print(s.ALLAUTH_TRUSTED_PROXY_COUNT, s.SECURE_PROXY_SSL_HEADER)"
    env = {"PATH": os.environ.get("PATH", ""), "DJANGO_SETTINGS_MODULE": "courseweb.settings", **SERVER}
    run = [sys.executable, "-c", show]
    behind = subprocess.run(run, cwd=ROOT, env={**env, "BEHIND_PROXY": "1"}, capture_output=True, text=True, check=True)
    direct = subprocess.run(run, cwd=ROOT, env=env, capture_output=True, text=True, check=True)
    assert behind.stdout.split() == ["1", "('HTTP_X_FORWARDED_PROTO',", "'https')"]
    assert direct.stdout.split() == ["0", "None"]


def test_with_debug_off_the_settings_refuse_an_http_site_url():
    loaded = load_settings(**{**SERVER, "SITE_URL": "http://course.example.com"})
    assert loaded.returncode != 0
    assert "Set SITE_URL to the site's https:// address when DEBUG is off" in loaded.stderr


def test_check_deploy_with_the_readmes_production_settings_reports_nothing():
    env = {"PATH": os.environ.get("PATH", ""), **PRODUCTION}
    checked = subprocess.run(
        [sys.executable, "manage.py", "check", "--deploy", "--fail-level", "WARNING"],
        cwd=ROOT, env=env, capture_output=True, text=True, timeout=120, check=False,
    )  # fmt: skip
    assert checked.returncode == 0, checked.stdout + checked.stderr
    assert "System check identified no issues (0 silenced)." in checked.stdout


def test_production_redirects_plain_http_to_https_but_not_the_health_check():
    show = (
        "from django.conf import settings as s; "
        "print(s.SECURE_SSL_REDIRECT, s.SECURE_HSTS_SECONDS, s.SECURE_REDIRECT_EXEMPT, s.SESSION_COOKIE_SECURE)"
    )
    env = {"PATH": os.environ.get("PATH", ""), "DJANGO_SETTINGS_MODULE": "courseweb.settings", **PRODUCTION}
    loaded = subprocess.run([sys.executable, "-c", show], cwd=ROOT, env=env, capture_output=True, text=True, check=True)
    assert loaded.stdout.split() == ["True", "31536000", "['^healthz$']", "True"]
