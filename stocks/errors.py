from core.errors import Conflict, DomainError


class InsufficientStock(Conflict):
    code = "insufficient_stock"
    default_message = "Not enough stock for some lines; nothing was taken."


class StockLimitExceeded(Conflict):
    code = "stock_limit_exceeded"
    default_message = "The stock would pass its maximum quantity."


class InvalidQuantity(DomainError):
    code = "invalid_quantity"
    default_message = "Quantities must be whole numbers of units within the allowed range."


class InvalidStockLimits(DomainError):
    code = "invalid"
    default_message = "min_quantity cannot be greater than max_quantity."


class DeliveryRefused(DomainError):
    """Every problem of a delivery by SKU at once, in `details["problems"]`: one per line and field
    at fault, each `{"place", "field", "code", "message"}` (stocks.services.stock_deliver)."""

    code = "delivery_refused"
    default_message = "Nothing was booked: some lines of the delivery are wrong."
