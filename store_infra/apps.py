from django.apps import AppConfig
from django.core.signals import request_finished, request_started
from django.utils.module_loading import autodiscover_modules


class StoreInfraConfig(AppConfig):
    name = "store_infra"
    verbose_name = "Infrastructure"

    def ready(self):
        from core.metrics import before_scrape

        from . import cache
        from .readiness import refresh_readiness_gauges

        # Each request reads the read caches' versions once (store_infra/cache.py).
        request_started.connect(cache.request_started, dispatch_uid="read-cache-request-started")
        request_finished.connect(cache.request_finished, dispatch_uid="read-cache-request-finished")
        before_scrape(refresh_readiness_gauges)
        # Every app's selectors, as the admin finds admin.py: their cached reads say which models
        # they depend on, whose writes this process must then bump, even one that never reads them
        # (a command).
        autodiscover_modules("selectors")
