"""Schemathesis against the payments service's OpenAPI schema: as the store, and as anyone else.

As the store (its service token) every operation gets the schema's edge and invalid values (the
coverage phase) and random valid and invalid requests; without the token, random requests only, the
paying client's door included. Every answer must be documented: never a 5xx, a documented status,
content type and body.

Half of the valid payment ids name one of a few payments (pending, paid, failed, refunded), with that
payment's own secret in a pay_url, and half of the valid cards are a card that pays or the test card
that is always declined, so that paying, declining and refunding are fuzzed too, not only "not
found" and "invalid card".
"""

import pytest
from django.conf import settings
from schemathesis import GenerationMode
from schemathesis.core.parameters import ParameterLocation

from core.tests.fuzzing import RESPONSE_CHECKS, fuzz_settings, in_process_app, openapi_schema
from payments import services
from payments.errors import CardDeclined

from .helpers import DECLINED_CARD, GOOD_CARD, pay

EDGES_AND_FUZZ = openapi_schema(phases=["coverage", "fuzzing"])
FUZZ = openapi_schema(phases=["fuzzing"])


@pytest.fixture
def wsgi_app():
    with in_process_app() as app:
        yield app


@pytest.fixture
def payments(new_payment) -> list:
    """One payment in each status: pending, paid, failed (declined card), refunded."""
    pending, paid, failed, refunded = (new_payment() for _ in range(4))
    pay(paid)
    pay(refunded)
    services.payment_refund(payment_id=refunded.pk)
    with pytest.raises(CardDeclined):
        pay(failed, DECLINED_CARD)
    return [pending, paid, failed, refunded]


def _even(value) -> int | None:
    """`value` as a whole number when it is an even one (a valid id or card half of the time)."""
    if isinstance(value, str) and value.isascii() and value.isdigit():
        value = int(value)
    if isinstance(value, int) and not isinstance(value, bool) and value % 2 == 0:
        return value
    return None


def _generated(case, location: ParameterLocation) -> GenerationMode:
    component = case.meta.components.get(location)
    return component.mode if component is not None else case.meta.generation.mode


def _aim_at_payments(case, payments: list) -> None:
    """Valid ids name existing payments (and their secret) about half of the time, and so do the
    orders listed; a valid card number of an even length becomes a card that pays or is declined."""
    path = case.path_parameters or {}
    number = _even(path.get("payment_id"))
    if number is not None and _generated(case, ParameterLocation.PATH) == GenerationMode.POSITIVE:
        payment = payments[number // 2 % len(payments)]
        path["payment_id"] = payment.pk
        if "secret" in path:
            path["secret"] = payment.secret
    order_id = _even((case.query or {}).get("order_id"))
    if order_id is not None and _generated(case, ParameterLocation.QUERY) == GenerationMode.POSITIVE:
        case.query["order_id"] = payments[order_id // 2 % len(payments)].order_id
    body = case.body
    if (
        isinstance(body, dict)
        and isinstance(body.get("card_number"), str)
        and len(body["card_number"]) % 2 == 0
        and _generated(case, ParameterLocation.BODY) == GenerationMode.POSITIVE
    ):
        body.update(DECLINED_CARD if len(body["card_number"]) % 4 == 0 else GOOD_CARD)


def check(case, app, payments: list, *, as_store: bool) -> None:
    _aim_at_payments(case, payments)
    headers = {"Authorization": f"Bearer {settings.PAYMENTS_SERVICE_TOKEN}"} if as_store else {}
    case.call_and_validate(app=app, headers=headers, checks=RESPONSE_CHECKS)


@EDGES_AND_FUZZ.parametrize()
@fuzz_settings(max_examples=40)
def test_the_stores_requests_get_documented_answers(case, wsgi_app, payments):
    check(case, wsgi_app, payments, as_store=True)


@FUZZ.parametrize()
@fuzz_settings(max_examples=25)
def test_requests_without_the_service_token_get_documented_answers(case, wsgi_app, payments):
    check(case, wsgi_app, payments, as_store=False)
