"""The payments client against real local HTTP servers: timeouts, bounded retries, circuit breaking."""

import json
import threading
import time
from decimal import Decimal

import pytest

from orders.errors import PaymentNotRefundable, PaymentServiceUnavailable
from orders.payments_client import CircuitBreaker, PaymentsClient

from .payments_stub import payment_json, refused_url, stub_server

READ_TIMEOUT = 0.3
SLOW_ANSWER = 2.0  # seconds a slow stub takes to answer: far beyond the client's read timeout


@pytest.fixture
def stub():
    with stub_server() as server:
        yield server


def make_client(url: str, *, retries: int = 2, threshold: int = 100, cooldown: float = 60.0, **options):
    circuit = CircuitBreaker(threshold=threshold, cooldown=cooldown)
    settings = {
        "base_url": f"{url}/api/v1",  # PAYMENTS_URL names the API root
        "token": "service-token",
        "connect_timeout": 1.0,
        "read_timeout": READ_TIMEOUT,
        "retries": retries,
        "backoff": 0.01,
        "circuit": circuit,
        **options,
    }
    return PaymentsClient(**settings)


def timed(call) -> tuple[float, BaseException | None]:
    started = time.monotonic()
    try:
        call()
    except Exception as error:
        return time.monotonic() - started, error
    return time.monotonic() - started, None


def wait_for(condition, timeout: float = 5.0) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        assert time.monotonic() < deadline, "waited in vain"
        time.sleep(0.001)


def get(client):
    return lambda: client.get_payment(41)


# --- the calls --------------------------------------------------------------------------------


def test_a_payment_is_created_with_the_service_token_and_the_orders_idempotency_key(stub):
    stub.behaviour.status, stub.behaviour.body = 201, payment_json(id=41, order_id=7)

    payment = make_client(stub.url).create_payment(
        order_id=7, customer_id=3, amount=Decimal("12.34"), currency="CAD"
    )

    assert (payment.id, payment.order_id, payment.status, payment.amount) == (
        41,
        7,
        "pending",
        Decimal("12.34"),
    )
    assert payment.pay_url.endswith("/api/v1/payments/41/pay/secret-of-41/")
    [request] = stub.received
    assert (request.method, request.path) == ("POST", "/api/v1/payments/")
    assert request.headers["Authorization"] == "Bearer service-token"
    assert request.headers["Idempotency-Key"] == "order-7"
    assert json.loads(request.body) == {"order_id": 7, "customer_id": 3, "amount": "12.34", "currency": "CAD"}


def test_the_payments_of_an_order_are_listed_by_order_id(stub):
    stub.behaviour.body = [payment_json(id=42, status="failed"), payment_json(id=41, status="refunded")]

    payments = make_client(stub.url).payments_of_order(7)

    assert [(p.id, p.status) for p in payments] == [(42, "failed"), (41, "refunded")]
    assert stub.received[0].path == "/api/v1/payments/?order_id=7"


def test_a_refund_the_service_refuses_is_not_refundable_and_not_retried(stub):
    stub.behaviour.status, stub.behaviour.body = 409, {"code": "not_refundable", "message": "pending"}

    with pytest.raises(PaymentNotRefundable):
        make_client(stub.url).refund(41)

    assert [(r.method, r.path) for r in stub.received] == [("POST", "/api/v1/payments/41/refund/")]


@pytest.mark.parametrize(
    ("status", "raw"),
    [
        (200, b"<html>a proxy page</html>"),
        (200, b'{"id": "forty-one"}'),
        (200, b'{"id": 41, "status": "lost"}'),
    ],
)
def test_an_answer_that_is_not_a_payment_is_unavailable(stub, status, raw):
    stub.behaviour.status, stub.behaviour.raw = status, raw
    with pytest.raises(PaymentServiceUnavailable):
        make_client(stub.url).get_payment(41)


# --- timeouts and retries ---------------------------------------------------------------------


def test_a_slow_service_fails_at_the_read_timeout_before_it_answers_and_is_not_retried(stub):
    stub.behaviour.delay = SLOW_ANSWER

    elapsed, error = timed(get(make_client(stub.url, retries=2)))

    assert isinstance(error, PaymentServiceUnavailable)
    assert READ_TIMEOUT <= elapsed < SLOW_ANSWER
    assert len(stub.received) == 1


def test_a_refused_connection_fails_after_bounded_retries():
    with refused_url() as url:
        client = make_client(url, retries=2)
        error = timed(get(client))[1]
    assert isinstance(error, PaymentServiceUnavailable)
    assert client.circuit.snapshot()["consecutive_failures"] == 3  # the attempt and two retries


@pytest.mark.parametrize(
    ("name", "call"),
    [
        ("get", lambda client: client.get_payment(41)),
        ("list", lambda client: client.payments_of_order(7)),
        (
            "create with its key",
            lambda c: c.create_payment(order_id=7, customer_id=3, amount=1, currency="CAD"),
        ),
        ("refund", lambda client: client.refund(41)),
    ],
)
def test_safe_and_idempotent_calls_are_retried_a_bounded_number_of_times_on_5xx(stub, name, call):
    stub.behaviour.status = 503

    with pytest.raises(PaymentServiceUnavailable):
        call(make_client(stub.url, retries=2))

    assert len(stub.received) == 3, name


def test_a_retry_that_succeeds_returns_the_answer(stub):
    client = make_client(stub.url, retries=2)
    stub.behaviour.status = 502
    answered = threading.Event()

    def recover():
        wait_for(lambda: stub.received)
        stub.behaviour.status, stub.behaviour.body = 200, payment_json()
        answered.set()

    threading.Thread(target=recover, daemon=True).start()
    payment = client.get_payment(41)

    assert answered.is_set() and payment.id == 41
    assert 2 <= len(stub.received) <= 3
    assert client.circuit.snapshot()["consecutive_failures"] == 0


