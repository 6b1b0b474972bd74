"""Request budgets per user and role, counted in Redis: 429 `throttled` with `Retry-After`, nothing done.

The clock is frozen 45.25 s into a minute, so a per-minute budget refills in 15 s (`Retry-After: 15`)
and no window ends in the middle of a test. The suite's own rates are generous (settings/test.py);
each test here sets the low ones it needs.
"""

import json
import os
import subprocess
import sys
import time

import pytest
from django.core.cache import cache
from django.db import connection
from django.test import override_settings
from redis.connection import AbstractConnection
from rest_framework.authtoken.models import Token
from rest_framework.test import APIClient

from core.tests import ROLES, assert_error
from core.tests.graphql import GraphQLClient, error_codes
from core.tests.redis_server import DEAD_REDIS
from orders.models import Order
from orders.tests.threads import run_together
from stocks.models import Stock, StockMovement
from store_infra import throttling
from store_infra.models import ThrottleCounter
from users.models import Role
from users.services import user_update
from users.tests.factories import UserFactory

MINUTE_START = 1_800_000_000  # a multiple of 60
GATEWAY = "172.28.0.10"
RESTOCK_MUTATION = """mutation($sku: String!) {
  restock(sku: $sku, quantity: 5, reference: "DN-1") { stock { quantity } errors { code } }
}"""


class FrozenClock:
    def __init__(self, now: float):
        self.now = now

    def __call__(self) -> float:
        return self.now


@pytest.fixture(autouse=True)
def clock(monkeypatch):
    """Frozen 45.25 s into a minute; a test moves it with `clock.now += seconds`."""
    frozen = FrozenClock(MINUTE_START + 45.25)
    monkeypatch.setattr(throttling, "clock", frozen)
    return frozen


@pytest.fixture
def rates(settings):
    """Sets some rates (`clerk_write="2/min"`), the others keeping the suite's generous ones."""

    def set_rates(**scopes):
        settings.THROTTLE_RATES = {**settings.THROTTLE_RATES, **scopes}

    return set_rates


@pytest.fixture
def tea(stocked_article):
    return stocked_article(10, sku="TEA-1")


def quantity(article) -> int:
    return Stock.objects.get(article=article).quantity


def order_payload(customer, article) -> dict:
    return {"customer": customer.pk, "lines": [{"article": article.pk, "quantity": 1}]}


def test_a_clerk_over_the_write_rate_gets_429_with_retry_after_and_no_order(
    api_client, clerk, customer, tea, rates
):
    rates(clerk_write="2/min")
    client = api_client(clerk)
    for _ in range(2):
        assert client.post("/api/v1/orders/", order_payload(customer, tea), format="json").status_code == 201

    response = client.post("/api/v1/orders/", order_payload(customer, tea), format="json")

    body = assert_error(response, 429, "throttled")
    assert "15 seconds" in body["message"]
    assert response["Retry-After"] == "15"
    assert Order.objects.count() == 2
    assert quantity(tea) == 8


def test_a_window_counter_expires_once_its_window_has_ended(clock, rates):
    rates(clerk_write="5/min")
    budget = throttling.Budget("clerk_write", "42")
    for _ in range(3):
        throttling.spend(budget)

    (key,) = cache.keys("throttle:clerk_write:42:*")
    assert cache.get(key) == 3
    assert 0 < cache.ttl(key) <= 61


def test_the_budget_refills_when_retry_after_has_passed(api_client, clerk, tea, rates, clock):
    rates(clerk_write="1/min")
    client = api_client(clerk)
    restock = f"/api/v1/stocks/{tea.pk}/restock/"
    assert client.post(restock, {"quantity": 1, "reference": "DN-1"}, format="json").status_code == 200
    refused = client.post(restock, {"quantity": 1, "reference": "DN-2"}, format="json")
    assert refused.status_code == 429

    clock.now += int(refused["Retry-After"])

    assert client.post(restock, {"quantity": 1, "reference": "DN-3"}, format="json").status_code == 200
    assert quantity(tea) == 12


