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
