from django.apps import AppConfig


class DemoConfig(AppConfig):
    """The demo course (`seed_demo`): it composes every app, so it lives in none of them."""

    name = "demo"
    verbose_name = "Demo"
