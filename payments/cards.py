"""What a card must look like before a charge is tried, and what the (simulated) issuer answers.

The full number and the CVC go no further than this module: callers get the brand and the last
four digits only, so nothing downstream can store or log them by accident.
"""

import re
from dataclasses import dataclass
from datetime import date

from .errors import InvalidCard

# Documented test card: valid in every respect, always declined by the issuer.
DECLINED_TEST_CARD = "4000000000000002"

_SEPARATORS = re.compile(r"[ -]")
_DIGITS = re.compile(r"[0-9]{12,19}")
_CVC = re.compile(r"[0-9]{3,4}")
_EXPIRY = re.compile(r"(0[1-9]|1[0-2])/([0-9]{2})")

# Prefix ranges (inclusive) per brand, checked on the leading digits.
_BRANDS = [
    ("amex", [(34, 34), (37, 37)]),
    ("visa", [(4, 4)]),
    ("mastercard", [(51, 55), (2221, 2720)]),
    ("discover", [(6011, 6011), (644, 649), (65, 65)]),
]


@dataclass(frozen=True)
class Card:
    brand: str
    last4: str
    declined: bool


def luhn_valid(digits: str) -> bool:
    total = 0
    for position, digit in enumerate(reversed(digits)):
        value = int(digit)
        if position % 2 == 1:
            value = value * 2 - 9 if value > 4 else value * 2
        total += value
    return total % 10 == 0


def card_brand(digits: str) -> str:
    for brand, ranges in _BRANDS:
        for low, high in ranges:
            prefix = int(digits[: len(str(low))])
            if low <= prefix <= high:
                return brand
    return "other"


def card_check(*, number: str, cvc: str, expiry: str, today: date) -> Card:
    """The card's brand, last digits and issuer answer; InvalidCard (400, per field) when malformed.

    A card stays valid until the end of its expiry month.
    """
    errors: dict[str, list[str]] = {}
    digits = _SEPARATORS.sub("", number)
    if not _DIGITS.fullmatch(digits):
        errors["card_number"] = ["Enter the card number: 12 to 19 digits."]
    elif not luhn_valid(digits):
        errors["card_number"] = ["This card number is not valid."]
    if not _CVC.fullmatch(cvc):
        errors["cvc"] = ["Enter the card's security code: 3 or 4 digits."]
    match = _EXPIRY.fullmatch(expiry.strip())
    if match is None:
        errors["expiry"] = ["Enter the expiry date as MM/YY."]
    elif (2000 + int(match[2]), int(match[1])) < (today.year, today.month):
        errors["expiry"] = ["This card has expired."]
    if errors:
        raise InvalidCard(fields=errors)
    return Card(brand=card_brand(digits), last4=digits[-4:], declined=digits == DECLINED_TEST_CARD)
