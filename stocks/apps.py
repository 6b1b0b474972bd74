from django.apps import AppConfig


class StocksConfig(AppConfig):
    name = "stocks"

    def ready(self):
        from core.metrics_endpoint import before_scrape

        from .metrics import refresh_low_stock

        before_scrape(refresh_low_stock)
