import django.db.models.deletion
from django.db import migrations, models


class Migration(migrations.Migration):

    dependencies = [
        ('courses', '0002_lesson_release_offsets_course_is_published'),
        ('enrollment', '0002_payments_stripe_events_sent_emails'),
    ]

    operations = [
        migrations.CreateModel(
            name='ReleaseOverride',
            fields=[
                ('id', models.BigAutoField(auto_created=True, primary_key=True, serialize=False, verbose_name='ID')),
                ('opens_at', models.DateTimeField(help_text="For this run's students only.", verbose_name='opens at')),
                ('lesson', models.ForeignKey(on_delete=django.db.models.deletion.CASCADE, related_name='release_overrides', to='courses.lesson')),
                ('run', models.ForeignKey(on_delete=django.db.models.deletion.CASCADE, related_name='release_overrides', to='enrollment.run')),
            ],
            options={
                'ordering': ['opens_at'],
                'constraints': [models.UniqueConstraint(fields=('run', 'lesson'), name='one_release_override_per_run_and_lesson')],
            },
        ),
    ]
