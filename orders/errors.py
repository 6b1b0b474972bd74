from rest_framework import status

from core.errors import Conflict, DomainError


class InvalidOrder(DomainError):
    code = "invalid"
    default_message = "The order's customer or some of its lines are invalid."


class OrderNotCancellable(Conflict):
    code = "order_not_cancellable"
    default_message = "Only a pending order can be cancelled."


class OrderPaid(Conflict):
    code = "order_paid"
    default_message = "A paid order cannot be deleted."


class OrderHasPayment(Conflict):
    code = "order_has_payment"
    default_message = (
        "This order has a payment: cancel it instead, so the payment can still be settled or refunded."
    )


class OrderNotPayable(Conflict):
    code = "order_not_payable"
    default_message = "Only a pending order can be paid."


class PaymentServiceUnavailable(DomainError):
    """The payments service could not be reached, answered too slowly or failed (or its circuit is open)."""

    status_code = status.HTTP_503_SERVICE_UNAVAILABLE
    code = "payments_unavailable"
    default_message = "The payments service is unavailable; please retry later."


class PaymentNotRefundable(Conflict):
    code = "payment_not_refundable"
    default_message = "The payments service refuses to refund this payment: it was never paid."


class PaymentAmountMismatch(Conflict):
    code = "payment_amount_mismatch"
    default_message = "The amount paid is not the order's total."


class PaymentMismatch(Conflict):
    code = "payment_mismatch"
    default_message = "The order is linked to another payment."
