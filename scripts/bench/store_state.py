"""Reads of the benchmark's store, run inside the store's Django: `python -m scripts.bench.store_state`.

The bench (stack.store_state) runs it in the store's environment and reads the JSON it prints:

- `settings`: the defaults the bench wires its servers around (the payments URL, throttling scopes);
- `fixtures --own N`: what the Locust users need (customers, hot articles, articles of their own,
  search terms);
- `last-order`: the newest order's id, taken before the storm;
- `check --since ID`: the invariants after the storm: every stock row between 0 and its capacity and
  explained by its ledger (stocks.selectors.stock_ledger_problems), every order's stock taken once for
  each of its lines and given back once if it was cancelled; and the orders placed after order ID.
"""

import argparse
import json
import os
from collections import Counter, defaultdict

import django

# The storm's few hot articles: enough for 1 to 5 distinct lines an order, few enough to collide.
HOT_ARTICLES = 8


def _settings() -> dict:
    from django.conf import settings

    return {
        "payments_url": settings.PAYMENTS_URL,
        "throttle_scopes": sorted(getattr(settings, "THROTTLE_RATES", {})),
    }


def _fixtures(own: int) -> dict:
    """Articles without capacity, so that no delivery is refused: the hot ones, then one per user."""
    from articles.models import Article
    from users.models import Role, User

    uncapped = list(
        Article.objects.filter(is_active=True, stock__isnull=False, stock__max_quantity__isnull=True)
        .order_by("pk")
        .values("pk", "sku")[: HOT_ARTICLES + own]
    )
    if len(uncapped) < HOT_ARTICLES + own:
        raise SystemExit(
            f"store_state: {HOT_ARTICLES + own} articles without capacity needed, {len(uncapped)} found"
        )
    names = Article.objects.filter(is_active=True).values_list("name", flat=True)
    return {
        "customers": list(
            User.objects.filter(role=Role.CUSTOMER, is_active=True)
            .order_by("pk")
            .values_list("pk", flat=True)
        ),
        "hot_articles": [row["pk"] for row in uncapped[:HOT_ARTICLES]],
        "own_articles": [{"id": row["pk"], "sku": row["sku"]} for row in uncapped[HOT_ARTICLES:]],
        "search_terms": sorted({word.lower() for name in names for word in name.split()}),
    }


def _last_order() -> dict:
    from orders.models import Order

    return {"id": Order.objects.order_by("-pk").values_list("pk", flat=True).first() or 0}


def _order_problems() -> list[str]:
    """Orders whose stock the ledger does not account for, line by line."""
    from orders.models import Order, OrderLine, OrderStatus
    from stocks.models import MovementKind, StockMovement

    statuses = dict(Order.objects.values_list("pk", "status"))
    by_reference = {Order(pk=order_id).reference: order_id for order_id in statuses}
    lines = defaultdict(dict)
    for order_id, article_id, quantity in OrderLine.objects.values_list("order_id", "article_id", "quantity"):
        lines[order_id][article_id] = quantity
    moved = {MovementKind.ORDER: defaultdict(Counter), MovementKind.CANCEL: defaultdict(Counter)}
    problems = []
    movements = StockMovement.objects.filter(kind__in=list(moved)).values_list(
        "kind", "reference", "article_id", "delta"
    )
    for kind, reference, article_id, delta in movements:
        if reference not in by_reference:
            problems.append(f"{kind} movement of article {article_id} for {reference!r}, which is no order")
            continue
        moved[kind][by_reference[reference]][article_id] += delta
    for order_id, status in statuses.items():
        taken = {article: -units for article, units in moved[MovementKind.ORDER][order_id].items()}
        returned = dict(moved[MovementKind.CANCEL][order_id])
        expected_return = lines[order_id] if status == OrderStatus.CANCELLED else {}
        if taken != lines[order_id]:
            problems.append(f"order {order_id}: lines {lines[order_id]}, stock taken {taken}")
        if returned != expected_return:
            problems.append(
                f"order {order_id} ({status}): stock given back {returned}, expected {expected_return}"
            )
    return problems


def _check(since: int) -> dict:
    from orders.models import Order, OrderLine
    from stocks.selectors import stock_ledger_problems

    placed = Order.objects.filter(pk__gt=since)
    units = Counter()
    for article_id, quantity in OrderLine.objects.filter(order__pk__gt=since).values_list(
        "article_id", "quantity"
    ):
        units[str(article_id)] += quantity
    return {
        "problems": stock_ledger_problems() + _order_problems(),
        "placed": {
            "orders": placed.count(),
            "without_payment": placed.filter(payment_id__isnull=True).count(),
            "units": dict(units),
        },
    }


def main() -> None:
    parser = argparse.ArgumentParser(prog="python -m scripts.bench.store_state", description=__doc__)
    commands = parser.add_subparsers(dest="command", required=True)
    commands.add_parser("settings")
    commands.add_parser("fixtures").add_argument("--own", type=int, required=True)
    commands.add_parser("last-order")
    commands.add_parser("check").add_argument("--since", type=int, required=True)
    options = parser.parse_args()
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "store_manager.settings.store")
    django.setup()
    answer = {
        "settings": _settings,
        "fixtures": lambda: _fixtures(options.own),
        "last-order": _last_order,
        "check": lambda: _check(options.since),
    }[options.command]()
    print(json.dumps(answer))


if __name__ == "__main__":
    main()
