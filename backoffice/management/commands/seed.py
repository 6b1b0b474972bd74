"""`manage.py seed`: demo data for an empty store, and the demo staff logins.

With DEBUG on the demo staff get known passwords (`manager-demo-pass`, ...), printed at every run;
with DEBUG off, random ones, printed once, when they are made.

`make run` and `make stack` (scripts/serve.py) call it with `--if-empty` on every start, so that the
logins are always shown.
"""

import sys
import time
from argparse import ArgumentTypeError

from django.conf import settings
from django.core.exceptions import ValidationError
from django.core.management.base import BaseCommand, CommandError
from tqdm import tqdm

from backoffice.demo import DEMO_STAFF, MAX_ARTICLES, demo_data_create, demo_passwords, store_is_empty
from core.errors import DomainError


def _count(maximum: int):
    def parse(text: str) -> int:
        if not text.isdigit() or int(text) > maximum:
            raise ArgumentTypeError(f"expected a whole number from 0 to {maximum}, got {text!r}")
        return int(text)

    return parse


def _progress(items, description: str, total: int):
    return tqdm(items, desc=description, total=total, unit="", file=sys.stderr, disable=None, leave=False)


class Command(BaseCommand):
    help = "Create demo staff, customers, articles with stock, and orders in an empty store."

    def add_arguments(self, parser):
        parser.add_argument(
            "--seed", type=int, default=1, help="Random seed: the same seed gives the same data."
        )
        parser.add_argument("--articles", type=_count(MAX_ARTICLES), default=50, help="Default 50.")
        parser.add_argument("--customers", type=_count(1_000_000), default=20, help="Default 20.")
        parser.add_argument(
            "--orders", type=_count(1_000_000), default=100, help="Default 100, about 1 in 10 cancelled."
        )
        parser.add_argument(
            "--if-empty",
            action="store_true",
            help="Only show the demo logins when the store already has articles (instead of failing).",
        )

    def handle(self, *args, seed, articles, customers, orders, if_empty, **options):
        passwords = demo_passwords(known=settings.DEBUG)
        if not store_is_empty():
            if not if_empty:
                raise CommandError("The store already has articles: seed fills an empty store only.")
            self.stdout.write("The store already has data; nothing was seeded.")
            if not settings.DEBUG:
                self.stdout.write(
                    "The demo logins were printed when it was seeded "
                    "(`manage.py changepassword <username>` sets a new password)."
                )
                return
        else:
            if orders and not (articles and customers):
                raise CommandError("Orders need at least one article and one customer.")
            started = time.monotonic()
            try:
                summary = demo_data_create(
                    seed=seed,
                    articles=articles,
                    customers=customers,
                    orders=orders,
                    passwords=passwords,
                    progress=_progress,
                )
            except DomainError as error:
                raise CommandError(error.message) from None
            except ValidationError as error:
                raise CommandError("; ".join(error.messages)) from None
            self.stdout.write(
                self.style.SUCCESS(
                    f"Seeded {articles} articles ({summary.units} units of opening stock), "
                    f"{customers} customers and {orders} orders "
                    f"({summary.cancelled} cancelled) in {time.monotonic() - started:.1f} s."
                )
            )
        shown = "" if settings.DEBUG else ", shown this once"
        self.stdout.write(f"Demo logins (for the admin and the API{shown}):")
        for username, role in DEMO_STAFF:
            self.stdout.write(f"  {username:<9} {passwords[username]:<20} {role.label}")
