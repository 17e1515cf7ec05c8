"""Courseweb settings: one module, configured from environment variables.

Every variable has a default that works on a laptop (SQLite, Celery tasks run
eagerly, email printed to the console), except DEBUG: it is off unless DEBUG=1
says otherwise (`make run` does), so a server never runs with it by accident.
An integration switches on when its variable is set. See the table in README.md.
"""

import os
from pathlib import Path
from urllib.parse import urlsplit

import dj_database_url
from csp.constants import NONE, SELF, UNSAFE_INLINE
from django.core.exceptions import ImproperlyConfigured

BASE_DIR = Path(__file__).resolve().parent.parent


def env(name, default=""):
    """Return the variable, treating an empty value as unset."""
    value = os.environ.get(name, "")
    return value if value.strip() else default


def env_bool(name, default):
    value = env(name)
    if not value:
        return default
    return value.strip().lower() in {"1", "true", "yes", "on"}


def env_list(name, default):
    value = env(name)
    return [item.strip() for item in value.split(",") if item.strip()] if value else default


DEV_SECRET_KEY = "dev-only-insecure-key-change-me"  # noqa: S105
SECRET_KEY = env("SECRET_KEY", DEV_SECRET_KEY)
DEBUG = env_bool("DEBUG", False)
if not DEBUG and SECRET_KEY == DEV_SECRET_KEY:
    raise ImproperlyConfigured(
        "Set SECRET_KEY when DEBUG is off. For development on a laptop, set DEBUG=1 (as `make run` does)."
    )
ALLOWED_HOSTS = env_list("ALLOWED_HOSTS", ["127.0.0.1", "localhost", "[::1]"])
CSRF_TRUSTED_ORIGINS = env_list("CSRF_TRUSTED_ORIGINS", [])
SITE_NAME = env("SITE_NAME", "Courseweb")
SITE_URL = env("SITE_URL", "http://127.0.0.1:8000").rstrip("/")  # for links in emails sent by workers

INSTALLED_APPS = [
    "csp",
    "django.contrib.admin",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "whitenoise.runserver_nostatic",
    "django.contrib.staticfiles",
    "allauth",
    "allauth.account",
    "crispy_forms",
    "crispy_bootstrap5",
    "adminsortable2",
    "accounts",
    "courses",
    "enrollment",
    "forum",
    "officehours",
    "dashboard",
    "search",
    "demo",
]

MIDDLEWARE = [
    "django.middleware.security.SecurityMiddleware",
    "whitenoise.middleware.WhiteNoiseMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "accounts.middleware.UserTimezoneMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
    "allauth.account.middleware.AccountMiddleware",
    "csp.middleware.CSPMiddleware",
]

ROOT_URLCONF = "courseweb.urls"
WSGI_APPLICATION = "courseweb.wsgi.application"

TEMPLATES = [
    {
        "BACKEND": "django.template.backends.django.DjangoTemplates",
        "DIRS": [BASE_DIR / "templates"],
        "APP_DIRS": True,
        "OPTIONS": {
            "context_processors": [
                "django.template.context_processors.request",
                "django.contrib.auth.context_processors.auth",
                "django.contrib.messages.context_processors.messages",
                "courseweb.context_processors.site",
            ],
        },
    },
]

# Database: DATABASE_URL (postgres://…) or a SQLite file beside the code.
DATABASES = {
    "default": dj_database_url.parse(
        env("DATABASE_URL", f"sqlite:///{BASE_DIR / 'db.sqlite3'}"),
        # A new Postgres connection per request costs several times the page.
        conn_max_age=int(env("CONN_MAX_AGE", "60")),
        conn_health_checks=True,
    )
}
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

# Redis: the Celery broker and the cache when REDIS_URL is set.
REDIS_URL = env("REDIS_URL")
if REDIS_URL:
    # django-redis with IGNORE_EXCEPTIONS: while Redis is down a cache read is a miss and a write is dropped,
    # so pages still answer (the cache only saves work). Rate limits fail open meanwhile (RATELIMIT_FAIL_OPEN);
    # allauth's login limits fail closed (a login form answers "too many attempts" until Redis is back).
    CACHES = {
        "default": {
            "BACKEND": "django_redis.cache.RedisCache",
            "LOCATION": REDIS_URL,
            "OPTIONS": {
                "IGNORE_EXCEPTIONS": True,
                "SOCKET_CONNECT_TIMEOUT": 1,
                "SOCKET_TIMEOUT": 1,
            },
        }
    }
    DJANGO_REDIS_LOG_IGNORED_EXCEPTIONS = True
elif DEBUG:
    CACHES = {"default": {"BACKEND": "django.core.cache.backends.locmem.LocMemCache"}}