@pytest.mark.parametrize(
    ("method", "url", "payload"),
    [
        ("post", "/api/v1/orders/", "order"),
        ("post", "/api/v1/orders/{order}/cancel/", None),
        ("post", "/api/v1/orders/{order}/payment/", None),
        ("delete", "/api/v1/orders/{order}/", None),
        ("post", "/api/v1/stocks/{tea}/restock/", {"quantity": 5, "reference": "DN-1"}),
        ("post", "/api/v1/stocks/{tea}/adjust/", {"quantity": 3, "reason": "count"}),
        ("patch", "/api/v1/stocks/{tea}/", {"min_quantity": 4}),
        ("patch", "/api/v1/articles/{tea}/", {"name": "Black tea"}),
    ],
)
def test_every_write_spends_from_the_write_budget_and_changes_nothing_when_over_it(
    api_client, clerk, customer, tea, rates, method, url, payload
):
    order = api_client(clerk).post("/api/v1/orders/", order_payload(customer, tea), format="json").json()
    rates(clerk_write="0/min")
    before = (
        list(Order.objects.values()),
        list(StockMovement.objects.values()),
        list(Stock.objects.values()),
    )
    payload = order_payload(customer, tea) if payload == "order" else payload

    response = getattr(api_client(clerk), method)(
        url.format(order=order["id"], tea=tea.pk), payload, format="json"
    )

    assert_error(response, 429, "throttled")
    assert response["Retry-After"] == "15"
    assert before == (
        list(Order.objects.values()),
        list(StockMovement.objects.values()),
        list(Stock.objects.values()),
    )
    tea.refresh_from_db()
    assert tea.name != "Black tea"


def test_reads_are_still_allowed_while_writes_are_throttled(api_client, clerk, tea, rates):
    rates(clerk_write="1/min", clerk_read="5/min")
    client = api_client(clerk)
    restock = f"/api/v1/stocks/{tea.pk}/restock/"
    assert client.post(restock, {"quantity": 1, "reference": "DN-1"}, format="json").status_code == 200
    assert client.post(restock, {"quantity": 1, "reference": "DN-2"}, format="json").status_code == 429

    assert [client.get(f"/api/v1/stocks/{tea.pk}/").status_code for _ in range(5)] == [200] * 5
    assert client.get("/api/v1/stocks/").status_code == 429


READ_RATES = {"manager": 4, "clerk": 3, "supplier": 2, "customer": 1}


@pytest.mark.parametrize("role", ROLES)
def test_each_role_reads_at_its_own_rate(request, api_client, rates, role):
    rates(**{f"{name}_read": f"{count}/min" for name, count in READ_RATES.items()})
    client = api_client(request.getfixturevalue(role))
    url = "/api/v1/orders/" if role == "customer" else "/api/v1/stocks/"

    statuses = [client.get(url).status_code for _ in range(READ_RATES[role] + 1)]

    assert statuses == [200] * READ_RATES[role] + [429]


WRITE_RATES = {"manager": 3, "clerk": 2, "supplier": 1}


@pytest.mark.parametrize("role", WRITE_RATES)
def test_each_role_writes_at_its_own_rate(request, api_client, tea, rates, role):
    rates(**{f"{name}_write": f"{count}/min" for name, count in WRITE_RATES.items()})
    client = api_client(request.getfixturevalue(role))
    restock = f"/api/v1/stocks/{tea.pk}/restock/"

    statuses = [
        client.post(restock, {"quantity": 1, "reference": "DN"}, format="json").status_code
        for _ in range(WRITE_RATES[role] + 1)
    ]

    assert statuses == [200] * WRITE_RATES[role] + [429]
    assert quantity(tea) == 10 + WRITE_RATES[role]


