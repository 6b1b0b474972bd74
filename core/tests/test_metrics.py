"""The store's Prometheus metrics: `/metrics`, requests per view, orders, stock-outs, the payments client.

The counters are the process's own here (no PROMETHEUS_MULTIPROC_DIR), so each test reads them
before and after; the last test serves the store with gunicorn's several workers, as deployed.
"""

import os
import sys
from pathlib import Path

import pytest
import requests
from django.db import connection
from django.test import override_settings
from django.test.utils import CaptureQueriesContext
from prometheus_client import REGISTRY

from core import metrics_endpoint
from orders.errors import PaymentServiceUnavailable
from orders.payments_client import CircuitBreaker, PaymentsClient
from orders.services import order_cancel, order_create, order_mark_paid
from orders.tests.payments_stub import payment_json, refused_url, stub_server
from scripts.stack import free_port
from stocks.models import Stock

from .processes import ServiceProcess
from .redis_server import DEAD_REDIS

NAMED_METRICS = (
    "http_request_duration_seconds",
    "domain_errors_total",
    "read_cache_hits_total",
    "read_cache_misses_total",
    "orders_created_total",
    "orders_cancelled_total",
    "payments_client_failures_total",
    "payments_circuit_state",
    "payments_circuit_opened_total",
    "stock_low_articles",
    "readiness_check_ok",
    "django_db_new_connections_total",
    "django_db_execute_total",
    "django_db_query_duration_seconds",
    "django_db_errors_total",
)


def sample(name: str, **labels) -> float:
    return REGISTRY.get_sample_value(name, labels) or 0.0


def requests_of(view: str, method: str = "GET", status: int = 200) -> float:
    return sample("http_request_duration_seconds_count", view=view, method=method, status=str(status))


@pytest.fixture
def stub():
    with stub_server() as server:
        yield server


@pytest.fixture
def tea(stocked_article):
    return stocked_article(5)


def place(customer, clerk, article, quantity=1):
    return order_create(
        customer=customer, lines=[{"article": article.pk, "quantity": quantity}], created_by=clerk
    )


# --- /metrics and the requests ----------------------------------------------------------------------


def test_metrics_answers_in_prometheus_text_format_with_every_named_metric(client):
    response = client.get("/metrics")

    assert response.status_code == 200
    assert response["Content-Type"].startswith("text/plain; version=")
    types = {line.split()[2] for line in response.content.decode().splitlines() if line.startswith("# TYPE")}
    assert set(NAMED_METRICS) <= types


def test_each_request_is_counted_and_timed_under_its_view(client):
    before = requests_of("health")
    seconds_before = sample("http_request_duration_seconds_sum", view="health", method="GET", status="200")

    for _ in range(3):
        assert client.get("/health/").status_code == 200

    assert requests_of("health") == before + 3
    assert (
        sample("http_request_duration_seconds_sum", view="health", method="GET", status="200")
        > seconds_before
    )
    assert 'view="health"' in client.get("/metrics").content.decode()


def test_a_path_no_view_answers_is_counted_as_unresolved(client):
    before = requests_of("unresolved", status=404)

    assert client.get("/no/such/page/").status_code == 404

    assert requests_of("unresolved", status=404) == before + 1


def test_a_made_up_http_method_is_counted_as_other(client):
    before = requests_of("health", method="other", status=405)

    assert client.generic("BREW", "/health/").status_code == 405

    assert requests_of("health", method="other", status=405) == before + 1


@pytest.mark.django_db
def test_the_low_stock_gauge_counts_the_active_articles_to_reorder_at_each_scrape(client, stocked_article):
    stocked_article(2, sku="LOW-1", stock__min_quantity=5)
    stocked_article(9, sku="FINE-1", stock__min_quantity=5)
    stocked_article(0, sku="GONE-1", stock__min_quantity=5, is_active=False)
    client.get("/metrics")
    assert sample("stock_low_articles") == 1

    stocked_article(1, sku="LOW-2", stock__min_quantity=5)

    assert "stock_low_articles 2.0" in client.get("/metrics").content.decode()


@pytest.mark.django_db
def test_the_readiness_checks_are_gauges_refreshed_at_each_scrape(client):
    def readiness(check: str) -> float | None:
        return REGISTRY.get_sample_value("readiness_check_ok", {"check": check})

    client.get("/metrics")
    assert (readiness("database"), readiness("cache")) == (1, 1)

    with override_settings(CACHES=DEAD_REDIS):
        client.get("/metrics")
    assert (readiness("database"), readiness("cache")) == (1, 0)

    client.get("/metrics")
    assert readiness("cache") == 1


