"""The request budgets' numbers: production defaults, their relation to krakend.json, the environment."""

import json
import re
from pathlib import Path

import pytest
from django.conf import settings as django_settings
from django.core.exceptions import ImproperlyConfigured

from store_infra import throttling
from store_manager.settings import base as base_settings
from store_manager.settings import store as store_settings
from users.models import Role


def per_minute(scope: str) -> float:
    requests, seconds = throttling.parse_rate(store_settings.THROTTLE_RATES[scope])
    return requests * 60 / seconds


def test_production_rates_are_stricter_on_writes_than_reads_for_every_role():
    for role in Role:
        assert per_minute(f"{role}_write") < per_minute(f"{role}_read"), role
    assert per_minute("login") < per_minute("anon")


def gateway_limits_per_minute() -> dict[tuple[str, str], float]:
    """The most one client gets through each store route of krakend.json in a minute (a full bucket,
    then its refill rate)."""
    seconds = {"ms": 0.001, "s": 1, "m": 60, "h": 3600}
    limits = {}
    for endpoint in json.loads((Path(django_settings.BASE_DIR) / "krakend.json").read_text())["endpoints"]:
        path = endpoint["endpoint"]
        limit = endpoint.get("extra_config", {}).get("qos/ratelimit/router")
        if limit and (path.startswith("/store-api/") or path == "/graphql"):
            amount, unit = re.fullmatch(r"([0-9]+)(ms|s|m|h)", limit.get("every", "1s")).groups()
            refills_per_minute = 60 / (int(amount) * seconds[unit])
            limits[endpoint.get("method", "GET"), path] = (
                limit["client_capacity"] + limit["client_max_rate"] * refills_per_minute
            )
    return limits


def test_staff_and_anonymous_budgets_are_looser_than_the_gateways_limit_on_any_one_route():
    limits = gateway_limits_per_minute()
    anonymous = {("GET", "/store-api/schema/"), ("POST", "/store-api/auth/token/")}
    reads = max(v for (method, path), v in limits.items() if method == "GET" or path == "/graphql")
    writes = max(v for route, v in limits.items() if route[0] != "GET" and route not in anonymous)

    for role in (Role.MANAGER, Role.CLERK):
        assert per_minute(f"{role}_read") > reads, role
        assert per_minute(f"{role}_write") > writes, role
    assert per_minute("anon") > limits["GET", "/store-api/schema/"]
    assert per_minute("login") > limits["POST", "/store-api/auth/token/"]


def test_rates_from_the_environment_replace_the_defaults(monkeypatch):
    monkeypatch.setenv("THROTTLE_RATES", "clerk_write=600/min,anon=5/s")
    defaults = {"clerk_write": "300/min", "clerk_read": "1200/min", "anon": "120/min"}

    rates = base_settings.rates_from_env("THROTTLE_RATES", defaults)

    assert rates == {"clerk_write": "600/min", "clerk_read": "1200/min", "anon": "5/s"}
    assert throttling.parse_rate(rates["anon"]) == (5, 1)


@pytest.mark.parametrize("value", ["clerk-write=600/min", "clerk_write=600", "clerk_write=600/fortnight"])
def test_a_mistyped_rate_in_the_environment_stops_the_service(monkeypatch, value):
    monkeypatch.setenv("THROTTLE_RATES", value)
    with pytest.raises(ImproperlyConfigured, match="THROTTLE_RATES"):
        base_settings.rates_from_env("THROTTLE_RATES", {"clerk_write": "300/min"})