def test_each_user_has_a_budget_of_their_own(api_client, clerk, rates):
    rates(clerk_read="1/min")
    other_clerk = UserFactory(role=Role.CLERK)
    assert api_client(clerk).get("/api/v1/stocks/").status_code == 200
    assert api_client(clerk).get("/api/v1/stocks/").status_code == 429

    assert api_client(other_clerk).get("/api/v1/stocks/").status_code == 200


@pytest.mark.django_db(transaction=True)
@pytest.mark.parametrize("by_token", [False, True], ids=["authenticated", "token"])
def test_threads_spend_from_one_shared_budget_without_losing_a_count(clerk, rates, by_token):
    rates(clerk_read="12/min")
    token = Token.objects.create(user=clerk).key

    def five_reads():
        # With a token, the reads after the process first saw it count with the versions read.
        client = APIClient()
        if by_token:
            client.credentials(HTTP_AUTHORIZATION=f"Token {token}")
        else:
            client.force_authenticate(clerk)
        return [client.get("/api/v1/stocks/").status_code for _ in range(5)]

    outcomes = run_together([(f"client-{n}", five_reads) for n in range(8)])

    statuses = [status for outcome in outcomes if not outcome.error for status in outcome.result]
    assert [outcome.error for outcome in outcomes] == [None] * 8
    assert sorted(statuses) == [200] * 12 + [429] * 28


# Another process: the store's settings and test database, the same Redis.
READS_IN_ANOTHER_PROCESS = """
import json, django
django.setup()
from django.test import override_settings
from django.test.utils import setup_test_environment
from rest_framework.test import APIClient
from store_infra import throttling
from users.models import User
setup_test_environment()
throttling.clock = lambda: {now}
client = APIClient()
client.force_authenticate(User.objects.get(pk={user}))
with override_settings(THROTTLE_RATES={rates}):
    print(json.dumps([client.get("/api/v1/stocks/").status_code for _ in range(3)]))
"""


def another_process_env() -> dict:
    database = connection.settings_dict
    return {
        **os.environ,
        "DJANGO_SETTINGS_MODULE": "store_manager.settings.test",
        "DATABASE_URL": f"mysql://{database['USER']}@{database['HOST']}:{database['PORT']}/{database['NAME']}",
    }


@pytest.mark.django_db(transaction=True)
def test_another_process_spends_from_the_same_budget_in_redis(clerk, rates, clock, settings):
    rates(clerk_read="5/min")
    script = READS_IN_ANOTHER_PROCESS.format(now=clock.now, user=clerk.pk, rates=settings.THROTTLE_RATES)

    other = subprocess.run(
        [sys.executable, "-c", script], env=another_process_env(), capture_output=True, text=True, timeout=60
    )

    assert other.returncode == 0, other.stderr
    assert json.loads(other.stdout) == [200, 200, 200]
    client = APIClient()
    client.force_authenticate(clerk)
    assert [client.get("/api/v1/stocks/").status_code for _ in range(3)] == [200, 200, 429]


@pytest.mark.django_db
def test_anonymous_clients_are_counted_per_address(rates):
    rates(anon="2/min")
    first, second = APIClient(REMOTE_ADDR="203.0.113.7"), APIClient(REMOTE_ADDR="203.0.113.8")
    assert [first.get("/api/v1/docs/").status_code for _ in range(3)] == [200, 200, 429]
    schema = first.get("/api/v1/schema/", {"format": "json"})
    assert (schema.status_code, schema.json()["code"]) == (429, "throttled")

    assert second.get("/api/v1/docs/").status_code == 200


@pytest.mark.django_db
def test_behind_the_gateway_anonymous_clients_are_counted_per_forwarded_address(rates, settings):
    rates(anon="1/min")
    settings.TRUSTED_PROXIES = [GATEWAY]
    gateway = APIClient(REMOTE_ADDR=GATEWAY)
    assert gateway.get("/api/v1/docs/", headers={"X-Forwarded-For": "203.0.113.7"}).status_code == 200
    assert gateway.get("/api/v1/docs/", headers={"X-Forwarded-For": "203.0.113.8"}).status_code == 200
    assert gateway.get("/api/v1/docs/", headers={"X-Forwarded-For": "203.0.113.7"}).status_code == 429

    stranger = APIClient(REMOTE_ADDR="198.51.100.23")
    forged = [stranger.get("/api/v1/docs/", headers={"X-Forwarded-For": f"10.0.0.{n}"}) for n in range(2)]
    assert [response.status_code for response in forged] == [200, 429]


