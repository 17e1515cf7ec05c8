"""A course's content version: it changes whenever something its pages show is saved or deleted.

What is built once for every visitor (the syllabus PDF, the outline of a run, a lesson's body) is cached under
the version, so a change in the admin shows at once and nothing needs to know which cached things to delete.
Saves of the course's own models bump it (courses/signals.py); the enrollment app bumps it for runs, tiers,
release dates and announcements.
"""

import threading
import uuid

from django.core.cache import cache
from django.core.signals import request_finished, request_started
from django.db import transaction
from django.db.models.signals import post_migrate
from django.dispatch import receiver

# Built things live in the cache for a day at most: a new version makes them unused long before.
BUILT_SECONDS = 24 * 3600


_EVERY_COURSE = "course-content:all"


def _key(course_id) -> str:
    return f"course-content:{course_id}"


# The versions read during the request being answered: one cache read per course and request, however many
# things its page reads under the version (None outside a request: a task or a command reads the cache).
_request = threading.local()


@receiver(request_started)
def _request_started(**kwargs):
    _request.versions = {}


@receiver(request_finished)
def _request_finished(**kwargs):
    _request.versions = None


def content_version(course_id) -> str | None:
    """Return the course's current content version (one cache read a request); None while the cache is down.

    It joins the course's own version and the one of all courses, which every migration renews (a data
    migration writes without the signals that renew a course's).
    """
    versions = getattr(_request, "versions", None)
    if versions is not None and course_id in versions:
        return versions[course_id]
    keys = [_EVERY_COURSE, _key(course_id)]
    found = cache.get_many(keys)
    if len(found) < 2:
        for key in keys:
            if key not in found:
                cache.add(key, uuid.uuid4().hex, timeout=None)
        found = cache.get_many(keys)
    version = f"{found[keys[0]]}.{found[keys[1]]}" if len(found) == 2 else None
    if versions is not None and version is not None:
        versions[course_id] = version
    return version


@receiver(post_migrate)
def every_content_changed(**kwargs) -> None:
    """Give every course a new content version: nothing cached before is used (after migrations)."""
    versions = getattr(_request, "versions", None)
    if versions is not None:
        versions.clear()
    cache.set(_EVERY_COURSE, uuid.uuid4().hex, timeout=None)


def content_changed(course_id) -> None:
    """Give the course a new content version: everything cached under the old one is no longer used."""
    if course_id is None:
        return
    _new_version(course_id)
    # Inside a transaction (the admin saves in one), a page built between this and the commit reads the old
    # rows and would keep them under the new version: once the change is committed, a second version makes
    # that copy unused too.
    transaction.on_commit(lambda: _new_version(course_id), robust=True)


def _new_version(course_id) -> None:
    versions = getattr(_request, "versions", None)
    if versions is not None:
        versions.pop(course_id, None)
    cache.set(_key(course_id), uuid.uuid4().hex, timeout=None)


_MISSING = object()


class _Memo:
    """A small per-process store of built things, each with the version it was built for (first in, first out)."""

    def __init__(self, size: int):
        self.size = size
        self.items: dict = {}
        self.lock = threading.Lock()

    def get(self, key, version):
        entry = self.items.get(key)
        return entry[1] if entry is not None and entry[0] == version else _MISSING

    def put(self, key, version, value):
        with self.lock:
            self.items.pop(key, None)
            while len(self.items) >= self.size:
                self.items.pop(next(iter(self.items)))
            self.items[key] = (version, value)


_memos: dict[str, _Memo] = {}


def built(key: str, build, *, version: str | None, memo_size: int = 64):
    """Return `build()` for this content version, built once per version: kept in the cache (shared by the
    web processes) and in this process, so a warm page reads only the version.

    `key` names the thing and what it depends on besides the course's content (a run, a time zone…), and
    starts with its kind (the part before the first ":" picks the process store, of `memo_size` entries).
    Without a version (the cache is down) it is built for this request only. Never put one user's data here.
    """
    if version is None:
        return build()
    memo = _memos.get(kind := key.partition(":")[0])
    if memo is None:
        memo = _memos.setdefault(kind, _Memo(memo_size))
    value = memo.get(key, version)
    if value is not _MISSING:
        return value
    entry = cache.get(key)
    if entry is not None and entry[0] == version:
        value = entry[1]
    else:
        value = build()
        cache.set(key, (version, value), BUILT_SECONDS)
    memo.put(key, version, value)
    return value
