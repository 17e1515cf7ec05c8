from django.db import migrations


def publish_existing_courses(apps, schema_editor):
    """Courses that exist are public today; only courses made from now on start unpublished."""
    apps.get_model('courses', 'Course').objects.update(is_published=True)


class Migration(migrations.Migration):

    dependencies = [
        ('courses', '0002_lesson_release_offsets_course_is_published'),
    ]

    operations = [
        migrations.RunPython(publish_existing_courses, migrations.RunPython.noop),
    ]