else:
    # A per-process cache would give each web process its own login and rate limits (and Celery no broker).
    raise ImproperlyConfigured(
        "Set REDIS_URL when DEBUG is off: login and rate limits must be counted in one cache shared by every "
        "web process, and Celery needs it as its broker."
    )

# django-ratelimit (forum previews and edits): a count the cache cannot give (Redis down) lets the request through.
RATELIMIT_FAIL_OPEN = True

CELERY_BROKER_URL = REDIS_URL or "memory://"
CELERY_RESULT_BACKEND = None
CELERY_TASK_ALWAYS_EAGER = not REDIS_URL
CELERY_TASK_EAGER_PROPAGATES = True
CELERY_TASK_ACKS_LATE = True
CELERY_TASK_REJECT_ON_WORKER_LOST = True
CELERY_WORKER_PREFETCH_MULTIPLIER = 1
CELERY_TIMEZONE = "UTC"
# Queueing a task while Redis is down fails within about a second (the caller logs it; the outbox rows stay for
# the beat sweep) instead of holding the request.
CELERY_BROKER_CONNECTION_TIMEOUT = 2
CELERY_TASK_PUBLISH_RETRY_POLICY = {"max_retries": 2, "interval_start": 0, "interval_step": 0.2, "interval_max": 0.5}
# One beat ticks at a time, however many are started: the others wait on a lock in Redis (courseweb/beat.py).
CELERY_BEAT_SCHEDULER = "courseweb.beat:SingleBeatScheduler"
CELERY_BEAT_SCHEDULE = {
    "send-due-emails": {"task": "enrollment.tasks.send_due_emails", "schedule": 60.0},
    # Hourly: each user's daily forum digest goes at the first tick after 07:00 in their own zone.
    "send-forum-digests": {"task": "forum.tasks.send_forum_digests", "schedule": 3600.0},
    # Office-hours reminders a day and an hour before each session; each tick sends what has come due.
    "send-office-hours-reminders": {"task": "officehours.tasks.send_office_hours_reminders", "schedule": 60.0},
    # Emails about a moved or cancelled session that their task left queued (a worker died mid-batch).
    "send-left-over-change-emails": {"task": "officehours.tasks.send_left_over_change_emails", "schedule": 60.0},
    # Announcement emails their task left queued (a worker died mid-batch, or its retries ran out).
    "send-left-over-announcement-emails": {
        "task": "enrollment.tasks.send_left_over_announcement_emails",
        "schedule": 60.0,
    },
    # Each student's release digest goes at the first tick after 07:00 in their own zone (a tick is cheap
    # when nothing is due); a digest a killed worker left queued goes at the next tick.
    "send-release-digests": {"task": "enrollment.tasks.send_release_digests", "schedule": 600.0},
    # Forum notifications and account emails whose task was not queued (Redis down) or died with its worker.
    "send-left-over-post-notifications": {"task": "forum.tasks.send_left_over_post_notifications", "schedule": 60.0},
    "send-left-over-account-emails": {"task": "accounts.tasks.send_left_over_account_emails", "schedule": 60.0},
    # Hourly: each staff member's weekly pulse goes at the first tick after Monday 08:00 in their own zone.
    "send-weekly-pulses": {"task": "dashboard.tasks.send_weekly_pulses", "schedule": 3600.0},
}

AUTH_USER_MODEL = "accounts.User"
AUTHENTICATION_BACKENDS = [
    # Django's and allauth's backends, loading the logged-in user from the cache (accounts/backends.py).
    "accounts.backends.ModelBackend",
    "accounts.backends.AuthenticationBackend",
]
# Sessions are read from the cache (Redis) and written through to the database, which keeps them if Redis
# restarts: a request with a session costs no query for it.
SESSION_ENGINE = "django.contrib.sessions.backends.cached_db"
AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.UserAttributeSimilarityValidator"},
    {"NAME": "django.contrib.auth.password_validation.MinimumLengthValidator"},
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
    {"NAME": "django.contrib.auth.password_validation.NumericPasswordValidator"},
]
LOGIN_URL = "account_login"
LOGIN_REDIRECT_URL = "home"

