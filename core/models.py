from django.conf import settings
from django.db import IntegrityError, models, transaction

from .columns import ExactCharField


class IdempotencyKey(models.Model):
    """The first answer given to a client's `Idempotency-Key`, replayed for its repeats."""

    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE)
    scope = models.CharField(max_length=64, help_text="The operation the key belongs to.")
    key = ExactCharField(max_length=255)
    fingerprint = models.CharField(max_length=64, help_text="SHA-256 of the canonical request body.")
    response_status = models.PositiveSmallIntegerField()
    response_body = models.JSONField()
    created_at = models.DateTimeField(auto_now_add=True, db_index=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["user", "scope", "key"], name="idempotency_key_unique")
        ]

    def __str__(self) -> str:
        return f"{self.scope}:{self.key}"


class Counter(models.Model):
    """A row many processes count on at once, none losing a count."""

    count = models.PositiveBigIntegerField(default=0)

    class Meta:
        abstract = True

    @classmethod
    def increment(cls, key: str, **created) -> int:
        """One more at the row `key` (created with `created` where missing); returns what it holds.

        The UPDATE locks the row until the transaction ends, so the count read after it is this call's.
        """
        rows = cls.objects.filter(pk=key)
        with transaction.atomic():
            if not rows.update(count=models.F("count") + 1):
                try:
                    with transaction.atomic():
                        cls.objects.create(pk=key, count=1, **created)
                except IntegrityError:  # created by another process meanwhile
                    rows.update(count=models.F("count") + 1)
            return rows.values_list("count", flat=True).get()


class CacheBump(Counter):
    """Bumps of a read-cache namespace made by a process that could not reach Redis (core.cache).

    Every process reads these counts at most every READ_CACHE_BUMPS_CHECK_SECONDS and serves an
    entry only while they are as when it was stored: a write made where Redis was unreachable still
    reaches every replica's reads.
    """

    namespace = models.CharField(max_length=32, primary_key=True)

    def __str__(self) -> str:
        return f"{self.namespace}: {self.count}"


class ThrottleCounter(Counter):
    """A login budget's window counted in the database while Redis is unreachable (core.throttling)."""

    key = models.CharField(max_length=200, primary_key=True)
    expires_at = models.DateTimeField(db_index=True)

    def __str__(self) -> str:
        return f"{self.key}: {self.count}"
