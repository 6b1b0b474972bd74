"""`manage.py sync_payments`: reconcile orders with what the payments service knows.

The safety net under the payment notifications (docs/adr/0005-payments-service.md): run it from
cron, say every few minutes. Each run checks at most `--limit` orders, newest first; running it again
changes nothing more. It stops at the first sign that payments is unavailable (the rest waits for the
next run) and then exits with an error. With `--loop` it runs a round every `--interval` seconds
instead (the payments-sync worker of docker-compose.yml), and an unavailable payments service only
ends the round.
"""

from collections import Counter

from django.core.management.base import BaseCommand, CommandError

from core.errors import DomainError
from core.worker import add_loop_arguments, run_as_worker
from orders import reconciliation, selectors
from orders.errors import PaymentServiceUnavailable

OUTCOMES = ("paid", "requested", "linked", "updated", "refunded", "unchanged", "failed")


class Command(BaseCommand):
    help = (
        "Ask the payments service about pending orders (and cancelled ones paid meanwhile): mark the paid "
        "ones paid, request the missing payments, refund payments made for cancelled orders."
    )

    def add_arguments(self, parser):
        parser.add_argument("--limit", type=int, default=500, help="Orders checked at most (default 500).")
        parser.add_argument(
            "--max-age-days",
            type=int,
            default=30,
            help="Only orders placed in the last N days (default 30; 0 for all).",
        )
        add_loop_arguments(parser, interval=300.0)

    def handle(self, *args, limit: int, max_age_days: int, loop: bool, interval: float, heartbeat, **options):
        if limit < 1:
            raise CommandError("--limit must be at least 1.")
        if not loop:
            self._sync(limit=limit, max_age_days=max_age_days)
            return

        def sync_round() -> None:
            try:
                self._sync(limit=limit, max_age_days=max_age_days)
            except CommandError as error:  # payments unavailable: the next round tries again
                self.stderr.write(str(error))

        run_as_worker(self.stdout, sync_round, interval=interval, heartbeat=heartbeat)

    def _sync(self, *, limit: int, max_age_days: int) -> None:
        order_ids = selectors.order_ids_to_sync(limit=limit, max_age_days=max_age_days)
        outcomes = Counter()
        unavailable = None
        for order_id in order_ids:
            try:
                outcomes[reconciliation.order_sync_payment(order_id=order_id)] += 1
            except PaymentServiceUnavailable as error:
                unavailable = error
                break
            except DomainError as error:  # e.g. a payment whose amount is not the order's total
                outcomes["failed"] += 1
                self.stderr.write(f"Order {order_id}: {error.code}: {error.message}")
        checked = sum(outcomes.values())
        counts = ", ".join(f"{outcomes[outcome]} {outcome}" for outcome in OUTCOMES)
        self.stdout.write(f"Checked {checked} order(s): {counts}.")
        if unavailable is not None:
            raise CommandError(
                f"Stopped: {unavailable.message} {len(order_ids) - checked} order(s) left for the next run."
            )