@pytest.mark.django_db
def test_every_database_statement_is_counted_and_timed(client, stocked_article):
    stocked_article(3)
    labels = {"alias": "default", "vendor": "mysql"}
    statements_before = sample("django_db_execute_total", **labels)
    timed_before = sample("django_db_query_duration_seconds_count", **labels)

    with CaptureQueriesContext(connection) as queries:
        list(Stock.objects.select_related("article"))
        Stock.objects.filter(quantity__gte=0).count()

    assert len(queries) == 2
    assert sample("django_db_execute_total", **labels) == statements_before + 2
    assert sample("django_db_query_duration_seconds_count", **labels) == timed_before + 2
    scraped = client.get("/metrics").content.decode()
    assert 'django_db_execute_total{alias="default",vendor="mysql"}' in scraped


def test_a_gauge_that_cannot_be_refreshed_leaves_the_other_metrics_scraped(client, monkeypatch):
    def broken():
        raise RuntimeError("no database")

    monkeypatch.setattr(metrics_endpoint, "BEFORE_SCRAPE", [broken])

    response = client.get("/metrics")

    assert response.status_code == 200 and "http_request_duration_seconds" in response.content.decode()


def test_prometheus_scraping_a_replica_at_its_address_is_answered(client, settings):
    """Prometheus names no host the store serves: it scrapes each replica at its address."""
    settings.ALLOWED_HOSTS = ["store"]

    assert client.get("/metrics", HTTP_HOST="172.28.0.140:8000").status_code == 200
    assert client.get("/health/", HTTP_HOST="172.28.0.140:8000").status_code == 400


def test_metrics_need_the_metrics_token_when_one_is_set(client, settings):
    settings.METRICS_TOKEN = "metrics-secret"

    for headers in ({}, {"HTTP_AUTHORIZATION": "Bearer wrong"}, {"HTTP_AUTHORIZATION": "metrics-secret"}):
        response = client.get("/metrics", **headers)
        assert response.status_code == 401
        assert response.json()["code"] == "not_authenticated"
    assert client.get("/metrics", HTTP_AUTHORIZATION="Bearer metrics-secret").status_code == 200


# --- orders and stock-outs --------------------------------------------------------------------------


def test_an_order_is_counted_once_its_transaction_commits(
    customer, clerk, tea, django_capture_on_commit_callbacks
):
    before = sample("orders_created_total")

    with django_capture_on_commit_callbacks() as callbacks:
        place(customer, clerk, tea)
        assert sample("orders_created_total") == before
    for callback in callbacks:
        callback()

    assert sample("orders_created_total") == before + 1


def test_a_stock_out_is_counted_and_no_order_is(
    api_client, customer, clerk, tea, django_capture_on_commit_callbacks
):
    created = sample("orders_created_total")
    stock_outs = sample("domain_errors_total", code="insufficient_stock")

    with django_capture_on_commit_callbacks(execute=True):
        response = api_client(clerk).post(
            "/api/v1/orders/",
            {"customer": customer.pk, "lines": [{"article": tea.pk, "quantity": 6}]},
            format="json",
        )

    assert (response.status_code, response.json()["code"]) == (409, "insufficient_stock")
    assert sample("domain_errors_total", code="insufficient_stock") == stock_outs + 1
    assert sample("orders_created_total") == created


def test_a_cancel_is_counted_and_a_refused_second_cancel_is_not(
    api_client, customer, clerk, tea, django_capture_on_commit_callbacks
):
    order = place(customer, clerk, tea)
    before = sample("orders_cancelled_total")
    refused = sample("domain_errors_total", code="order_not_cancellable")

    with django_capture_on_commit_callbacks(execute=True):
        assert api_client(clerk).post(f"/api/v1/orders/{order.pk}/cancel/").status_code == 200
        assert api_client(clerk).post(f"/api/v1/orders/{order.pk}/cancel/").status_code == 409

    assert sample("orders_cancelled_total") == before + 1
    assert sample("domain_errors_total", code="order_not_cancellable") == refused + 1


def test_cancelling_a_paid_order_counts_one_cancel_not_its_rehearsal(
    customer, clerk, tea, stub, settings, django_capture_on_commit_callbacks
):
    """The paid cancel first rehearses the cancel in a transaction it rolls back."""
    order = place(customer, clerk, tea)
    order_mark_paid(order_id=order.pk, payment_id=41, amount=order.total)
    settings.PAYMENTS_URL = stub.url
    before = sample("orders_cancelled_total")

    with django_capture_on_commit_callbacks(execute=True):
        order_cancel(order_id=order.pk, user=clerk)

    assert sample("orders_cancelled_total") == before + 1


