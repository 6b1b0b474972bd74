"""What the payments service refuses, each with a stable code in the one error shape (core.errors)."""

from rest_framework import status

from core.errors import Conflict, DomainError


class InvalidCard(DomainError):
    code = "invalid_card"
    default_message = "The card details are not valid."


class CardDeclined(DomainError):
    status_code = status.HTTP_402_PAYMENT_REQUIRED
    code = "card_declined"
    default_message = "The card was declined; the payment may be retried with another card."


class AlreadyPaid(Conflict):
    code = "already_paid"
    default_message = "This payment is already paid; nothing was charged."


class NotPayable(Conflict):
    code = "not_payable"
    default_message = "This payment can no longer be paid (refunded, or replaced by another payment)."


class NotRefundable(Conflict):
    code = "not_refundable"
    default_message = "Only a paid payment can be refunded."
