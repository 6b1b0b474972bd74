"""Demo data for an empty store, made through the services so it obeys every rule real data does.

Everything random comes from one `random.Random(seed)` and is drawn before anything is written, so
a seed always gives the same store. Opening stock covers every planned order, so each one is placed.
Articles and orders go through the services' batch functions, so thousands take seconds.
"""

import itertools
import random
import secrets
from collections import Counter
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from decimal import Decimal
from typing import NamedTuple

from django.contrib.auth.password_validation import validate_password
from django.db import transaction

from articles.models import Article
from articles.services import article_create_many
from orders.services import order_cancel_many, order_create_many
from stocks.services import stock_restock_many
from users.models import Role, User
from users.services import user_create, user_create_many

DEMO_STAFF = (("manager", Role.MANAGER), ("clerk", Role.CLERK), ("supplier", Role.SUPPLIER))
CATEGORIES = {
    "MUG": ("Mug", "Cup", "Teapot", "Saucer"),
    "TEA": ("Green Tea", "Black Tea", "Rooibos", "Chai"),
    "NTB": ("Notebook", "Sketchbook", "Planner", "Journal"),
    "PEN": ("Pen", "Pencil", "Marker", "Highlighter"),
    "BAG": ("Tote Bag", "Backpack", "Pouch", "Lunch Box"),
}
ADJECTIVES = ("Classic", "Small", "Large", "Blue", "Recycled", "Travel", "Organic", "Deluxe", "Striped")
FIRST_NAMES = ("Alice", "Bruno", "Chloe", "David", "Emma", "Farid", "Giulia", "Hugo", "Ines", "Jonas")
LAST_NAMES = ("Martin", "Bernard", "Dubois", "Moreau", "Laurent", "Garcia", "Roux", "Fontaine")
SKU_NUMBERS = range(100_000, 1_000_000)
MAX_ARTICLES = len(SKU_NUMBERS)
BATCH = 2000

Progress = Callable[[Iterable, str, int], Iterable]


@dataclass(frozen=True)
class SeedSummary:
    """What seeding made beyond what it was asked for."""

    units: int
    cancelled: int


def _batches(items: Iterable, size: int = BATCH):
    iterator = iter(items)
    while batch := list(itertools.islice(iterator, size)):
        yield batch


def store_is_empty() -> bool:
    return not Article.objects.exists()


def demo_passwords(*, known: bool) -> dict[str, str]:
    """The demo staff's passwords: known ones (`manager-demo-pass`) for development only, random
    ones anywhere else, so that no store in production opens to a password printed in the README."""
    if known:
        return {username: f"{username}-demo-pass" for username, _ in DEMO_STAFF}
    return {username: secrets.token_urlsafe(12) for username, _ in DEMO_STAFF}


def demo_staff_create(passwords: dict[str, str]) -> dict[str, User]:
    """The demo staff accounts, each created unless an account of that name exists.

    The manager is made the way `createsuperuser` makes one: there is no manager yet to create it.
    """
    usernames = [username for username, _ in DEMO_STAFF]
    accounts = {user.username: user for user in User.objects.filter(username__in=usernames)}
    for username, role in DEMO_STAFF:
        password = passwords[username]
        if username in accounts:
            continue
        email = f"{username}@example.com"
        if role == Role.MANAGER:
            validate_password(password, User(username=username, email=email))
            accounts[username] = User.objects.create_user(username, email, password, role=role)
        else:
            accounts[username] = user_create(
                actor=accounts["manager"], username=username, email=email, role=role, password=password
            )
    return accounts


class _PlannedOrder(NamedTuple):
    customer: int
    lines: dict[int, int]
    by_manager: bool
    cancelled: bool


@dataclass(frozen=True)
class _Plan:
    """Rows to create, articles and customers referred to by their index in these lists."""

    customers: list[dict]
    articles: list[dict]
    opening: list[int]
    orders: list[_PlannedOrder]


def _plan(rng: random.Random, *, articles: int, customers: int, orders: int) -> _Plan:
    customer_rows = []
    for number in range(1, customers + 1):
        first, last = rng.choice(FIRST_NAMES), rng.choice(LAST_NAMES)
        username = f"{first}.{last}.{number}".lower()
        customer_rows.append(
            {"username": username, "email": f"{username}@example.com", "first_name": first, "last_name": last}
        )
    article_rows = []
    for index, number in enumerate(rng.sample(SKU_NUMBERS, articles)):
        code, nouns = rng.choice(list(CATEGORIES.items()))
        article_rows.append(
            {
                "sku": f"{code}-{number}",
                "name": f"{rng.choice(ADJECTIVES)} {rng.choice(nouns)}",
                "price": Decimal(rng.randint(150, 9_999)) / 100,
                # The first is always for sale so that orders have something to sell.
                "is_active": index == 0 or rng.random() > 0.05,
            }
        )
    for_sale = [index for index, row in enumerate(article_rows) if row["is_active"]]
    order_rows = []
    for _ in range(orders):
        picked = rng.sample(for_sale, rng.randint(1, min(4, len(for_sale))))
        lines = {index: rng.randint(1, 3) for index in picked}
        order_rows.append(
            _PlannedOrder(rng.randrange(customers), lines, rng.random() < 0.5, rng.random() < 0.1)
        )
    demand = Counter()
    for order in order_rows:
        demand.update(order.lines)
    opening = []
    for index, row in enumerate(article_rows):
        opening.append(demand[index] + rng.randint(0, 60))
        row["min_quantity"] = rng.choice((0, 5, 10, 20))
        if rng.random() < 0.3:
            row["max_quantity"] = max(opening[-1], row["min_quantity"]) + rng.randint(10, 100)
    return _Plan(customer_rows, article_rows, opening, order_rows)


@transaction.atomic
def demo_data_create(
    *,
    seed: int,
    articles: int,
    customers: int,
    orders: int,
    passwords: dict[str, str],
    progress: Progress,
) -> SeedSummary:
    """Fill an empty store: staff, customers, articles with opening stock, then orders (some cancelled)."""
    plan = _plan(random.Random(seed), articles=articles, customers=customers, orders=orders)
    staff = demo_staff_create(passwords)
    manager, clerk = staff["manager"], staff["clerk"]

    customer_rows = [
        customer
        for batch in _batches(progress(plan.customers, "customers", customers))
        for customer in user_create_many(actor=manager, users=batch)
    ]
    article_ids = [
        article.pk
        for batch in _batches(progress(plan.articles, "articles", articles))
        for article in article_create_many(articles=batch)
    ]
    opening = [
        (article_id, units) for article_id, units in zip(article_ids, plan.opening, strict=True) if units
    ]
    for batch in _batches(opening):
        stock_restock_many(quantities=dict(batch), reference="opening stock", user=manager)

    placed = []
    for batch in _batches(progress(plan.orders, "orders", orders)):
        placed += order_create_many(
            orders=[
                {
                    "customer": customer_rows[planned.customer],
                    "lines": [{"article": article_ids[i], "quantity": n} for i, n in planned.lines.items()],
                    "created_by": manager if planned.by_manager else clerk,
                }
                for planned in batch
            ]
        )
    to_cancel = [order.pk for order, planned in zip(placed, plan.orders, strict=True) if planned.cancelled]
    for batch in _batches(progress(to_cancel, "cancellations", len(to_cancel))):
        order_cancel_many(order_ids=batch, user=clerk)
    return SeedSummary(units=sum(units for _, units in opening), cancelled=len(to_cancel))
