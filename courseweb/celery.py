import os

from celery import Celery

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "courseweb.settings")

app = Celery("courseweb")
# Every Celery setting lives in courseweb/settings.py under the CELERY_ prefix.
app.config_from_object("django.conf:settings", namespace="CELERY")
app.autodiscover_tasks()