@pytest.mark.django_db
def test_ipv6_clients_are_counted_per_64_block(rates):
    rates(anon="1/min")
    assert APIClient(REMOTE_ADDR="2001:db8::1").get("/api/v1/docs/").status_code == 200
    assert APIClient(REMOTE_ADDR="2001:db8::2").get("/api/v1/docs/").status_code == 429
    assert APIClient(REMOTE_ADDR="2001:db8:0:1::1").get("/api/v1/docs/").status_code == 200


def test_token_requests_are_limited_per_address_whatever_the_password(clerk, rates):
    rates(login="3/min")
    client = APIClient(REMOTE_ADDR="203.0.113.7")
    wrong = {"username": "clerk", "password": "guess"}
    right = {"username": "clerk", "password": "correct-horse-battery"}
    assert [client.post("/api/v1/auth/token/", wrong, format="json").status_code for _ in range(3)] == [
        400
    ] * 3

    response = client.post("/api/v1/auth/token/", right, format="json")

    assert_error(response, 429, "throttled")
    assert response["Retry-After"] == "15"
    assert not Token.objects.exists()
    other = APIClient(REMOTE_ADDR="203.0.113.8").post("/api/v1/auth/token/", right, format="json")
    assert other.status_code == 200


def test_graphql_mutations_spend_from_the_write_budget(supplier, shelf, rates):
    rates(supplier_write="1/min")
    graphql = GraphQLClient(supplier)
    graphql.execute(RESTOCK_MUTATION, {"sku": "TEA-1"})

    response = graphql.post(RESTOCK_MUTATION, {"sku": "TEA-1"})

    assert response.status_code == 429
    assert response["Retry-After"] == "15"
    assert error_codes(response.json()) == ["throttled"]
    assert "data" not in response.json()
    assert quantity(shelf[0]) == 17
    assert graphql.execute("{ lowStock { sku } }")["lowStock"]


def test_graphql_and_rest_reads_share_the_users_budget(api_client, supplier, shelf, rates):
    rates(supplier_read="2/min")
    rest, graphql = api_client(supplier), GraphQLClient(supplier)
    assert rest.get("/api/v1/stocks/").status_code == 200
    graphql.execute("{ lowStock { sku } }")

    assert rest.get("/api/v1/stocks/").status_code == 429
    assert error_codes(graphql.post("{ lowStock { sku } }").json()) == ["throttled"]


def test_requests_go_through_unthrottled_while_redis_is_down(api_client, clerk, rates):
    rates(clerk_read="1/min")
    client = api_client(clerk)
    with override_settings(CACHES=DEAD_REDIS):
        assert [client.get("/api/v1/stocks/").status_code for _ in range(3)] == [200] * 3


def test_token_requests_go_through_unthrottled_while_redis_is_down(clerk, rates):
    rates(clerk_read="1/min")
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Token {Token.objects.create(user=clerk).key}")
    assert client.get("/api/v1/stocks/").status_code == 200  # the process now holds the token's user
    with override_settings(CACHES=DEAD_REDIS):
        assert [client.get("/api/v1/stocks/").status_code for _ in range(3)] == [200] * 3


def test_token_requests_are_still_limited_per_address_while_redis_is_down(clerk, rates):
    rates(login="3/min")
    client = APIClient(REMOTE_ADDR="203.0.113.7")
    wrong = {"username": "clerk", "password": "guess"}
    right = {"username": "clerk", "password": "correct-horse-battery"}
    with override_settings(CACHES=DEAD_REDIS):
        statuses = [client.post("/api/v1/auth/token/", wrong, format="json").status_code for _ in range(3)]
        response = client.post("/api/v1/auth/token/", right, format="json")

    assert statuses == [400] * 3
    assert_error(response, 429, "throttled")
    assert response["Retry-After"] == "15"
    assert not Token.objects.exists()


