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
        ("NOPE", "5", "No article has SKU 'NOPE'"),
        ("TEA-1", "0", "The quantity '0' is not a whole number"),
        ("TEA-1", "-3", "The quantity '-3' is not a whole number"),
        ("TEA-1", "2.5", "The quantity '2.5' is not a whole number"),
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
        "row 3: No article has SKU 'NOPE'.",
        "row 4: The quantity 'many' is not a whole number from 1 to 1000000.",
        "row 5: SKU 'TEA-1' is already on row 2.",
        "row 6: SKU 'MUG-1' is already on row 4.",
        "row 6: The quantity '0' is not a whole number from 1 to 1000000.",
    ]
    assert quantities(tea, mug) == [1, 1]
    assert StockMovement.objects.count() == 2


def test_a_csv_delivery_past_an_articles_capacity_books_nothing(tmp_path, stocked_article):
    tea = stocked_article(quantity=1, sku="TEA-1")
    mug = stocked_article(quantity=8, sku="MUG-1", stock__max_quantity=10)

    with pytest.raises(CommandError) as refused:
        restock("--csv", delivery(tmp_path, "sku,quantity\nTEA-1,4\nMUG-1,3\n"))

    assert "row 3: MUG-1 holds 8; 3 more would pass its maximum of 10 (2 fit)." in str(refused.value)
    assert quantities(tea, mug) == [1, 8]


def test_a_csv_delivery_names_lines_past_their_capacity_beside_its_other_bad_rows(tmp_path, stocked_article):
    tea = stocked_article(quantity=1, sku="TEA-1")
    mug = stocked_article(quantity=8, sku="MUG-1", stock__max_quantity=10)

    with pytest.raises(CommandError) as refused:
        restock("--csv", delivery(tmp_path, "sku,quantity\nNOPE,1\nMUG-1,3\nTEA-1,0\n"))

    assert str(refused.value).splitlines() == [
        "Nothing was booked:",
        "row 2: No article has SKU 'NOPE'.",
        "row 3: MUG-1 holds 8; 3 more would pass its maximum of 10 (2 fit).",
        "row 4: The quantity '0' is not a whole number from 1 to 1000000.",
    ]
    assert quantities(tea, mug) == [1, 8]


def test_a_dry_run_checks_the_delivery_says_what_it_would_do_and_books_nothing(tmp_path, stocked_article):
    tea, mug = stocked_article(quantity=1, sku="TEA-1"), stocked_article(quantity=8, sku="MUG-1")

    output = restock("--csv", delivery(tmp_path, "sku,quantity\nTEA-1,4\nMUG-1,2\n"), "--dry-run")

    assert output.splitlines() == [
        "TEA-1: +4, would be 5",
        "MUG-1: +2, would be 10",
        "Checked 2 line(s), 6 unit(s), reference 'csv:delivery-42.csv': nothing was booked (--dry-run).",
    ]
    assert quantities(tea, mug) == [1, 8]
    assert StockMovement.objects.filter(kind=MovementKind.RESTOCK).count() == 2  # the opening stock only


def test_a_dry_run_of_a_bad_delivery_fails_as_the_booking_would(tmp_path, stocked_article):
    stocked_article(quantity=8, sku="MUG-1", stock__max_quantity=10)

    with pytest.raises(CommandError, match=r"MUG-1 holds 8; 3 more would pass its maximum of 10 \(2 fit\)"):
        restock("MUG-1", "3", "--dry-run")


def test_a_quiet_restock_prints_nothing_and_books(stocked_article):
    tea = stocked_article(quantity=1, sku="TEA-1")

    output = io.StringIO()
    call_command("restock", "TEA-1", "4", verbosity=0, stdout=output)

    assert output.getvalue() == ""
    assert quantities(tea) == [5]


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
