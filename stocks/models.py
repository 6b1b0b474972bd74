from django.conf import settings
from django.db import models
from django.db.models import F, Q

# The most units one stock level or one movement may hold: beyond it, input is a typo, not a delivery.
MAX_UNITS = 1_000_000

# At or below the reorder point; the SQL twin of Stock.is_low, so lists can filter on it.
LOW_STOCK = Q(quantity__lte=F("min_quantity"))


class Stock(models.Model):
    """The level of one article, created with the article. Limits are enforced by the database."""

    article = models.OneToOneField(
        "articles.Article", on_delete=models.CASCADE, primary_key=True, related_name="stock"
    )
    quantity = models.IntegerField(default=0)
    min_quantity = models.IntegerField(default=0, help_text="Reorder point.")
    max_quantity = models.IntegerField(null=True, blank=True, help_text="Capacity; empty for none.")
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["article_id"]
        permissions = [("restock", "Can book a delivery")]
        constraints = [
            models.CheckConstraint(condition=Q(quantity__gte=0), name="stock_quantity_not_negative"),
            models.CheckConstraint(condition=Q(min_quantity__gte=0), name="stock_min_not_negative"),
            models.CheckConstraint(
                condition=Q(max_quantity__isnull=True) | Q(quantity__lte=F("max_quantity")),
                name="stock_quantity_within_max",
            ),
            models.CheckConstraint(
                condition=Q(max_quantity__isnull=True) | Q(min_quantity__lte=F("max_quantity")),
                name="stock_min_within_max",
            ),
        ]

    def __str__(self) -> str:
        return f"Stock of {self.article}"

    @property
    def is_low(self) -> bool:
        return self.quantity <= self.min_quantity


class MovementKind(models.TextChoices):
    ORDER = "order", "Order"
    CANCEL = "cancel", "Cancel"
    RESTOCK = "restock", "Restock"
    ADJUSTMENT = "adjustment", "Adjustment"


class StockMovement(models.Model):
    """One line of the stock ledger; the sum of an article's deltas is its quantity."""

    article = models.ForeignKey("articles.Article", on_delete=models.PROTECT, related_name="stock_movements")
    delta = models.IntegerField()
    quantity_after = models.IntegerField(help_text="The article's quantity after this movement.")
    kind = models.CharField(max_length=16, choices=MovementKind.choices)
    reference = models.CharField(
        max_length=200, blank=True, help_text="Order id, delivery reference or reason."
    )
    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["-id"]
        indexes = [
            models.Index(fields=["article", "-id"], name="movement_article_idx"),
            models.Index(fields=["kind", "-id"], name="movement_kind_idx"),
            models.Index(fields=["created_at"], name="movement_created_idx"),
        ]
        constraints = [
            models.CheckConstraint(
                condition=Q(quantity_after__gte=0), name="movement_quantity_after_not_negative"
            ),
        ]

    def __str__(self) -> str:
        return f"{self.kind} {self.delta:+d} on article {self.article_id}"
