from decimal import Decimal

import pytest
from django.db import IntegrityError, transaction
from django.db.models import ProtectedError

from core.errors import DomainError, NotFound
from core.idempotency_keys import IdempotencyKeyReused, InvalidIdempotencyKey
from payments import services
from payments.errors import (
    AlreadyPaid,
    CardDeclined,
    InvalidCard,
    NotPayable,
    NotRefundable,
)
from payments.models import Notification, Payment, PaymentEvent, PaymentStatus

from .helpers import DECLINED_CARD, GOOD_CARD, pay

pytestmark = pytest.mark.django_db

REQUEST = {"order_id": 41, "customer_id": 7, "amount": Decimal("12.30"), "currency": "CAD"}


def statuses(payment) -> list[str]:
    return list(payment.events.values_list("status", flat=True))


# --- create ----------------------------------------------------------------------------------------


def test_a_new_payment_is_pending_live_and_has_a_random_secret():
    answer = services.payment_create(**REQUEST, idempotency_key="k-1")
    payment = answer.payment
    assert (answer.created, answer.replayed) == (True, False)
    assert payment.status == PaymentStatus.PENDING
    assert payment.live_order_id == 41
    assert len(payment.secret) >= 40
    assert payment.pay_path == f"/payments/{payment.pk}/pay/{payment.secret}/"
    assert statuses(payment) == ["pending"]
    assert services.payment_create(**{**REQUEST, "order_id": 42}).payment.secret != payment.secret


def test_the_same_key_and_body_answer_the_first_payment_and_create_nothing():
    first = services.payment_create(**REQUEST, idempotency_key="k-1").payment
    again = services.payment_create(**{**REQUEST, "amount": Decimal("12.3")}, idempotency_key="k-1")
    assert (again.payment, again.created, again.replayed) == (first, True, True)
    assert Payment.objects.count() == 1
    assert PaymentEvent.objects.count() == 1


@pytest.mark.parametrize(
    "change", [{"amount": Decimal("12.31")}, {"customer_id": 8}, {"order_id": 42}, {"currency": "USD"}]
)
def test_the_same_key_with_another_body_is_refused_and_changes_nothing(change):
    services.payment_create(**REQUEST, idempotency_key="k-1")
    with pytest.raises(IdempotencyKeyReused):
        services.payment_create(**{**REQUEST, **change}, idempotency_key="k-1")
    assert Payment.objects.count() == 1


def test_another_request_for_an_order_answers_its_live_payment():
    first = services.payment_create(**REQUEST, idempotency_key="k-1").payment
    for key in ("k-2", None):
        answer = services.payment_create(**REQUEST, idempotency_key=key)
        assert (answer.payment, answer.created, answer.replayed) == (first, False, False)
    assert Payment.objects.count() == 1


def test_a_paid_order_keeps_answering_its_paid_payment():
    paid = pay(services.payment_create(**REQUEST).payment)
    assert services.payment_create(**REQUEST, idempotency_key="k-9").payment == paid


@pytest.mark.parametrize("amount", [Decimal("0"), Decimal("-1.00")])
def test_the_amount_must_be_positive(amount):
    with pytest.raises(DomainError) as error:
        services.payment_create(**{**REQUEST, "amount": amount})
    assert error.value.fields == {"amount": ["The amount must be greater than zero."]}
    assert not Payment.objects.exists()


@pytest.mark.parametrize("key", ["", "x" * 256, "tab\there"])
def test_a_malformed_idempotency_key_is_refused(key):
    with pytest.raises(InvalidIdempotencyKey):
        services.payment_create(**REQUEST, idempotency_key=key)


# --- process ---------------------------------------------------------------------------------------


def test_paying_marks_the_payment_paid_keeps_brand_and_last_digits_and_queues_a_notification(new_payment):
    payment = pay(new_payment())
    payment.refresh_from_db()
    assert payment.status == PaymentStatus.PAID
    assert (payment.card_brand, payment.card_last4) == ("visa", "4242")
    assert payment.live_order_id == payment.order_id
    assert statuses(payment) == ["pending", "paid"]
    notification = Notification.objects.get(payment=payment)
    paid_at = payment.events.get(status="paid").at
    assert notification.payload == {
        "payment_id": payment.pk,
        "order_id": payment.order_id,
        "status": "paid",
        "amount": "25.50",
        "currency": "CAD",
        "occurred_at": paid_at.isoformat(),
    }


def test_the_test_card_is_declined_the_payment_fails_and_may_be_paid_again(new_payment):
    payment = new_payment()
    with pytest.raises(CardDeclined) as error:
        pay(payment, DECLINED_CARD)
    assert error.value.details == {"payment": payment.pk, "status": "failed"}
    payment.refresh_from_db()
    assert (payment.status, payment.live_order_id, payment.card_last4) == ("failed", None, "0002")
    assert not Notification.objects.exists()

    with pytest.raises(CardDeclined):
        pay(payment, DECLINED_CARD)
    assert pay(payment).status == PaymentStatus.PAID
    assert statuses(payment) == ["pending", "failed", "paid"]
    assert Notification.objects.filter(payment=payment).count() == 1


@pytest.mark.parametrize(
    ("card", "field"),
    [
        ({"card_number": "4242 4242 4242 4241"}, "card_number"),
        ({"cvc": "12"}, "cvc"),
        ({"expiry": "01/20"}, "expiry"),
        ({"expiry": "2030-12"}, "expiry"),
    ],
)
def test_bad_card_input_is_refused_per_field_and_changes_nothing(new_payment, card, field):
    payment = new_payment()
    with pytest.raises(InvalidCard) as error:
        pay(payment, {**GOOD_CARD, **card})
    assert list(error.value.fields) == [field]
    payment.refresh_from_db()
    assert (payment.status, payment.card_last4) == ("pending", "")
    assert statuses(payment) == ["pending"]


