from django.db import migrations


class Migration(migrations.Migration):
    """Releases are relative to each run now (enrollment 0004 moved the dates)."""

    dependencies = [
        ('courses', '0003_publish_existing_courses'),
        ('enrollment', '0004_release_offsets_from_current_run'),
    ]

    operations = [
        migrations.RemoveField(
            model_name='lesson',
            name='release_at',
        ),
    ]
