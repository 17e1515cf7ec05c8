from django.db import migrations
from django.db.models import F


def mark_notified(apps, schema_editor):
    """The posts written before the mark existed were notified then: the sweep must not email about them again."""
    apps.get_model("forum", "Post").objects.filter(notified_at__isnull=True).update(notified_at=F("created_at"))


class Migration(migrations.Migration):
    dependencies = [("forum", "0004_post_notified_at")]

    operations = [migrations.RunPython(mark_notified, migrations.RunPython.noop)]
