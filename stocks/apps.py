from django.apps import AppConfig


class StocksConfig(AppConfig):
    name = "stocks"
