"""The store's readiness probe: its database and its cache. (The payments service, which has no
cache, checks its database only.)"""

from core.views import database_status, readiness_probe

from .cache import cache_status

readiness = readiness_probe(lambda: {"database": database_status(), "cache": cache_status()})
