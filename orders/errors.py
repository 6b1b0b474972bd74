from core.errors import Conflict, DomainError


class InvalidOrderLines(DomainError):
    code = "invalid"
    default_message = "Some order lines are invalid."


class OrderNotCancellable(Conflict):
    code = "order_not_cancellable"
    default_message = "Only a pending order can be cancelled."


class OrderPaid(Conflict):
    code = "order_paid"
    default_message = "A paid order cannot be deleted."
