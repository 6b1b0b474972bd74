"""`manage.py purge_idempotency_keys`: forget the Idempotency-Keys past their time to live.

Expired keys are never replayed, only kept until this runs: from cron, say once a day, or as a worker
with `--loop` (the store-housekeeping service of docker-compose.yml).
"""

from django.conf import settings
from django.core.management.base import BaseCommand

from core.worker import add_loop_arguments, run_as_worker
from store_infra.idempotency import idempotency_keys_purge


class Command(BaseCommand):
    help = "Delete the Idempotency-Keys older than IDEMPOTENCY_KEY_TTL_HOURS."

    def add_arguments(self, parser):
        add_loop_arguments(parser, interval=3600.0)

    def handle(self, *args, loop, interval, heartbeat, **options):
        def purge() -> None:
            deleted = idempotency_keys_purge()
            hours = settings.IDEMPOTENCY_KEY_TTL_HOURS
            self.stdout.write(f"Deleted {deleted} idempotency key(s) older than {hours} hours.")

        if loop:
            run_as_worker(self.stdout, purge, interval=interval, heartbeat=heartbeat)
        else:
            purge()