# --- the payments client ----------------------------------------------------------------------------


def client_for(url: str, *, retries: int = 0, circuit: CircuitBreaker | None = None) -> PaymentsClient:
    return PaymentsClient(
        base_url=url,
        token="service-token",
        connect_timeout=1.0,
        read_timeout=0.2,
        retries=retries,
        backoff=0.01,
        circuit=circuit or CircuitBreaker(threshold=100, cooldown=60),
    )


def failures(reason: str) -> float:
    return sample("payments_client_failures_total", reason=reason)


def test_a_refused_connection_counts_one_failure_per_attempt():
    before = failures("connection")

    with refused_url() as url, pytest.raises(PaymentServiceUnavailable):
        client_for(url, retries=2).get_payment(41)

    assert failures("connection") == before + 3


@pytest.mark.parametrize(
    ("status", "delay", "reason"),
    [(500, 0, "server_error"), (200, 0.5, "timeout"), (403, 0, "refused")],
)
def test_each_kind_of_payments_failure_is_counted_under_its_reason(stub, status, delay, reason):
    stub.behaviour.status, stub.behaviour.delay = status, delay
    stub.behaviour.body = {"code": "permission_denied"} if status == 403 else payment_json()
    before = failures(reason)

    with pytest.raises(PaymentServiceUnavailable):
        client_for(stub.url).get_payment(41)

    assert failures(reason) == before + 1


def test_the_circuit_gauge_follows_the_breaker_and_calls_it_stops_are_counted(stub):
    now = [0.0]
    circuit = CircuitBreaker(threshold=2, cooldown=10, clock=lambda: now[0])
    payments = client_for(stub.url, circuit=circuit)
    stub.behaviour.status = 500
    opened, not_sent = sample("payments_circuit_opened_total"), failures("circuit_open")

    for _ in range(2):
        with pytest.raises(PaymentServiceUnavailable):
            payments.get_payment(41)
    assert sample("payments_circuit_state") == 2
    assert sample("payments_circuit_opened_total") == opened + 1
    with pytest.raises(PaymentServiceUnavailable):
        payments.get_payment(41)
    assert (failures("circuit_open"), len(stub.received)) == (not_sent + 1, 2)

    now[0] = 10
    assert circuit.allow()
    assert sample("payments_circuit_state") == 1
    circuit.record_failure()
    assert sample("payments_circuit_state") == 2

    now[0] = 20
    stub.behaviour.status, stub.behaviour.body = 200, payment_json()
    payments.get_payment(41)
    assert sample("payments_circuit_state") == 0


# --- under gunicorn ---------------------------------------------------------------------------------


def scrape_count(url: str, view: str) -> float:
    prefix = f'http_request_duration_seconds_count{{method="GET",status="200",view="{view}"}} '
    for line in requests.get(f"{url}/metrics", timeout=5).text.splitlines():
        if line.startswith(prefix):
            return float(line.removeprefix(prefix))
    return 0.0


def test_gunicorn_workers_add_up_their_counts_at_metrics(tmp_path):
    """One connection per worker (each holds at most one), 20 requests on each: every scrape, whichever
    worker answers it, shows all 40."""
    port = free_port()
    url = f"http://127.0.0.1:{port}"
    env = {
        **os.environ,
        "DJANGO_SETTINGS_MODULE": "store_manager.settings.test",
        "PROMETHEUS_MULTIPROC_DIR": str(tmp_path / "metrics"),
        "PORT": str(port),
        "GUNICORN_WORKERS": "2",
        "GUNICORN_THREADS": "1",
        "LOG_LEVEL": "WARNING",
    }
    command = [sys.executable, "-m", "gunicorn", "-c", "gunicorn.conf.py", "--bind", f"127.0.0.1:{port}"]
    command += ["--worker-connections", "1", "store_manager.wsgi"]
    server = ServiceProcess(command=command, env=env, port=port, log=tmp_path / "gunicorn.log")
    server.start()
    try:
        before = scrape_count(url, "health")
        first, second = requests.Session(), requests.Session()
        for _ in range(20):
            for session in (first, second):
                assert session.get(f"{url}/health/", timeout=5).status_code == 200
        first.close()
        second.close()

        assert [scrape_count(url, "health") - before for _ in range(4)] == [40] * 4
        assert len(live_gauge_files(tmp_path)) == 2  # the circuit state, one file per worker
    finally:
        server.stop()
    assert live_gauge_files(tmp_path) == [], "gunicorn's child_exit hook drops a dead worker's live gauges"


def live_gauge_files(tmp_path: Path) -> list[Path]:
    return list((tmp_path / "metrics").glob("gauge_live*.db"))
