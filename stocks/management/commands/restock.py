"""`manage.py restock`: book a delivery, one article or a supplier's CSV file, all or nothing."""

import csv
import re
from pathlib import Path

from django.core.management.base import BaseCommand, CommandError

from articles.selectors import article_ids_by_sku
from core.errors import DomainError
from stocks.errors import StockLimitExceeded
from stocks.models import MAX_UNITS, StockMovement
from stocks.services import stock_restock_many

# (where the line comes from, e.g. "row 3" or "" for the command line; sku; quantity as written)
Line = tuple[str, str, str]


def _with_place(place: str, message: str) -> str:
    return f"{place}: {message}" if place else message


def _read_csv(path: Path) -> list[Line]:
    try:
        with path.open(newline="", encoding="utf-8-sig") as file:
            reader = csv.reader(file)
            header = [name.strip().lower() for name in next(reader, [])]
            if "sku" not in header or "quantity" not in header:
                raise CommandError(f"{path}: the first row must be the header `sku,quantity`.")
            sku_at, quantity_at = header.index("sku"), header.index("quantity")
            lines = []
            for record in reader:
                cells = [cell.strip() for cell in record] + [""] * len(header)
                if any(cells):
                    lines.append((f"row {reader.line_num}", cells[sku_at], cells[quantity_at]))
    except OSError as error:
        raise CommandError(f"Cannot read {path}: {error.strerror}.") from None
    except (csv.Error, UnicodeDecodeError) as error:
        raise CommandError(f"{path} is not a readable CSV file: {error}.") from None
    if not lines:
        raise CommandError(f"{path} has no delivery rows.")
    return lines


def _quantities(lines: list[Line]) -> tuple[dict[int, int], dict[int, tuple[str, str]]]:
    """`{article_id: quantity}` and `{article_id: (place, sku)}`, or a CommandError naming every bad line."""
    ids = article_ids_by_sku(skus={sku for _, sku, _ in lines})
    quantities, origins, errors, first_place = {}, {}, [], {}
    for place, sku, written in lines:
        if not sku:
            errors.append(_with_place(place, "the sku is empty."))
        elif sku not in ids:
            errors.append(_with_place(place, f"unknown sku {sku!r}."))
        elif sku in first_place:
            errors.append(_with_place(place, f"sku {sku!r} already appears on {first_place[sku]}."))
        first_place.setdefault(sku, place)
        if not re.fullmatch(r"[0-9]+", written) or not 1 <= int(written) <= MAX_UNITS:
            errors.append(
                _with_place(place, f"quantity {written!r} is not a whole number from 1 to {MAX_UNITS}.")
            )
        elif sku in ids and ids[sku] not in quantities:
            quantities[ids[sku]] = int(written)
            origins[ids[sku]] = (place, sku)
    if errors:
        raise CommandError("Nothing was booked:\n" + "\n".join(errors))
    return quantities, origins


def _over_capacity(error: StockLimitExceeded, origins: dict[int, tuple[str, str]]) -> str:
    messages = []
    for line in error.details["lines"]:
        place, sku = origins[line["article"]]
        messages.append(
            _with_place(
                place,
                f"{sku} holds {line['quantity']}; {line['requested']} more would pass "
                f"its maximum of {line['max_quantity']}.",
            )
        )
    return "Nothing was booked:\n" + "\n".join(messages)


class Command(BaseCommand):
    help = (
        "Book a delivery: `restock SKU QUANTITY`, or `restock --csv FILE` with a `sku,quantity` header "
        "and one row per article. Every line is booked, or none is."
    )

    def add_arguments(self, parser):
        parser.add_argument("sku", nargs="?", help="SKU of the article delivered.")
        parser.add_argument("quantity", nargs="?", help="Units delivered.")
        parser.add_argument(
            "--csv",
            dest="csv_path",
            type=Path,
            help="Delivery file: header `sku,quantity`, one row per article.",
        )
        parser.add_argument("--reference", help='Delivery reference; default "csv:<file name>" or "manual".')

    def handle(self, *args, sku, quantity, csv_path, reference, **options):
        if csv_path is not None:
            if sku is not None:
                raise CommandError("Give either SKU QUANTITY or --csv FILE, not both.")
            lines, reference = _read_csv(csv_path), reference or f"csv:{csv_path.name}"
        elif sku is None or quantity is None:
            raise CommandError("Give SKU QUANTITY, or --csv FILE.")
        else:
            lines, reference = [("", sku, quantity)], reference or "manual"
        longest = StockMovement._meta.get_field("reference").max_length
        if len(reference) > longest:
            raise CommandError(f"The reference must be at most {longest} characters.")
        quantities, origins = _quantities(lines)
        try:
            stocks = stock_restock_many(quantities=quantities, reference=reference, user=None)
        except StockLimitExceeded as error:
            raise CommandError(_over_capacity(error, origins)) from None
        except DomainError as error:
            raise CommandError(error.message) from None
        for stock in stocks:
            _, sku = origins[stock.article_id]
            self.stdout.write(f"{sku}: +{quantities[stock.article_id]}, now {stock.quantity}")
        units = sum(quantities.values())
        self.stdout.write(
            self.style.SUCCESS(f"Booked {len(stocks)} line(s), {units} unit(s), reference {reference!r}.")
        )
