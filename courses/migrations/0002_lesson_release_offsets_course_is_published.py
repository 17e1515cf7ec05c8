from django.db import migrations, models


class Migration(migrations.Migration):
    """Add relative release fields (filled from release_at by enrollment 0004) and the published switch."""

    dependencies = [
        ('courses', '0001_initial'),
    ]

    operations = [
        migrations.AddField(
            model_name='course',
            name='is_published',
            field=models.BooleanField(default=False, help_text='Unpublished courses are seen by staff only and sell nothing.', verbose_name='published'),
        ),
        migrations.AddField(
            model_name='lesson',
            name='release_after_days',
            field=models.PositiveSmallIntegerField(blank=True, help_text="Days after the run starts; empty: open from the run's start. A run can override it.", null=True, verbose_name='opens after (days)'),
        ),
        migrations.AddField(
            model_name='lesson',
            name='release_time',
            field=models.TimeField(blank=True, help_text="In the site's time zone; empty: the time of day the run starts.", null=True, verbose_name='opens at (time of day)'),
        ),
    ]
