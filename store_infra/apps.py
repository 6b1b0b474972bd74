from django.apps import AppConfig
from django.core.signals import request_finished, request_started
from django.utils.module_loading import autodiscover_modules


class StoreInfraConfig(AppConfig):
    name = "store_infra"
    verbose_name = "Infrastructure"

    def ready(self):
        from . import cache, readiness  # noqa: F401 (readiness: its gauges refreshed at each scrape)

        # Each request reads the read caches' versions once (store_infra/cache.py).
        request_started.connect(cache.request_started, dispatch_uid="read-cache-request-started")
        request_finished.connect(cache.request_finished, dispatch_uid="read-cache-request-finished")
        # Every app's selectors, as the admin finds admin.py: their cached reads say which models
        # they depend on, whose writes this process must then bump, even one that never reads them
        # (a command).
        autodiscover_modules("selectors")
