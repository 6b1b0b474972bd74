"""Which articles the stock chart shows, and in what order: the ones to reorder first."""

import math

from core.charts import BarChart, BarInput, bar_chart


def _urgency(row: dict) -> tuple:
    """Low-stock rows first, then by stock cover (quantity over reorder point), then fewest units."""
    cover = row["quantity"] / row["min_quantity"] if row["min_quantity"] else math.inf
    return (not row["is_low"], cover, row["quantity"], row["sku"])


def stock_chart(rows: list[dict], *, limit: int) -> BarChart:
    """Quantity against reorder point for at most `limit` rows of the stock report, most urgent on top."""
    chosen = sorted(rows, key=_urgency)[:limit]
    return bar_chart(
        [
            BarInput(
                label=row["sku"],
                value=row["quantity"],
                marker=row["min_quantity"],
                highlight=row["is_low"],
                title=f"{row['sku']} {row['name']}: {row['quantity']} in stock, "
                f"reorder point {row['min_quantity']}",
            )
            for row in chosen
        ],
        axis_label="Units in stock",
    )
