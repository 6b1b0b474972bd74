"""Schemathesis against the store's OpenAPI schema: every operation, as every role and anonymously.

The requests follow the schema `/api/v1/schema/` serves, and break it on purpose: missing, mistyped,
out-of-range and oversized parameters and fields (the coverage phase, for managers, who get past every
permission check to the validation behind it), then random valid and invalid requests for every role.
Every answer must be documented: never a 5xx, a documented status, content type and body. Half of
the JSON bodies get characters no column can hold (NUL, lone surrogates) in their text.

Random ids would almost never name a row, so about half of the valid ids are made to name rows of a
small store (articles, orders in each state, users), and valid payment events are signed as the
payments service signs them, so that the doors' deeper paths are fuzzed too. The store talks to the
real payments service (on a local port, as deployed), so its 503 `payments_unavailable` is a failure
here like any other 5xx.
"""

import json
import random
import time
from dataclasses import dataclass
from datetime import date
from decimal import Decimal

import pytest
import requests
from django.conf import settings
from django.test import override_settings
from rest_framework.authtoken.models import Token
from schemathesis import GenerationMode
from schemathesis.core.parameters import ParameterLocation

from articles.models import Article
from articles.tests.factories import ArticleFactory
from core.signing import SIGNATURE_HEADER, TIMESTAMP_HEADER, payment_event_signature
from orders import payments_client
from orders.models import Order
from orders.reconciliation import order_sync_payment
from orders.services import order_cancel, order_create, order_request_payment
from orders.tests.payments_service import running_payments_service
from orders.tests.payments_stub import refused_url
from stocks.models import StockMovement
from stocks.services import stock_restock
from users.models import Role, User
from users.tests.factories import UserFactory

from .fuzzing import RESPONSE_CHECKS, fuzz_settings, in_process_app, openapi_schema

EDGES_AND_FUZZ = openapi_schema(phases=["coverage", "fuzzing"])
FUZZ = openapi_schema(phases=["fuzzing"])

# Which rows a path's ids name.
ROWS_BY_PATH = {
    "/api/v1/articles/": "articles",
    "/api/v1/stocks/": "articles",
    "/api/v1/orders/": "orders",
    "/api/v1/users/": "users",
}
PAYMENT_EVENTS = "POST /api/v1/orders/{order_id}/payment-events/"
ODD_CHARACTERS = ["\x00", "\ud800", "\udfff", "\u202e"]
CARD = {"card_number": "4242 4242 4242 4242", "cvc": "123", "expiry": f"12/{(date.today().year + 2) % 100}"}


@pytest.fixture(scope="module")
def payments():
    """The real payments service; the store's notifications it sends go nowhere (none is needed)."""
    with (
        refused_url() as nowhere,
        running_payments_service(store_url=nowhere) as service,
        override_settings(PAYMENTS_URL=service.api_root),
    ):
        yield service


@pytest.fixture
def wsgi_app():
    with in_process_app() as app:
        yield app


@dataclass(frozen=True)
class Store:
    rows: dict[str, list[int]]  # "articles", "on_sale", "orders", "users", "customers": ids that exist
    tokens: dict[str, str]  # role: API token


@pytest.fixture(scope="module")
def store(payments, django_db_setup, django_db_blocker) -> Store:
    """A small store: articles with and without capacity or sales, orders pending, paid and cancelled.

    Committed once for the module (each test's requests are rolled back with its transaction), and
    deleted at the end.
    """
    with django_db_blocker.unblock():
        payments_client.reset_breaker()
        store = _small_store()
        try:
            yield store
        finally:
            StockMovement.objects.filter(article_id__in=store.rows["articles"]).delete()
            Order.objects.filter(pk__in=store.rows["orders"]).delete()
            Article.objects.filter(pk__in=store.rows["articles"]).delete()
            User.objects.filter(pk__in=store.rows["users"]).delete()


def _small_store() -> Store:
    users = {role: UserFactory(role=role, username=role) for role in Role}
    clerk, customer = users[Role.CLERK], users[Role.CUSTOMER]

    def article(units, **fields):
        article = ArticleFactory(**fields)
        if units:
            stock_restock(article_id=article.pk, quantity=units, reference="first", user=clerk)
        return article

    def place(article, quantity):
        lines = [{"article": article.pk, "quantity": quantity}]
        return order_create(customer=customer, lines=lines, created_by=clerk)

    tea = article(20, price=Decimal("4.50"), stock__min_quantity=5)
    mug = article(4, price=Decimal("7.00"), stock__max_quantity=6)
    retired = article(0, is_active=False)
    pending, paid, cancelled = place(tea, 2), place(mug, 1), place(tea, 1)
    paying = requests.post(order_request_payment(order_id=paid.pk).pay_url, json=CARD, timeout=10)
    assert paying.status_code == 200, paying.text
    assert order_sync_payment(order_id=paid.pk) == "paid"
    order_cancel(order_id=cancelled.pk, user=clerk)
    return Store(
        rows={
            "articles": [tea.pk, mug.pk, retired.pk],
            "on_sale": [tea.pk, mug.pk],
            "orders": [pending.pk, paid.pk, cancelled.pk],
            "users": [users[role].pk for role in (Role.CUSTOMER, Role.SUPPLIER, Role.CLERK, Role.MANAGER)],
            "customers": [customer.pk],
        },
        tokens={role: Token.objects.create(user=user).key for role, user in users.items()},
    )


