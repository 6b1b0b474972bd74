"""`manage.py deliver_payment_events` (payments settings): post the due notifications to the store.

Each failed attempt pushes its notification back with an exponential backoff (payments.notifier),
so running this often (cron, or `--loop`) costs a store that is down almost nothing.
"""

from django.core.management.base import BaseCommand

from core.worker import add_loop_arguments, run_as_worker
from payments.notifier import notifications_deliver_due


class Command(BaseCommand):
    help = "Deliver the payment events the store has not acknowledged yet, when they are due."

    def add_arguments(self, parser):
        parser.add_argument("--limit", type=int, default=100, help="At most this many per round.")
        add_loop_arguments(parser, interval=5.0)

    def handle(self, *args, limit, loop, interval, heartbeat, **options):
        def deliver(*, quiet: bool) -> None:
            report = notifications_deliver_due(limit=limit)
            if report.delivered or report.failed or not quiet:
                self.stdout.write(f"Delivered {report.delivered}, failed {report.failed}.")

        if loop:
            run_as_worker(self.stdout, lambda: deliver(quiet=True), interval=interval, heartbeat=heartbeat)
        else:
            deliver(quiet=False)