# allauth: the email address is the login; students come from enrolment, so
# open sign-up is off unless ACCOUNT_ALLOW_SIGNUP says otherwise.
ACCOUNT_ADAPTER = "accounts.adapter.AccountAdapter"
ACCOUNT_ALLOW_SIGNUP = env_bool("ACCOUNT_ALLOW_SIGNUP", False)
ACCOUNT_USER_MODEL_USERNAME_FIELD = None
ACCOUNT_LOGIN_METHODS = {"email"}
ACCOUNT_SIGNUP_FIELDS = ["email*", "password1*", "password2*"]
ACCOUNT_UNIQUE_EMAIL = True
# Open sign-up needs a verified address: else anyone could register a future buyer's email, with a password
# of their own, before the buyer pays. Closed (the default), accounts come from the instructor or a payment and
# a login code proves the address.
ACCOUNT_EMAIL_VERIFICATION = "mandatory" if ACCOUNT_ALLOW_SIGNUP else "none"
ACCOUNT_LOGIN_BY_CODE_ENABLED = True
ACCOUNT_LOGIN_ON_PASSWORD_RESET = True
ACCOUNT_SESSION_REMEMBER = None
ACCOUNT_LOGOUT_ON_PASSWORD_CHANGE = False
ACCOUNT_EMAIL_SUBJECT_PREFIX = env("EMAIL_SUBJECT_PREFIX", f"[{SITE_NAME}] ")
ACCOUNT_DEFAULT_HTTP_PROTOCOL = "https" if not DEBUG else "http"

CRISPY_ALLOWED_TEMPLATE_PACKS = "bootstrap5"
CRISPY_TEMPLATE_PACK = "bootstrap5"

# Email: printed to the console unless EMAIL_HOST names an SMTP server.
EMAIL_HOST = env("EMAIL_HOST")
EMAIL_BACKEND = env(
    "EMAIL_BACKEND",
    "django.core.mail.backends.smtp.EmailBackend" if EMAIL_HOST else "django.core.mail.backends.console.EmailBackend",
)
EMAIL_PORT = int(env("EMAIL_PORT", "25"))
EMAIL_HOST_USER = env("EMAIL_HOST_USER")
EMAIL_HOST_PASSWORD = env("EMAIL_HOST_PASSWORD")
EMAIL_USE_TLS = env_bool("EMAIL_USE_TLS", False)
EMAIL_TIMEOUT = 30
DEFAULT_FROM_EMAIL = env("DEFAULT_FROM_EMAIL", "Courseweb <courses@localhost>")
SERVER_EMAIL = DEFAULT_FROM_EMAIL

STRIPE_SECRET_KEY = env("STRIPE_SECRET_KEY")
STRIPE_WEBHOOK_SECRET = env("STRIPE_WEBHOOK_SECRET")
STRIPE_API_BASE = env("STRIPE_API_BASE")  # unset: Stripe's own API; tests point it at a fake server

LANGUAGE_CODE = "en-us"
# The site's zone: a new user's default, and the zone the access window's
# calendar months are counted in. Times are stored in UTC.
TIME_ZONE = env("TIME_ZONE", "UTC")
USE_I18N = True
USE_TZ = True

STATIC_URL = "static/"
STATIC_ROOT = BASE_DIR / "staticfiles"
STATICFILES_DIRS = [BASE_DIR / "static"]
STORAGES = {
    "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
    "staticfiles": {
        "BACKEND": "django.contrib.staticfiles.storage.StaticFilesStorage"
        if DEBUG
        else "whitenoise.storage.CompressedManifestStaticFilesStorage"
    },
}
# Course files (videos, captions, reading files) are never public: they are
# stored here (or in the bucket below) and served only by views that ask the access policy.
PRIVATE_MEDIA_ROOT = Path(env("PRIVATE_MEDIA_ROOT", str(BASE_DIR / "media_private")))
MEDIA_ROOT = PRIVATE_MEDIA_ROOT
# Behind nginx (deploy/nginx.conf): the internal location that serves PRIVATE_MEDIA_ROOT, e.g. /_course_files/.
# Set, Django answers an allowed course-file request with X-Accel-Redirect and nginx sends the bytes.
COURSE_FILES_ACCEL_PREFIX = env("COURSE_FILES_ACCEL_PREFIX")
if COURSE_FILES_ACCEL_PREFIX and not (COURSE_FILES_ACCEL_PREFIX[:1] == COURSE_FILES_ACCEL_PREFIX[-1:] == "/"):
    raise ImproperlyConfigured("COURSE_FILES_ACCEL_PREFIX is a path that starts and ends with /, e.g. /_course_files/.")
