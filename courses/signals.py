"""Saving or deleting course content gives the course a new content version (courses/content.py)."""

from django.db.models.signals import post_delete, post_save, pre_save
from django.dispatch import receiver

from .content import content_changed
from .models import Choice, Course, FAQEntry, Lesson, Question, Quiz, Resource, Section
from .selectors import forget_slug, remember_slug


@receiver([post_save, post_delete], sender=Course)
def course_saved(sender, instance, signal, **kwargs):
    content_changed(instance.pk)
    # Which course a slug names (selectors.course_by_slug): a renamed course's old slug is found stale there.
    if signal is post_delete:
        forget_slug(instance)
    else:
        remember_slug(instance)


@receiver([post_save, post_delete], sender=Section)
@receiver([post_save, post_delete], sender=Lesson)
@receiver([post_save, post_delete], sender=FAQEntry)
def part_saved(sender, instance, **kwargs):
    content_changed(instance.course_id)


@receiver(pre_save, sender=Section)
@receiver(pre_save, sender=Lesson)
def part_moving(sender, instance, **kwargs):
    """A section (or lesson) moved to another course leaves its old course's pages too."""
    if instance.pk is None:
        return
    was = sender.objects.filter(pk=instance.pk).values_list("course_id", flat=True).first()
    if was is not None and was != instance.course_id:
        content_changed(was)


@receiver([post_save, post_delete], sender=Resource)
def resource_saved(sender, instance, **kwargs):
    content_changed(Lesson.objects.filter(pk=instance.lesson_id).values_list("course_id", flat=True).first())


@receiver([post_save, post_delete], sender=Quiz)
def quiz_saved(sender, instance, **kwargs):
    content_changed(Section.objects.filter(pk=instance.section_id).values_list("course_id", flat=True).first())


@receiver([post_save, post_delete], sender=Question)
@receiver([post_save, post_delete], sender=Choice)
def question_saved(sender, instance, **kwargs):
    quiz_id = instance.quiz_id if isinstance(instance, Question) else instance.question.quiz_id
    content_changed(Quiz.objects.filter(pk=quiz_id).values_list("section__course_id", flat=True).first())
