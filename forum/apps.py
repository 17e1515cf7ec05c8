from django.apps import AppConfig
from django.db.models.signals import post_save


class ForumConfig(AppConfig):
    name = "forum"
    verbose_name = "Forum"

    def ready(self):
        from courses.models import Course

        from .services import create_default_boards

        def on_course_saved(sender, instance, created, raw=False, **kwargs):
            # courses knows nothing of the forum; the forum gives every new course its boards.
            if created and not raw:
                create_default_boards(course=instance)

        post_save.connect(on_course_saved, sender=Course, dispatch_uid="forum-default-boards", weak=False)
