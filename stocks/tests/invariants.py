"""What must hold for every stock row whatever happened before: the ledger explains the quantity
(stocks.selectors.stock_ledger_problems)."""

from stocks.selectors import stock_ledger_problems


def assert_stock_matches_ledger(article_ids=None) -> None:
    """For every article (or those given): 0 <= quantity <= max, and the ledger adds up to it."""
    problems = stock_ledger_problems(article_ids=article_ids)
    assert not problems, "\n".join(problems)
