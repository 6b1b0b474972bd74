from django.conf import settings
from django.db import connection, models, transaction

from core.columns import ExactCharField


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
        db_table = "core_idempotencykey"  # the table made when this model lived in core
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

        One upsert: a plain UPDATE-else-INSERT lets two processes that both found no row deadlock on
        InnoDB (each waits on the other's duplicate-key lock). The upsert's lock is held until the
        transaction ends, so the count read after it is this call's.
        """
        quote = connection.ops.quote_name
        fields = [cls._meta.pk, cls._meta.get_field("count"), *map(cls._meta.get_field, created)]
        values = [key, 1, *(field.get_db_prep_save(created[field.name], connection) for field in fields[2:])]
        count = quote("count")
        on_conflict = (
            f"ON DUPLICATE KEY UPDATE {count} = {count} + 1"
            if connection.vendor == "mysql"
            else f"ON CONFLICT ({quote(cls._meta.pk.column)}) DO UPDATE SET {count} = {count} + 1"
        )
        with transaction.atomic(), connection.cursor() as cursor:
            cursor.execute(
                f"INSERT INTO {quote(cls._meta.db_table)} ({', '.join(quote(f.column) for f in fields)})"
                f" VALUES ({', '.join(['%s'] * len(fields))}) {on_conflict}",
                values,
            )
            return cls.objects.filter(pk=key).values_list("count", flat=True).get()


class CacheBump(Counter):
    """Bumps of a model's read-cache version made by a process that could not reach Redis
    (store_infra.cache).

    Every process reads these counts at most every READ_CACHE_BUMPS_CHECK_SECONDS and serves an
    entry only while they are as when it was stored: a write made where Redis was unreachable still
    reaches every replica's reads.
    """

    model = models.CharField(max_length=100, primary_key=True, help_text="The model's label: stocks.stock.")

    class Meta:
        db_table = "core_cachebump"

    def __str__(self) -> str:
        return f"{self.model}: {self.count}"


class ThrottleCounter(Counter):
    """A login budget's window counted in the database while Redis is unreachable (store_infra.throttling)."""

    key = models.CharField(max_length=200, primary_key=True)
    expires_at = models.DateTimeField(db_index=True)

    class Meta:
        db_table = "core_throttlecounter"

    def __str__(self) -> str:
        return f"{self.key}: {self.count}"
