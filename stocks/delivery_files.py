"""A supplier's delivery file (CSV) read into delivery lines, for `manage.py restock --csv` and the
admin's delivery import; what the lines hold is checked by stocks.services.stock_deliver."""

import csv
import io

from .services import DeliveryLine


class DeliveryFileUnreadable(ValueError):
    """Not a delivery file at all: not UTF-8 CSV, no `sku,quantity` header, or no rows."""


def read_delivery_csv(content: bytes, *, name: str) -> list[DeliveryLine]:
    """The file's lines: a header naming the `sku` and `quantity` columns (in any order, any case;
    other columns are ignored), then one row per article. Blank rows are skipped; "row N" is the
    line of the file, the header being row 1. UTF-8, with or without a byte order mark."""
    try:
        reader = csv.reader(io.StringIO(content.decode("utf-8-sig"), newline=""))
        header = [column.strip().lower() for column in next(reader, [])]
        if "sku" not in header or "quantity" not in header:
            raise DeliveryFileUnreadable(f"{name}: the first row must be the header `sku,quantity`.")
        sku_at, quantity_at = header.index("sku"), header.index("quantity")
        lines = []
        for record in reader:
            cells = [cell.strip() for cell in record] + [""] * len(header)
            if any(cells):
                lines.append(DeliveryLine(f"row {reader.line_num}", cells[sku_at], cells[quantity_at]))
    except (csv.Error, UnicodeDecodeError) as error:
        raise DeliveryFileUnreadable(f"{name} is not a readable CSV file: {error}.") from None
    if not lines:
        raise DeliveryFileUnreadable(f"{name} has no delivery rows.")
    return lines
