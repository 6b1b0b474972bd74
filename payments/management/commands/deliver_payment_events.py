"""`manage.py deliver_payment_events` (payments settings): post the due notifications to the store.

Each failed attempt pushes its notification back with an exponential backoff (payments.notifier),
so running this often (cron, or `--loop`) costs a store that is down almost nothing.
"""

from pathlib import Path

from django.core.management.base import BaseCommand

from core.worker import repeat
from payments.notifier import notifications_deliver_due


class Command(BaseCommand):
    help = "Deliver the payment events the store has not acknowledged yet, when they are due."

    def add_arguments(self, parser):
        parser.add_argument("--limit", type=int, default=100, help="At most this many per round.")
        parser.add_argument("--loop", action="store_true", help="Keep delivering until interrupted.")
        parser.add_argument(
            "--interval", type=float, default=5.0, help="Seconds between rounds with --loop (default 5)."
        )
        parser.add_argument(
            "--heartbeat", type=Path, help="With --loop, a file touched after each round (for healthchecks)."
        )

    def handle(self, *args, limit, loop, interval, heartbeat, **options):
        def deliver(*, quiet: bool) -> None:
            report = notifications_deliver_due(limit=limit)
            if report.delivered or report.failed or not quiet:
                self.stdout.write(f"Delivered {report.delivered}, failed {report.failed}.")

        if not loop:
            deliver(quiet=False)
            return
        try:
            repeat(lambda: deliver(quiet=True), interval=interval, heartbeat=heartbeat)
        except KeyboardInterrupt:
            self.stdout.write("Stopped.")
