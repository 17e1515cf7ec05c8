"""The weekly office hours are on the course's landing page, tier text and syllabus: saving a slot gives the
course a new content version (courses/content.py)."""

from django.db.models.signals import post_delete, post_save
from django.dispatch import receiver

from courses.content import content_changed

from .models import WeeklySlot


@receiver([post_save, post_delete], sender=WeeklySlot)
def slot_saved(sender, instance, **kwargs):
    content_changed(instance.run.course_id)