@pytest.mark.django_db(transaction=True)
def test_threads_guessing_passwords_while_redis_is_down_share_one_budget_in_the_database(clerk, rates):
    rates(login="5/min")
    wrong = {"username": "clerk", "password": "guess"}

    def three_guesses():
        client = APIClient(REMOTE_ADDR="203.0.113.7")
        return [client.post("/api/v1/auth/token/", wrong, format="json").status_code for _ in range(3)]

    with override_settings(CACHES=DEAD_REDIS):
        outcomes = run_together([(f"guesser-{n}", three_guesses) for n in range(6)])

    assert [outcome.error for outcome in outcomes] == [None] * 6
    assert sorted(status for outcome in outcomes for status in outcome.result) == [400] * 5 + [429] * 13


def test_database_counters_of_windows_that_ended_are_deleted_when_a_new_window_starts(clerk, rates, clock):
    rates(login="3/min")
    client = APIClient(REMOTE_ADDR="203.0.113.7")
    with override_settings(CACHES=DEAD_REDIS):
        client.post("/api/v1/auth/token/", {"username": "clerk", "password": "guess"}, format="json")
        clock.now += 60
        client.post("/api/v1/auth/token/", {"username": "clerk", "password": "guess"}, format="json")

    assert [(counter.key.rsplit(":", 1)[1], counter.count) for counter in ThrottleCounter.objects.all()] == [
        (str(int(clock.now // 60)), 1)
    ]


@pytest.mark.django_db
def test_health_probes_and_payment_events_are_never_throttled(rates):
    rates(anon="0/min")
    client = APIClient()
    assert client.get("/health/").status_code == 200
    assert client.get("/health/ready/").status_code == 200
    events = client.post("/api/v1/orders/1/payment-events/", {}, format="json")
    assert_error(events, 401, "bad_signature")


def test_the_schema_documents_429_where_requests_are_throttled():
    paths = APIClient().get("/api/v1/schema/", {"format": "json"}).json()["paths"]
    assert "429" in paths["/api/v1/orders/"]["post"]["responses"]
    assert "429" in paths["/api/v1/auth/token/"]["post"]["responses"]
    assert "429" not in paths["/health/"]["get"]["responses"]
    assert "429" not in paths["/api/v1/orders/{order_id}/payment-events/"]["post"]["responses"]


# --- Token requests: a warm read asks Redis twice, for the caches' versions and for its budget -----


@pytest.fixture
def token_client(db):
    """Returns an API client sending the user's API token, as real clients do."""

    def client_for(user) -> APIClient:
        client = APIClient()
        client.credentials(HTTP_AUTHORIZATION=f"Token {Token.objects.create(user=user).key}")
        return client

    return client_for


@pytest.fixture
def redis_round_trips(monkeypatch):
    """What was sent to Redis (a command, or a pipeline of them), by a spy that sends it on."""
    sent = []
    send = AbstractConnection.send_packed_command

    def counting_send(connection, command, *args, **kwargs):
        sent.append(command)
        return send(connection, command, *args, **kwargs)

    monkeypatch.setattr(AbstractConnection, "send_packed_command", counting_send)
    return sent


def spent(scope: str, user) -> int:
    return sum(cache.get(key) for key in cache.keys(f"throttle:{scope}:{user.pk}:*"))


def test_a_warm_token_read_makes_two_round_trips_to_redis_and_spends_from_its_budget(
    token_client, clerk, rates, redis_round_trips
):
    rates(clerk_read="3/min")
    client = token_client(clerk)
    assert client.get("/api/v1/reports/stock/").status_code == 200  # the token and the report cached
    redis_round_trips.clear()

    assert client.get("/api/v1/reports/stock/").status_code == 200

    assert len(redis_round_trips) == 2  # the versions of every namespace, then the budget
    assert client.get("/api/v1/reports/stock/").status_code == 200
    assert_error(client.get("/api/v1/reports/stock/"), 429, "throttled")
    assert spent("clerk_read", clerk) == 4


def test_a_process_takes_a_large_budget_from_redis_a_lease_at_a_time(
    token_client, clerk, rates, redis_round_trips
):
    rates(clerk_read="1000/min")  # leases of 10 requests
    client = token_client(clerk)
    assert client.get("/api/v1/reports/stock/").status_code == 200  # the first lease; all cached
    redis_round_trips.clear()

    statuses = [client.get("/api/v1/reports/stock/").status_code for _ in range(24)]

    assert statuses == [200] * 24
    # The versions at each request, and the budget at the 11th and the 21st (two more leases).
    assert len(redis_round_trips) == 24 + 2
    assert spent("clerk_read", clerk) == 30


# Processes of their own spending from one budget, from the same moment on (the clock frozen).
SPENDING_IN_A_PROCESS = """
import time, django
django.setup()
from django.test import override_settings
from store_infra import throttling
throttling.clock = lambda: {now}
budget = throttling.Budget("clerk_read", "7")
with override_settings(THROTTLE_RATES={rates}):
    while time.time() < {start}:
        time.sleep(0.001)
    print(sum(throttling.spend(budget) is None for _ in range({attempts})))
"""


@pytest.mark.django_db(transaction=True)
def test_processes_taking_leases_of_one_budget_let_no_more_than_the_budget_through(rates, clock, settings):
    rates(clerk_read="1005/min")  # leases of 10 requests, and a last one of 5
    script = SPENDING_IN_A_PROCESS.format(
        now=clock.now, rates=settings.THROTTLE_RATES, start=time.time() + 5, attempts=600
    )

    processes = [
        subprocess.Popen([sys.executable, "-c", script], env=another_process_env(), stdout=subprocess.PIPE)
        for _ in range(3)
    ]
    allowed = [int(process.communicate(timeout=60)[0]) for process in processes]

    assert [process.returncode for process in processes] == [0, 0, 0]
    # Each process may end holding up to 9 requests of its last lease, unspent.
    assert 1005 - 3 * 9 <= sum(allowed) <= 1005
    assert throttling.spend(throttling.Budget("clerk_read", "7")) is not None


def test_a_token_request_refused_by_its_permissions_spends_nothing(token_client, customer, rates):
    rates(customer_read="2/min")
    client = token_client(customer)
    assert client.get("/api/v1/orders/").status_code == 200

    for _ in range(3):
        assert_error(client.get("/api/v1/reports/stock/"), 403, "permission_denied")

    assert spent("customer_read", customer) == 1
    assert client.get("/api/v1/orders/").status_code == 200


def test_a_token_whose_user_changed_role_spends_from_the_new_roles_budget_only(
    token_client, clerk, manager, rates, django_capture_on_commit_callbacks
):
    rates(clerk_read="3/min", supplier_read="3/min")  # leases of one request
    client = token_client(clerk)
    assert client.get("/api/v1/stocks/").status_code == 200
    with django_capture_on_commit_callbacks(execute=True):
        user_update(actor=manager, user=clerk, role=Role.SUPPLIER)

    assert client.get("/api/v1/stocks/").status_code == 200

    assert spent("clerk_read", clerk) == 1
    assert spent("supplier_read", clerk) == 1


def test_a_graphql_query_by_post_spends_from_the_read_budget_in_two_round_trips(
    supplier, shelf, rates, redis_round_trips
):
    rates(supplier_read="3/min")  # leases of one request
    graphql = GraphQLClient(supplier)
    graphql.execute("{ lowStock { sku } }")
    redis_round_trips.clear()

    graphql.execute("{ lowStock { sku } }")

    assert len(redis_round_trips) == 2
    assert spent("supplier_read", supplier) == 2
    assert cache.keys("throttle:supplier_write:*") == []