# Object storage: with a bucket set, course files live in it (any S3-compatible service) and are private; a
# student the policy allows is redirected to a link signed for COURSE_FILE_LINK_SECONDS, never a public one.
# Every web process then serves every file, whichever machine it was uploaded through.
COURSE_FILE_LINK_SECONDS = int(env("COURSE_FILE_LINK_SECONDS", "300"))
AWS_STORAGE_BUCKET_NAME = env("AWS_STORAGE_BUCKET_NAME")
if AWS_STORAGE_BUCKET_NAME:
    STORAGES["default"] = {
        "BACKEND": "storages.backends.s3.S3Storage",
        "OPTIONS": {
            "bucket_name": AWS_STORAGE_BUCKET_NAME,
            "endpoint_url": env("AWS_S3_ENDPOINT_URL") or None,  # another S3-compatible service than AWS
            "region_name": env("AWS_S3_REGION_NAME") or None,
            "access_key": env("AWS_ACCESS_KEY_ID") or None,  # else boto3's own lookup (instance role, ~/.aws)
            "secret_key": env("AWS_SECRET_ACCESS_KEY") or None,
            "default_acl": "private",
            "querystring_auth": True,
            "querystring_expire": COURSE_FILE_LINK_SECONDS,
            "file_overwrite": False,
            "signature_version": "s3v4",
            "addressing_style": env("AWS_S3_ADDRESSING_STYLE") or None,
        },
    }
FILE_UPLOAD_MAX_MEMORY_SIZE = 5 * 1024 * 1024
DATA_UPLOAD_MAX_MEMORY_SIZE = 10 * 1024 * 1024

SESSION_COOKIE_SECURE = not DEBUG
CSRF_COOKIE_SECURE = not DEBUG
# BEHIND_PROXY=1: one reverse proxy of ours (nginx, README) is in front and sets X-Forwarded-Proto and
# X-Forwarded-For. Trust exactly it: the client is the address it appended, so per-IP login limits count
# each client, not the proxy (without this every visitor is 127.0.0.1 and 10 bad logins lock out the site).
BEHIND_PROXY = env_bool("BEHIND_PROXY", False)
SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https") if BEHIND_PROXY else None
ALLAUTH_TRUSTED_PROXY_COUNT = 1 if BEHIND_PROXY else 0
X_FRAME_OPTIONS = "DENY"

# Content Security Policy (django-csp): scripts and styles of this site only, no inline script; pictures and
# videos from here or the bucket; nothing else from elsewhere. A lesson's page adds its own video host
# (courses.video.content_sources); Stripe Checkout is where the payment forms may lead.
COURSE_FILES_ORIGINS = []
if AWS_STORAGE_BUCKET_NAME:
    _endpoint = urlsplit(env("AWS_S3_ENDPOINT_URL") or "https://s3.amazonaws.com")
    COURSE_FILES_ORIGINS = [f"{_endpoint.scheme}://{_endpoint.netloc}", f"{_endpoint.scheme}://*.{_endpoint.netloc}"]
CONTENT_SECURITY_POLICY = {
    "DIRECTIVES": {
        "default-src": [SELF],
        "script-src": [SELF],
        "style-src": [SELF],
        "style-src-attr": [UNSAFE_INLINE],  # style="" attributes (bar widths); no <style> elements
        "img-src": [SELF, "data:", *COURSE_FILES_ORIGINS],
        "media-src": [SELF, *COURSE_FILES_ORIGINS],
        "font-src": [SELF],
        "connect-src": [SELF],
        "frame-src": [NONE],
        "object-src": [NONE],
        "base-uri": [SELF],
        "form-action": [SELF, "https://checkout.stripe.com"],
        "frame-ancestors": [NONE],
    }
}
# With DEBUG off the site is HTTPS only: plain HTTP is redirected (except the health check, which a load
# balancer asks over HTTP) and browsers are told to keep to HTTPS for a year (HSTS; SECURE_HSTS_SECONDS=0 to
# turn it off while trying a new domain). Behind a proxy, BEHIND_PROXY=1 lets Django see that it was HTTPS.
SECURE_SSL_REDIRECT = env_bool("SECURE_SSL_REDIRECT", not DEBUG)
SECURE_REDIRECT_EXEMPT = [r"^healthz$"]
SECURE_HSTS_SECONDS = int(env("SECURE_HSTS_SECONDS", "0" if DEBUG else str(365 * 24 * 3600)))
# The site's own subdomains too (for course.example.com: *.course.example.com), and the "preload" mark that
# lets its domain be listed in browsers (listing is a separate, manual step).
SECURE_HSTS_INCLUDE_SUBDOMAINS = env_bool("SECURE_HSTS_INCLUDE_SUBDOMAINS", True)
SECURE_HSTS_PRELOAD = env_bool("SECURE_HSTS_PRELOAD", True)
if not DEBUG and not SITE_URL.startswith("https://"):
    raise ImproperlyConfigured(
        f"Set SITE_URL to the site's https:// address when DEBUG is off (it is {SITE_URL!r}): emails link to it."
    )

LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "handlers": {"console": {"class": "logging.StreamHandler"}},
    "root": {"handlers": ["console"], "level": env("LOG_LEVEL", "INFO")},
}
