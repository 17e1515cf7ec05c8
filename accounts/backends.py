"""Authentication backends that load the logged-in user from the cache instead of the database.

Django asks the session's backend for the user on every request (`backend.get_user(pk)`: one query). These
backends answer from the cache (Redis), filled on the first request and emptied whenever the user is saved or
deleted (accounts/signals.py), so a new password, a deactivation or a new time zone counts at once. The
session's auth hash is still checked against the user on every request (django.contrib.auth.get_user), so a
session outlived by a password change is still refused. Without the cache (Redis down) they read the database.
"""

import functools
import hashlib

from allauth.account import auth_backends as allauth_backends
from django.contrib.auth import backends as django_backends
from django.contrib.auth import get_user_model
from django.core.cache import cache

# A backstop: a change made without save() (a queryset update) still shows within this time.
USER_CACHE_SECONDS = 600


@functools.cache
def _fields_fingerprint() -> str:
    """A short digest of the user model's columns: a deploy that changes them does not read old pickles."""
    names = ",".join(sorted(field.attname for field in get_user_model()._meta.concrete_fields))
    return hashlib.sha256(names.encode()).hexdigest()[:8]


def user_cache_key(pk) -> str:
    return f"user:{_fields_fingerprint()}:{pk}"


def forget_user(pk) -> None:
    """Drop the cached copy of a user (after a save or a delete)."""
    cache.delete(user_cache_key(pk))


class CachedUserMixin:
    def get_user(self, user_id):
        key = user_cache_key(user_id)
        user = cache.get(key)
        if user is None:
            user = super().get_user(user_id)
            if user is None:
                return None
            cache.set(key, user, USER_CACHE_SECONDS)
        return user if self.user_can_authenticate(user) else None


class ModelBackend(CachedUserMixin, django_backends.ModelBackend):
    """Django's ModelBackend (logins by code and tests' force_login), with the user from the cache."""


class AuthenticationBackend(CachedUserMixin, allauth_backends.AuthenticationBackend):
    """allauth's backend (the login form: email and password), with the user from the cache."""
