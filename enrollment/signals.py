"""Runs, tiers and release dates are on the course's public pages: saving one gives it a new content version."""

from django.db.models.signals import post_delete, post_save
from django.dispatch import receiver

from courses.content import content_changed

from .models import ReleaseOverride, Run, Tier


@receiver([post_save, post_delete], sender=Run)
def run_saved(sender, instance, **kwargs):
    content_changed(instance.course_id)


@receiver([post_save, post_delete], sender=Tier)
@receiver([post_save, post_delete], sender=ReleaseOverride)
def run_part_saved(sender, instance, **kwargs):
    content_changed(Run.objects.filter(pk=instance.run_id).values_list("course_id", flat=True).first())