def _row(value, rows: list[int]):
    """An existing row for an even whole number (so about half of the valid ids name a row, the other
    half most likely none); anything else is left as it is."""
    number = value if isinstance(value, int) and not isinstance(value, bool) else None
    if isinstance(value, str) and value.isascii() and value.isdigit():
        number = int(value)
    if number is None or number % 2:
        return value
    row = rows[number // 2 % len(rows)]
    return str(row) if isinstance(value, str) else row


def _generated(case, location: ParameterLocation) -> GenerationMode:
    component = case.meta.components.get(location)
    return component.mode if component is not None else case.meta.generation.mode


def _aim_at_rows(case, store: Store) -> None:
    """Valid ids in the path name existing rows about half of the time, and so does an order's
    customer: the order's lines then name the articles on sale."""
    kind = next((kind for prefix, kind in ROWS_BY_PATH.items() if case.path.startswith(prefix)), None)
    if case.path_parameters and _generated(case, ParameterLocation.PATH) == GenerationMode.POSITIVE:
        for name, value in case.path_parameters.items():
            case.path_parameters[name] = _row(value, store.rows[kind])
    body = case.body
    if case.operation.label != "POST /api/v1/orders/" or not isinstance(body, dict):
        return
    customer = _row(body.get("customer"), store.rows["customers"])
    if customer == body.get("customer"):
        return
    body["customer"] = customer
    lines = body.get("lines") if isinstance(body.get("lines"), list) else []
    for index, line in enumerate(lines):
        if isinstance(line, dict) and "article" in line:
            line["article"] = store.rows["on_sale"][index % len(store.rows["on_sale"])]


def _signed(case) -> dict:
    """A valid payment event as the payments service sends it: the body as sent, and its signature."""
    if case.operation.label != PAYMENT_EVENTS or case.meta.generation.mode != GenerationMode.POSITIVE:
        return {}
    body = json.dumps(case.body).encode()
    timestamp = str(int(time.time()))
    signature = payment_event_signature(
        secret=settings.PAYMENTS_WEBHOOK_SECRET, timestamp=timestamp, body=body
    )
    return {"data": body, "headers": {TIMESTAMP_HEADER: timestamp, SIGNATURE_HEADER: signature}}


def _with_odd_text(value, chance: random.Random):
    """`value` with, in about one string of three, a character no column can hold (NUL, a lone
    surrogate) or a bidirectional override put in; the same for the same value."""
    if isinstance(value, dict):
        return {key: _with_odd_text(item, chance) for key, item in value.items()}
    if isinstance(value, list):
        return [_with_odd_text(item, chance) for item in value]
    if isinstance(value, str) and chance.random() < 1 / 3:
        at = chance.randint(0, len(value))
        return value[:at] + chance.choice(ODD_CHARACTERS) + value[at:]
    return value


def _odd(case) -> dict:
    """Half of the JSON bodies, chosen by their content, sent with odd text (encoded here: JSON escapes
    the surrogates, which UTF-8 cannot encode, and the case keeps the body Schemathesis made)."""
    chance = random.Random(json.dumps(case.body, sort_keys=True, default=str))
    if not isinstance(case.body, dict | list) or chance.random() < 0.5:
        return {}
    body = json.dumps(_with_odd_text(case.body, chance)).encode()
    return {"data": body, "headers": {"Content-Type": "application/json"}}


def check(case, app, store: Store, role: str | None) -> None:
    """Send the case as `role` (anonymous: the generated credentials, if any) and check the answer."""
    _aim_at_rows(case, store)
    sent = _signed(case) or _odd(case)
    headers = sent.pop("headers", {})
    if role is not None:
        headers["Authorization"] = f"Token {store.tokens[role]}"
    case.call_and_validate(app=app, headers=headers, checks=RESPONSE_CHECKS, **sent)


@EDGES_AND_FUZZ.parametrize()
@fuzz_settings(max_examples=25)
def test_a_managers_requests_get_documented_answers(case, db, wsgi_app, store):
    check(case, wsgi_app, store, "manager")


@FUZZ.parametrize()
@fuzz_settings(max_examples=12)
def test_a_clerks_requests_get_documented_answers(case, db, wsgi_app, store):
    check(case, wsgi_app, store, "clerk")


@FUZZ.parametrize()
@fuzz_settings(max_examples=10)
def test_a_suppliers_requests_get_documented_answers(case, db, wsgi_app, store):
    check(case, wsgi_app, store, "supplier")


@FUZZ.parametrize()
@fuzz_settings(max_examples=8)
def test_a_customers_requests_get_documented_answers(case, db, wsgi_app, store):
    check(case, wsgi_app, store, "customer")


@FUZZ.parametrize()
@fuzz_settings(max_examples=5)
def test_anonymous_requests_get_documented_answers(case, db, wsgi_app, store):
    check(case, wsgi_app, store, None)
