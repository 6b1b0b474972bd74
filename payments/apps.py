from django.apps import AppConfig


class PaymentsConfig(AppConfig):
    name = "payments"

    def ready(self):
        from .api import views  # noqa: F401 (its readiness probe's gauges refreshed at each scrape)
