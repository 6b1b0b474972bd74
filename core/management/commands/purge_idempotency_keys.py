"""`manage.py purge_idempotency_keys`: forget the Idempotency-Keys past their time to live.

Expired keys are never replayed, only kept until this runs (from cron, say, once a day).
"""

from django.conf import settings
from django.core.management.base import BaseCommand

from core.idempotency import idempotency_keys_purge


class Command(BaseCommand):
    help = "Delete the Idempotency-Keys older than IDEMPOTENCY_KEY_TTL_HOURS."

    def handle(self, *args, **options):
        deleted = idempotency_keys_purge()
        hours = settings.IDEMPOTENCY_KEY_TTL_HOURS
        self.stdout.write(f"Deleted {deleted} idempotency key(s) older than {hours} hours.")
