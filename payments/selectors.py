from django.db.models import QuerySet

from core.errors import NotFound

from .models import Payment


def payment_get(*, payment_id: int) -> Payment:
    payment = Payment.objects.filter(pk=payment_id).first()
    if payment is None:
        raise NotFound("No such payment.")
    return payment


def payment_get_for_payer(*, payment_id: int, secret: str) -> Payment:
    """The payment a pay_url names; a wrong secret is answered as an unknown payment."""
    payment = Payment.objects.filter(pk=payment_id).first()
    if payment is None or not payment.secret_matches(secret):
        raise NotFound("No such payment.")
    return payment


def payment_list(*, order_id: int) -> QuerySet[Payment]:
    """Every payment of an order, the newest first (at most one of them is live)."""
    return Payment.objects.filter(order_id=order_id).order_by("-id")
