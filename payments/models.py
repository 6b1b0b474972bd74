import hmac
import secrets

from django.db import models
from django.db.models import F, Q

from core.columns import ExactCharField


class PaymentStatus(models.TextChoices):
    PENDING = "pending", "Pending"
    PAID = "paid", "Paid"
    FAILED = "failed", "Failed"
    REFUNDED = "refunded", "Refunded"


# A live payment is one an order may still be (or already is) paid by: at most one per order.
LIVE_STATUSES = (PaymentStatus.PENDING, PaymentStatus.PAID)


def new_secret() -> str:
    """The capability in a payment's pay_url: random, never derived from the id."""
    return secrets.token_urlsafe(32)


class Payment(models.Model):
    order_id = models.PositiveBigIntegerField(db_index=True, help_text="The store's order id.")
    customer_id = models.PositiveBigIntegerField(help_text="The store's customer id.")
    amount = models.DecimalField(max_digits=12, decimal_places=2)
    currency = models.CharField(max_length=3, default="CAD")
    status = models.CharField(max_length=16, choices=PaymentStatus.choices, default=PaymentStatus.PENDING)
    # MariaDB has no partial unique index ("order_id unique where status is live"): this column
    # holds order_id while the payment is live and NULL otherwise, and a unique index ignores NULLs.
    live_order_id = models.PositiveBigIntegerField(null=True, blank=True, unique=True, editable=False)
    secret = models.CharField(max_length=64, unique=True, default=new_secret, editable=False)
    card_brand = models.CharField(max_length=16, blank=True)
    card_last4 = models.CharField(max_length=4, blank=True)
    idempotency_key = ExactCharField(max_length=255, null=True, blank=True, unique=True)
    request_fingerprint = models.CharField(
        max_length=64, blank=True, help_text="SHA-256 of the canonical create request."
    )
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["-id"]
        constraints = [
            models.CheckConstraint(condition=Q(amount__gt=0), name="payment_amount_positive"),
            models.CheckConstraint(condition=Q(status__in=PaymentStatus.values), name="payment_status_valid"),
            models.CheckConstraint(
                # IS NOT NULL spelt out: a CHECK whose condition is unknown (NULL) passes.
                condition=(
                    Q(status__in=LIVE_STATUSES, live_order_id__isnull=False, live_order_id=F("order_id"))
                    | (~Q(status__in=LIVE_STATUSES) & Q(live_order_id__isnull=True))
                ),
                name="payment_live_order_id_matches_status",
            ),
        ]

    def __str__(self) -> str:
        return f"Payment #{self.pk} of order {self.order_id} ({self.status})"

    @property
    def pay_path(self) -> str:
        """Relative to the API root (PAYMENTS_PUBLIC_URL), which the gateway maps to /api/v1/."""
        return f"/payments/{self.pk}/pay/{self.secret}/"

    def secret_matches(self, secret: str) -> bool:
        """In constant time, so that response times tell nothing about the secret."""
        return hmac.compare_digest(self.secret.encode(), secret.encode())


class PaymentEvent(models.Model):
    """One state change of a payment, kept for ever (PROTECT: a payment with events cannot go)."""

    payment = models.ForeignKey(Payment, on_delete=models.PROTECT, related_name="events")
    status = models.CharField(max_length=16, choices=PaymentStatus.choices)
    amount = models.DecimalField(max_digits=12, decimal_places=2)
    at = models.DateTimeField(db_index=True)

    class Meta:
        ordering = ["at", "id"]

    def __str__(self) -> str:
        return f"{self.payment_id} {self.status} at {self.at:%Y-%m-%d %H:%M:%S}"


class Notification(models.Model):
    """Outbox row: a payment event the store must be told about, written with the change itself."""

    payment = models.ForeignKey(Payment, on_delete=models.PROTECT, related_name="notifications")
    payload = models.JSONField()
    attempts = models.PositiveIntegerField(default=0)
    next_attempt_at = models.DateTimeField(help_text="When it is due (again); also the claim's expiry.")
    delivered_at = models.DateTimeField(null=True, blank=True)
    last_error = models.TextField(blank=True)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["id"]
        indexes = [models.Index(fields=["delivered_at", "next_attempt_at"], name="notification_due")]

    def __str__(self) -> str:
        state = "delivered" if self.delivered_at else f"{self.attempts} attempts"
        return f"Notification #{self.pk} of payment {self.payment_id} ({state})"
