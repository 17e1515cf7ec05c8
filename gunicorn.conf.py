"""Gunicorn in production (README): `gunicorn courseweb.wsgi -c gunicorn.conf.py`. Each value can be set in the
environment (GUNICORN_WORKERS, GUNICORN_THREADS, GUNICORN_TIMEOUT, GUNICORN_BIND).

Threaded workers: a page waits on Postgres and Redis, and a download served by Django (without nginx's
X-Accel-Redirect or a bucket) streams for as long as the client reads; with threads, a few slow clients
hold threads, not the whole site. Behind nginx (deploy/nginx.conf) or with a bucket, Django never streams a
course file at all.
"""

import multiprocessing
import os

bind = os.environ.get("GUNICORN_BIND", "127.0.0.1:8000")
workers = int(os.environ.get("GUNICORN_WORKERS", multiprocessing.cpu_count() * 2 + 1))
worker_class = "gthread"
threads = int(os.environ.get("GUNICORN_THREADS", 8))
# A worker silent for this long is restarted. Threads keep the worker's heartbeat going while one of them
# streams a long video, so this bounds a stuck request, not a download.
timeout = int(os.environ.get("GUNICORN_TIMEOUT", 60))
graceful_timeout = 30
keepalive = 5
# Recycle workers now and then (a leak in a library cannot grow for ever); jittered so they do not restart together.
# Not too often: at 2,000 requests a busy site restarted each worker every few seconds (bench/README.md).
max_requests = 50000
max_requests_jitter = 5000
# Load Django once in the master and fork the workers from it: a worker (re)starts in milliseconds, not the
# second that importing the project takes. Nothing connects at import (connections open on first use).
preload_app = True
accesslog = "-"
errorlog = "-"
forwarded_allow_ips = "127.0.0.1"
