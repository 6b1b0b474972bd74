"""Full card numbers and CVCs are never stored nor logged: only the brand and the last 4 digits."""

import logging

import pytest
from django.db import connection
from rest_framework.test import APIClient

from .helpers import DECLINED_CARD, GOOD_CARD

pytestmark = pytest.mark.django_db

EXPIRED_CARD = {"card_number": "5555 5555 5555 4444", "cvc": "4321", "expiry": "01/21"}
FULL_NUMBERS = ["4242424242424242", "4000000000000002", "5555555555554444"]


def database_dump() -> str:
    """Every value of every table of the payments database, as text."""
    values = []
    with connection.cursor() as cursor:
        for table in connection.introspection.table_names():
            cursor.execute(f"SELECT * FROM {connection.ops.quote_name(table)}")
            values += [str(value) for row in cursor.fetchall() for value in row]
    return "\n".join(values)


def test_card_numbers_are_in_no_row_log_line_query_nor_answer(
    new_payment, caplog, django_capture_on_commit_callbacks
):
    caplog.set_level(logging.DEBUG)
    caplog.set_level(logging.DEBUG, logger="django")
    connection.force_debug_cursor = True  # every SQL statement and its parameters are logged too
    try:
        payment = new_payment()
        url = f"/api/v1/payments/{payment.pk}/pay/{payment.secret}/"
        client = APIClient()
        with django_capture_on_commit_callbacks(execute=True):
            answers = [
                client.post(url, card, format="json") for card in (EXPIRED_CARD, DECLINED_CARD, GOOD_CARD)
            ]
            answers.append(client.post(url, GOOD_CARD, format="json"))
    finally:
        connection.force_debug_cursor = False

    assert [answer.status_code for answer in answers] == [400, 402, 200, 409]
    dump = database_dump()
    assert payment.secret in dump and "4242" in dump  # the dump does see the payment row
    assert "payments_payment" in caplog.text  # and the SQL was logged
    assert "notification" in caplog.text.lower()  # as was the attempt to notify the store
    texts = {
        "database": dump,
        "logs": caplog.text,
        "answers": "".join(answer.content.decode() for answer in answers),
    }
    for number in FULL_NUMBERS:
        for spelling in (number, " ".join(number[i : i + 4] for i in range(0, 16, 4))):
            for where, text in texts.items():
                assert spelling not in text, f"a card number in the {where}"
    # The CVC, as a whole value (its digits alone may well appear inside a timestamp or the secret).
    assert "4321" not in dump.split("\n")
    for quoted in ("'4321'", '"4321"'):
        assert quoted not in caplog.text and quoted not in texts["answers"]
