import io

import pytest
from django.core.management import CommandError, call_command

from stocks.models import MovementKind, Stock, StockMovement

from .invariants import assert_stock_matches_ledger

pytestmark = pytest.mark.django_db


def restock(*args) -> str:
    out = io.StringIO()
    call_command("restock", *args, stdout=out)
    return out.getvalue()


def delivery(tmp_path, text: str):
    path = tmp_path / "delivery-42.csv"
    path.write_text(text, encoding="utf-8")
    return str(path)


def quantities(*articles) -> list[int]:
    return [Stock.objects.get(article=article).quantity for article in articles]


def test_restocking_one_sku_books_a_manual_ledger_line(stocked_article):
    article = stocked_article(quantity=3, sku="TEA-1")

    output = restock("TEA-1", "5")

    assert quantities(article) == [8]
    movement = StockMovement.objects.filter(article=article).latest("id")
    assert (movement.delta, movement.kind, movement.reference) == (5, MovementKind.RESTOCK, "manual")
    assert "TEA-1: +5, now 8" in output


def test_restocking_one_sku_keeps_the_given_reference(stocked_article):
    article = stocked_article(quantity=0, sku="TEA-1")

    restock("TEA-1", "2", "--reference", "DN-9")

    assert StockMovement.objects.get(article=article).reference == "DN-9"


@pytest.mark.parametrize(
    ("sku", "quantity", "message"),
    [
        ("NOPE", "5", "unknown sku 'NOPE'"),
        ("TEA-1", "0", "quantity '0' is not a whole number"),
        ("TEA-1", "-3", "quantity '-3' is not a whole number"),
        ("TEA-1", "2.5", "quantity '2.5' is not a whole number"),
    ],
)
def test_restocking_one_sku_refuses_bad_input(stocked_article, sku, quantity, message):
    article = stocked_article(quantity=3, sku="TEA-1")

    with pytest.raises(CommandError, match=message):
        restock(sku, quantity)
    assert quantities(article) == [3]


def test_a_csv_delivery_books_every_row_under_the_files_name(tmp_path, stocked_article):
    tea, mug = stocked_article(quantity=1, sku="TEA-1"), stocked_article(quantity=0, sku="MUG-1")

    restock("--csv", delivery(tmp_path, "sku,quantity\nTEA-1,4\n\nMUG-1, 10\n"))

    assert quantities(tea, mug) == [5, 10]
    references = set(StockMovement.objects.filter(delta__in=[4, 10]).values_list("reference", flat=True))
    assert references == {"csv:delivery-42.csv"}
    assert_stock_matches_ledger()


def test_a_csv_delivery_with_bad_rows_books_nothing_and_names_every_bad_row(tmp_path, stocked_article):
    tea, mug = stocked_article(quantity=1, sku="TEA-1"), stocked_article(quantity=1, sku="MUG-1")
    rows = "sku,quantity\nTEA-1,4\nNOPE,1\nMUG-1,many\nTEA-1,2\nMUG-1,0\n"

    with pytest.raises(CommandError) as refused:
        restock("--csv", delivery(tmp_path, rows))

    assert str(refused.value).splitlines() == [
        "Nothing was booked:",
        "row 3: unknown sku 'NOPE'.",
        "row 4: quantity 'many' is not a whole number from 1 to 1000000.",
        "row 5: sku 'TEA-1' already appears on row 2.",
        "row 6: sku 'MUG-1' already appears on row 4.",
        "row 6: quantity '0' is not a whole number from 1 to 1000000.",
    ]
    assert quantities(tea, mug) == [1, 1]
    assert StockMovement.objects.count() == 2


def test_a_csv_delivery_past_an_articles_capacity_books_nothing(tmp_path, stocked_article):
    tea = stocked_article(quantity=1, sku="TEA-1")
    mug = stocked_article(quantity=8, sku="MUG-1", stock__max_quantity=10)

    with pytest.raises(CommandError) as refused:
        restock("--csv", delivery(tmp_path, "sku,quantity\nTEA-1,4\nMUG-1,3\n"))

    assert "row 3: MUG-1 holds 8; 3 more would pass its maximum of 10." in str(refused.value)
    assert quantities(tea, mug) == [1, 8]


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("article,count\nTEA-1,4\n", "the first row must be the header `sku,quantity`"),
        ("sku,quantity\n", "has no delivery rows"),
    ],
)
def test_a_csv_file_without_header_or_rows_is_refused(tmp_path, text, message):
    with pytest.raises(CommandError, match=message):
        restock("--csv", delivery(tmp_path, text))


def test_the_command_wants_either_one_sku_or_a_csv_file(tmp_path):
    with pytest.raises(CommandError, match="not both"):
        restock("TEA-1", "4", "--csv", delivery(tmp_path, "sku,quantity\n"))
    with pytest.raises(CommandError, match="Give SKU QUANTITY"):
        restock("TEA-1")
