"""A saved or deleted user is dropped from the cache the authentication backends read (accounts/backends.py)."""

from django.conf import settings
from django.db.models.signals import post_delete, post_save
from django.dispatch import receiver

from .backends import forget_user


@receiver([post_save, post_delete], sender=settings.AUTH_USER_MODEL)
def user_saved(sender, instance, **kwargs):
    forget_user(instance.pk)
