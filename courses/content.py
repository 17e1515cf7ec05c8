"""A course's content version: it changes whenever something its pages show is saved or deleted.

What is built once for every visitor (the syllabus PDF) is cached under the version, so a change in the admin
shows at once and nothing needs to know which cached things to delete. Saves of the course's own models bump
it (courses/signals.py); the enrollment app bumps it for runs, tiers and release dates.
"""

import uuid

from django.core.cache import cache


def _key(course_id) -> str:
    return f"course-content:{course_id}"


def content_version(course_id) -> str:
    """Return the course's current content version (one cache read)."""
    version = cache.get(_key(course_id))
    if version is None:
        cache.add(_key(course_id), uuid.uuid4().hex, timeout=None)
        version = cache.get(_key(course_id))
    return version


def content_changed(course_id) -> None:
    """Give the course a new content version: everything cached under the old one is no longer used."""
    cache.set(_key(course_id), uuid.uuid4().hex, timeout=None)