def test_a_post_without_an_idempotency_key_is_never_retried(stub):
    stub.behaviour.status = 500

    with pytest.raises(PaymentServiceUnavailable):
        make_client(stub.url, retries=5).request("POST", "/api/v1/payments/", json={"order_id": 7})

    assert len(stub.received) == 1


def test_a_refusal_by_a_healthy_service_is_not_retried_and_does_not_count_as_a_failure(stub):
    stub.behaviour.status, stub.behaviour.body = 401, {"code": "not_authenticated"}
    client = make_client(stub.url, retries=2, threshold=1)

    with pytest.raises(PaymentServiceUnavailable) as raised:
        client.get_payment(41)

    assert raised.value.details == {"payments_status": 401, "payments_code": "not_authenticated"}
    assert len(stub.received) == 1
    assert client.circuit.state == CircuitBreaker.CLOSED


# --- the circuit breaker ----------------------------------------------------------------------


def test_the_circuit_opens_after_the_threshold_and_then_fails_without_a_call(stub):
    stub.behaviour.status = 500
    client = make_client(stub.url, retries=0, threshold=3)

    for _ in range(3):
        with pytest.raises(PaymentServiceUnavailable):
            client.get_payment(41)
    assert client.circuit.state == CircuitBreaker.OPEN

    error = timed(get(client))[1]

    assert isinstance(error, PaymentServiceUnavailable) and error.details == {"circuit": "open"}
    assert len(stub.received) == 3


def test_retries_count_towards_the_threshold_and_stop_once_the_circuit_opens():
    with refused_url() as url:
        client = make_client(url, retries=2, threshold=4)
        for _ in range(2):  # 3 attempts, then 1 more: the 4th opens the circuit, the 5th is never made
            with pytest.raises(PaymentServiceUnavailable):
                client.get_payment(41)
    snapshot = client.circuit.snapshot()
    assert (snapshot["state"], snapshot["consecutive_failures"], snapshot["times_opened"]) == ("open", 4, 1)


def test_timeouts_open_the_circuit_so_a_slow_service_soon_costs_nothing(stub):
    stub.behaviour.delay = SLOW_ANSWER
    client = make_client(stub.url, threshold=2)

    slow = [timed(get(client))[0] for _ in range(2)]
    error = timed(get(client))[1]

    assert all(READ_TIMEOUT <= elapsed < SLOW_ANSWER for elapsed in slow)
    assert isinstance(error, PaymentServiceUnavailable) and error.details == {"circuit": "open"}
    assert len(stub.received) == 2


def test_after_the_cooldown_a_successful_trial_call_closes_the_circuit(stub):
    stub.behaviour.status = 500
    client = make_client(stub.url, retries=0, threshold=1, cooldown=0.2)
    with pytest.raises(PaymentServiceUnavailable):
        client.get_payment(41)
    assert client.circuit.state == CircuitBreaker.OPEN

    stub.behaviour.status, stub.behaviour.body = 200, payment_json()
    time.sleep(0.25)
    assert client.circuit.state == CircuitBreaker.HALF_OPEN
    assert client.get_payment(41).id == 41

    assert client.circuit.snapshot() == {
        "state": "closed",
        "consecutive_failures": 0,
        "times_opened": 1,
        "retry_in_seconds": 0.0,
    }


def test_a_failed_trial_call_opens_the_circuit_again_for_a_new_cooldown(stub):
    stub.behaviour.status = 500
    client = make_client(stub.url, retries=2, threshold=1, cooldown=0.2)
    with pytest.raises(PaymentServiceUnavailable):
        client.get_payment(41)
    time.sleep(0.25)

    with pytest.raises(PaymentServiceUnavailable):
        client.get_payment(41)  # the trial: one attempt, no retry once it failed
    error = timed(get(client))[1]

    assert len(stub.received) == 2
    assert client.circuit.state == CircuitBreaker.OPEN
    assert isinstance(error, PaymentServiceUnavailable) and error.details == {"circuit": "open"}
    assert 0 < client.circuit.snapshot()["retry_in_seconds"] <= 0.2  # a new cooldown began


def test_only_one_trial_call_goes_out_while_the_circuit_is_half_open(stub):
    stub.behaviour.status = 500
    client = make_client(stub.url, retries=0, threshold=1, cooldown=0.1)
    with pytest.raises(PaymentServiceUnavailable):
        client.get_payment(41)
    stub.behaviour.status, stub.behaviour.body, stub.behaviour.delay = 200, payment_json(), 0.2
    time.sleep(0.15)

    trial = {}
    thread = threading.Thread(target=lambda: trial.update(payment=client.get_payment(41)))
    thread.start()
    wait_for(lambda: len(stub.received) == 2)
    error = timed(get(client))[1]
    thread.join(timeout=5)

    assert isinstance(error, PaymentServiceUnavailable) and error.details == {"circuit": "half_open"}
    assert trial["payment"].id == 41
    assert len(stub.received) == 2
    assert client.circuit.state == CircuitBreaker.CLOSED


def test_the_breaker_counts_failures_from_many_threads_exactly():
    circuit = CircuitBreaker(threshold=1000, cooldown=60)
    threads = [
        threading.Thread(target=lambda: [circuit.record_failure() for _ in range(50)]) for _ in range(10)
    ]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert circuit.snapshot()["consecutive_failures"] == 500
    assert circuit.state == CircuitBreaker.CLOSED
    circuit.record_failure()
    assert circuit.snapshot()["consecutive_failures"] == 501
    circuit.record_success()
    assert circuit.snapshot()["consecutive_failures"] == 0
