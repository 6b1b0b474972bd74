from stocks.charts import stock_chart


def row(sku: str, quantity: int, min_quantity: int) -> dict:
    return {
        "sku": sku,
        "name": sku.lower(),
        "quantity": quantity,
        "min_quantity": min_quantity,
        "is_low": quantity <= min_quantity,
    }


def test_the_stock_chart_puts_low_rows_first_then_the_lowest_stock_cover():
    rows = [
        row("AMPLE", 50, 5),
        row("EMPTY", 0, 0),
        row("TIGHT", 12, 10),
        row("LOW", 3, 10),
        row("NOMIN", 4, 0),
    ]

    chart = stock_chart(rows, limit=40)

    assert [bar.label for bar in chart.bars] == ["LOW", "EMPTY", "TIGHT", "AMPLE", "NOMIN"]
    assert [bar.highlight for bar in chart.bars] == [True, True, False, False, False]


def test_the_stock_chart_keeps_the_most_urgent_rows_up_to_its_limit():
    rows = [row(f"SKU-{n:02d}", quantity=n, min_quantity=10) for n in range(30, 0, -1)]

    chart = stock_chart(rows, limit=5)

    assert [bar.label for bar in chart.bars] == ["SKU-01", "SKU-02", "SKU-03", "SKU-04", "SKU-05"]


def test_each_bar_shows_the_quantity_with_the_reorder_point_as_its_marker():
    (bar,) = stock_chart([row("TEA-1", 30, 10)], limit=40).bars

    assert bar.value == 30
    assert bar.marker_x is not None
    assert bar.title == "TEA-1 tea-1: 30 in stock, reorder point 10"
