from dataclasses import fields
from datetime import date

import pytest

from payments.cards import Card, card_brand, card_check, luhn_valid
from payments.errors import InvalidCard

TODAY = date(2026, 6, 15)


def check(**overrides):
    card = {"number": "4242424242424242", "cvc": "123", "expiry": "12/30", **overrides}
    return card_check(**card, today=TODAY)


def field_errors(**overrides) -> dict:
    with pytest.raises(InvalidCard) as error:
        check(**overrides)
    return error.value.fields


@pytest.mark.parametrize(
    "number", ["4242424242424242", "5555555555554444", "378282246310005", "6011111111111117", "79927398713"]
)
def test_luhn_accepts_valid_numbers(number):
    assert luhn_valid(number)


@pytest.mark.parametrize("number", ["4242424242424241", "5555555555554445", "79927398710"])
def test_luhn_refuses_a_wrong_check_digit(number):
    assert not luhn_valid(number)


@pytest.mark.parametrize(
    ("number", "brand"),
    [
        ("4242424242424242", "visa"),
        ("5555555555554444", "mastercard"),
        ("2223003122003222", "mastercard"),
        ("378282246310005", "amex"),
        ("6011111111111117", "discover"),
        ("3056930009020004", "other"),
    ],
)
def test_the_brand_comes_from_the_leading_digits(number, brand):
    assert card_brand(number) == brand


def test_a_valid_card_gives_its_brand_and_last_four_digits_only():
    card = check(number="4242 4242-4242 4242", cvc="1234")
    assert card == Card(brand="visa", last4="4242", declined=False)
    assert [field.name for field in fields(Card)] == ["brand", "last4", "declined"]


def test_the_documented_test_card_is_valid_but_declined():
    assert check(number="4000 0000 0000 0002").declined


def test_a_card_is_valid_until_the_end_of_its_expiry_month():
    assert check(expiry="06/26").last4 == "4242"
    assert field_errors(expiry="05/26") == {"expiry": ["This card has expired."]}


@pytest.mark.parametrize("expiry", ["13/30", "00/30", "1/30", "12/2030", "12-30", ""])
def test_an_expiry_not_in_mm_yy_is_refused(expiry):
    assert field_errors(expiry=expiry) == {"expiry": ["Enter the expiry date as MM/YY."]}


@pytest.mark.parametrize("cvc", ["12", "12345", "12a", "", "\u0661\u0662\u0663"])
def test_a_cvc_must_be_three_or_four_digits(cvc):
    assert list(field_errors(cvc=cvc)) == ["cvc"]


@pytest.mark.parametrize(
    "number", ["4242", "42424242424242424242", "4242x24242424242", "", "\uff14\uff12" * 8]
)
def test_a_card_number_must_be_12_to_19_digits(number):
    assert field_errors(number=number) == {"card_number": ["Enter the card number: 12 to 19 digits."]}


def test_every_bad_field_is_reported_at_once_without_echoing_the_number():
    errors = field_errors(number="4242424242424241", cvc="1", expiry="01/20")
    assert errors == {
        "card_number": ["This card number is not valid."],
        "cvc": ["Enter the card's security code: 3 or 4 digits."],
        "expiry": ["This card has expired."],
    }
    assert "4242424242424241" not in str(errors)
