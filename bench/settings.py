"""Settings for the bench scripts: the product's settings as production runs them (DEBUG off), plus the bench URLs.

bench.py exports SECRET_KEY (one random key per run, shared by the in-process client and the gunicorn
workers so that the sessions it creates are valid there), DATABASE_URL (its scratch database), REDIS_URL,
BENCH_CACHE_PREFIX (the run's cache keys, deleted at the end) and BENCH_STATIC_ROOT (a temporary
collectstatic target) before anything imports this module.
"""

import os

# courseweb.settings refuses DEBUG off without REDIS_URL, SITE_URL and SECRET_KEY; the bench's helper scripts
# (emails.py, bulk_enroll.py) run without Redis in their own process. Load it in development mode, then set
# below what DEBUG off derives (DEBUG=1 is inherited by the bench's gunicorn and Celery processes, which load
# this module too).
os.environ["DEBUG"] = "1"
from courseweb.settings import *  # noqa: E402, F403

DEBUG = False
SECRET_KEY = os.environ.get("SECRET_KEY") or "bench-only-insecure-key"  # noqa: S105
ROOT_URLCONF = "bench.urls"
ALLOWED_HOSTS = ["127.0.0.1", "localhost", "testserver"]

# What courseweb.settings derives from DEBUG, as it is with DEBUG off (whatever DEBUG was in the environment).
STATIC_ROOT = os.environ.get("BENCH_STATIC_ROOT") or STATIC_ROOT  # noqa: F405
STORAGES = {
    **STORAGES,  # noqa: F405
    "staticfiles": {"BACKEND": "whitenoise.storage.CompressedManifestStaticFilesStorage"},
}
SESSION_COOKIE_SECURE = True
CSRF_COOKIE_SECURE = True
ACCOUNT_DEFAULT_HTTP_PROTOCOL = "https"
# As behind nginx with BEHIND_PROXY=1: HTTPS ends at the proxy, which says so in X-Forwarded-Proto (the bench's
# requests carry it); plain HTTP would be redirected.
SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https")
ALLAUTH_TRUSTED_PROXY_COUNT = 1
SECURE_SSL_REDIRECT = True
SECURE_REDIRECT_EXEMPT = [r"^healthz$"]
SECURE_HSTS_SECONDS = 365 * 24 * 3600

# The run's cache keys under a prefix of their own, so that the bench deletes exactly them from a shared Redis.
if os.environ.get("BENCH_CACHE_PREFIX") and CACHES["default"]["BACKEND"].startswith("django_redis"):  # noqa: F405
    CACHES["default"]["KEY_PREFIX"] = os.environ["BENCH_CACHE_PREFIX"]  # noqa: F405

# Quiet: a benchmark's output is its table. Errors still reach stderr.
LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "handlers": {"console": {"class": "logging.StreamHandler"}},
    "root": {"handlers": ["console"], "level": "WARNING"},
}
