"""Runs, tiers, release dates and announcements are on the course's pages: saving one gives the course a new
content version (courses/content.py), so what is cached under the old one is no longer used."""

from django.db.models.signals import post_delete, post_save
from django.dispatch import receiver

from courses.content import content_changed

from .models import Announcement, ReleaseOverride, Run, Tier


@receiver([post_save, post_delete], sender=Run)
def run_saved(sender, instance, **kwargs):
    content_changed(instance.course_id)


@receiver([post_save, post_delete], sender=Tier)
@receiver([post_save, post_delete], sender=ReleaseOverride)
@receiver([post_save, post_delete], sender=Announcement)
def run_part_saved(sender, instance, **kwargs):
    content_changed(Run.objects.filter(pk=instance.run_id).values_list("course_id", flat=True).first())
