"""A course's content version: it changes whenever something its pages show is saved or deleted.

What is built once for every visitor (the syllabus PDF) is cached under the version, so a change in the admin
shows at once and nothing needs to know which cached things to delete. Saves of the course's own models bump
it (courses/signals.py); the enrollment app bumps it for runs, tiers and release dates.
"""

import uuid
from contextvars import ContextVar

from django.core.cache import cache

from .models import Course

# A backstop for a change made without save() (a queryset update): it shows within this time.
CACHED_SECONDS = 3600


def _key(course_id) -> str:
    return f"course-content:{course_id}"


# The versions a request has read, so that it reads each once (ContentVersions middleware); None outside requests.
_read_in_request: ContextVar[dict | None] = ContextVar("content_versions", default=None)


def content_version(course_id) -> str:
    """Return the course's current content version (one cache read, once per request)."""
    memo = _read_in_request.get()
    if memo is not None and course_id in memo:
        return memo[course_id]
    version = cache.get(_key(course_id))
    if version is None:
        cache.add(_key(course_id), uuid.uuid4().hex, timeout=None)
        version = cache.get(_key(course_id))
    if memo is not None:
        memo[course_id] = version
    return version


def content_changed(course_id) -> None:
    """Give the course a new content version: everything cached under the old one is no longer used."""
    version = uuid.uuid4().hex
    cache.set(_key(course_id), version, timeout=None)
    memo = _read_in_request.get()
    if memo is not None:
        memo[course_id] = version


class ContentVersions:
    """Middleware: a request reads each course's content version once, and sees one version throughout."""

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        token = _read_in_request.set({})
        try:
            return self.get_response(request)
        finally:
            _read_in_request.reset(token)


def cached(key: str, build, timeout=CACHED_SECONDS):
    """Return the cached value under key, building and caching it first if it is not there."""
    value = cache.get(key)
    if value is None:
        value = build()
        cache.set(key, value, timeout)
    return value


def _course_key(slug) -> str:
    return f"course-by-slug:{slug}"


def course_by_slug(slug):
    """Return the course with this slug (published or not), or None: from the cache, which every save empties."""
    key = _course_key(slug)
    course = cache.get(key)
    if course is None:
        course = Course.objects.filter(slug=slug).first()
        if course is None:
            return None
        cache.set(key, course, CACHED_SECONDS)
    return course


def course_changed(*slugs) -> None:
    """Forget the cached courses at these addresses (after a save, a delete or a new slug)."""
    cache.delete_many([_course_key(slug) for slug in slugs if slug])
