from django.apps import AppConfig


class CoreConfig(AppConfig):
    """The shared kernel, an app for its templates and static files (the charts of the staff pages)."""

    name = "core"
    verbose_name = "Shared kernel"
