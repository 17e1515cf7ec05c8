from django.apps import AppConfig


class OfficeHoursConfig(AppConfig):
    name = "officehours"
    verbose_name = "Office hours"

    def ready(self):
        from . import signals  # noqa: F401
