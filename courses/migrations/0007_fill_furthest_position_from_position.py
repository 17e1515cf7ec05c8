from django.db import migrations
from django.db.models import F


def fill(apps, schema_editor):
    """Before this field, the stored position is the furthest point known of each student and lesson."""
    LessonProgress = apps.get_model("courses", "LessonProgress")
    LessonProgress.objects.filter(furthest_position__lt=F("video_position")).update(furthest_position=F("video_position"))


class Migration(migrations.Migration):
    dependencies = [("courses", "0006_lessonprogress_furthest_position")]

    operations = [migrations.RunPython(fill, migrations.RunPython.noop)]
