"""`manage.py deliver_payment_events` (payments settings): post the due notifications to the store.

Each failed attempt pushes its notification back with an exponential backoff (payments.notifier),
so running this often (cron, or `--loop`) costs a store that is down almost nothing.
"""

import time

from django.core.management.base import BaseCommand

from payments.notifier import notifications_deliver_due


class Command(BaseCommand):
    help = "Deliver the payment events the store has not acknowledged yet, when they are due."

    def add_arguments(self, parser):
        parser.add_argument("--limit", type=int, default=100, help="At most this many per round.")
        parser.add_argument("--loop", action="store_true", help="Keep delivering until interrupted.")
        parser.add_argument(
            "--interval", type=float, default=5.0, help="Seconds between rounds with --loop (default 5)."
        )

    def handle(self, *args, limit, loop, interval, **options):
        try:
            while True:
                report = notifications_deliver_due(limit=limit)
                if report.delivered or report.failed or not loop:
                    self.stdout.write(f"Delivered {report.delivered}, failed {report.failed}.")
                if not loop:
                    return
                time.sleep(interval)
        except KeyboardInterrupt:
            self.stdout.write("Stopped.")
