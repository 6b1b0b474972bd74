from django.apps import AppConfig


class PaymentsConfig(AppConfig):
    name = "payments"

    def ready(self):
        from core.metrics import before_scrape

        from .api.views import refresh_readiness_gauges

        before_scrape(refresh_readiness_gauges)
