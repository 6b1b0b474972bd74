"""What must hold for every stock row whatever happened before: the ledger explains the quantity.

Movements of one article are written while its stock row is locked, so their ids follow the
order in which the changes happened; replaying them in id order must give each `quantity_after`
and end on the current quantity.
"""

from collections import defaultdict

from stocks.models import Stock, StockMovement


def ledger_problems(article_ids=None) -> list[str]:
    """Every broken invariant, as readable lines (empty when all is well)."""
    stocks = Stock.objects.order_by("article_id")
    movements = StockMovement.objects.order_by("id")
    if article_ids is not None:
        stocks = stocks.filter(article_id__in=article_ids)
        movements = movements.filter(article_id__in=article_ids)
    history = defaultdict(list)
    for movement in movements:
        history[movement.article_id].append(movement)

    problems = []
    for stock in stocks:
        article = stock.article_id
        if stock.quantity < 0:
            problems.append(f"article {article}: negative quantity {stock.quantity}")
        if stock.max_quantity is not None and stock.quantity > stock.max_quantity:
            problems.append(f"article {article}: quantity {stock.quantity} above max {stock.max_quantity}")
        running = 0
        for movement in history[article]:
            running += movement.delta
            if movement.quantity_after != running:
                problems.append(
                    f"article {article}: movement {movement.id} says {movement.quantity_after}, "
                    f"the ledger sums to {running}"
                )
        if running != stock.quantity:
            problems.append(f"article {article}: quantity {stock.quantity}, ledger sum {running}")
    return problems


def assert_stock_matches_ledger(article_ids=None) -> None:
    """For every article (or those given): 0 <= quantity <= max, and the ledger adds up to it."""
    problems = ledger_problems(article_ids)
    assert not problems, "\n".join(problems)