def test_paying_a_paid_payment_charges_nothing(new_payment):
    payment = pay(new_payment())
    with pytest.raises(AlreadyPaid):
        pay(payment, {**GOOD_CARD, "card_number": "5555 5555 5555 4444"})
    payment.refresh_from_db()
    assert payment.card_brand == "visa"
    assert statuses(payment) == ["pending", "paid"]
    assert Notification.objects.count() == 1


def test_a_wrong_secret_is_an_unknown_payment(new_payment):
    payment = new_payment()
    with pytest.raises(NotFound):
        services.payment_process(payment_id=payment.pk, secret=payment.secret[:-1] + "x", **GOOD_CARD)
    with pytest.raises(NotFound):
        services.payment_process(payment_id=payment.pk + 1000, secret=payment.secret, **GOOD_CARD)
    payment.refresh_from_db()
    assert payment.status == PaymentStatus.PENDING


def test_a_refunded_payment_cannot_be_paid_again(new_payment):
    payment = pay(new_payment())
    services.payment_refund(payment_id=payment.pk)
    with pytest.raises(NotPayable):
        pay(payment)
    assert statuses(payment) == ["pending", "paid", "refunded"]


def test_a_failed_payment_replaced_by_a_new_one_cannot_be_paid_as_well(new_payment):
    failed = new_payment(order_id=77)
    with pytest.raises(CardDeclined):
        pay(failed, DECLINED_CARD)
    replacement = services.payment_create(order_id=77, customer_id=7, amount=Decimal("25.50"))
    assert replacement.created and replacement.payment != failed

    with pytest.raises(NotPayable):
        pay(failed)
    failed.refresh_from_db()
    assert failed.status == PaymentStatus.FAILED
    assert pay(replacement.payment).status == PaymentStatus.PAID


# --- refund ----------------------------------------------------------------------------------------


def test_refunding_a_paid_payment_frees_its_order(new_payment):
    payment = pay(new_payment(order_id=88))
    refunded = services.payment_refund(payment_id=payment.pk)
    assert (refunded.status, refunded.live_order_id) == ("refunded", None)
    assert statuses(payment) == ["pending", "paid", "refunded"]
    assert services.payment_create(order_id=88, customer_id=7, amount=Decimal("1.00")).created


def test_refunding_twice_changes_nothing_the_second_time(new_payment):
    payment = pay(new_payment())
    first = services.payment_refund(payment_id=payment.pk)
    second = services.payment_refund(payment_id=payment.pk)
    assert (second.status, second.updated_at) == ("refunded", first.updated_at)
    assert statuses(payment) == ["pending", "paid", "refunded"]
    assert [n.payload["status"] for n in Notification.objects.filter(payment=payment).order_by("pk")] == [
        "paid",
        "refunded",
    ]


def test_a_refund_is_notified_to_the_store_as_a_payment_is(new_payment):
    payment = pay(new_payment(order_id=91))

    services.payment_refund(payment_id=payment.pk)

    refund = Notification.objects.filter(payment=payment).order_by("pk").last()
    assert refund.payload == {
        "payment_id": payment.pk,
        "order_id": 91,
        "status": "refunded",
        "amount": str(payment.amount),
        "currency": payment.currency,
        "occurred_at": refund.payload["occurred_at"],
    }


def test_only_a_paid_payment_can_be_refunded(new_payment):
    pending = new_payment()
    failed = new_payment()
    with pytest.raises(CardDeclined):
        pay(failed, DECLINED_CARD)
    for payment in (pending, failed):
        with pytest.raises(NotRefundable):
            services.payment_refund(payment_id=payment.pk)
    with pytest.raises(NotFound):
        services.payment_refund(payment_id=failed.pk + 1000)
    assert Payment.objects.filter(status="refunded").count() == 0


# --- events and constraints --------------------------------------------------------------------------


def test_every_state_change_is_an_event_with_status_and_amount(new_payment):
    payment = new_payment(amount=Decimal("9.99"))
    with pytest.raises(CardDeclined):
        pay(payment, DECLINED_CARD)
    pay(payment)
    services.payment_refund(payment_id=payment.pk)
    events = list(payment.events.all())
    assert [(event.status, event.amount) for event in events] == [
        ("pending", Decimal("9.99")),
        ("failed", Decimal("9.99")),
        ("paid", Decimal("9.99")),
        ("refunded", Decimal("9.99")),
    ]
    assert [event.at for event in events] == sorted(event.at for event in events)


def test_a_payment_with_events_cannot_be_deleted(new_payment):
    payment = new_payment()
    with pytest.raises(ProtectedError):
        payment.delete()


def test_the_database_allows_one_live_payment_per_order():
    Payment.objects.create(order_id=5, customer_id=1, amount=1, live_order_id=5)
    Payment.objects.create(order_id=5, customer_id=1, amount=1, status="failed")
    with pytest.raises(IntegrityError), transaction.atomic():
        Payment.objects.create(order_id=5, customer_id=1, amount=1, live_order_id=5)


@pytest.mark.parametrize(
    "fields",
    [
        {"status": "pending", "live_order_id": None},
        {"status": "paid", "live_order_id": 6},
        {"status": "refunded", "live_order_id": 5},
        {"status": "pending", "live_order_id": 5, "amount": 0},
        {"status": "lost", "live_order_id": None},
    ],
)
def test_the_database_refuses_inconsistent_rows(fields):
    with pytest.raises(IntegrityError), transaction.atomic():
        Payment.objects.create(**{"order_id": 5, "customer_id": 1, "amount": 1, **fields})
