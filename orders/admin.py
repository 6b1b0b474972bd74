"""Orders in the admin: viewed, cancelled and deleted, never edited by hand.

Orders are placed through the API (orders.services.order_create takes their stock); here staff
cancel them (stock returned) or delete unpaid ones, both through orders.services.
"""

from django.contrib import admin

from store_infra.admin import ServiceAdmin

from . import services
from .models import Order, OrderLine


class OrderLineInline(admin.TabularInline):
    model = OrderLine
    fields = ("sku", "name", "quantity", "unit_price", "line_total")
    readonly_fields = fields
    extra = 0
    can_delete = False

    def get_queryset(self, request):
        return super().get_queryset(request).select_related("article")

    def has_add_permission(self, request, obj=None):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    @admin.display(description="SKU")
    def sku(self, line: OrderLine) -> str:
        return line.article.sku

    @admin.display(description="name")
    def name(self, line: OrderLine) -> str:
        return line.article.name


@admin.register(Order)
class OrderAdmin(ServiceAdmin):
    list_display = ("id", "customer", "status", "payment_status", "total", "created_at")
    list_filter = ("status", "payment_status", "created_at")
    search_fields = ("id__exact", "customer__username", "customer__email")
    list_select_related = ("customer",)
    # A COUNT of a million orders takes ~150 ms on MariaDB: the page counts its own rows, not all again.
    show_full_result_count = False
    fields = (
        "customer",
        "status",
        "total",
        "payment_id",
        "payment_status",
        "pay_url",
        "created_by",
        "created_at",
        "updated_at",
    )
    inlines = [OrderLineInline]
    actions = [*ServiceAdmin.actions, "cancel_orders", "request_payments"]

    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    def has_cancel_permission(self, request):
        """Cancelling is the change staff may make to an order: it needs the change permission."""
        return super().has_change_permission(request)

    @admin.action(description="Cancel selected orders", permissions=["cancel"])
    def cancel_orders(self, request, queryset):
        self.apply_each(
            request,
            queryset,
            lambda order: services.order_cancel(order_id=order.pk, user=request.user),
            label=lambda order: f"Order #{order.pk}",
            done=lambda count: f"Cancelled {count} order(s); their stock was returned.",
        )

    @admin.action(description="Request the payment of selected orders", permissions=["cancel"])
    def request_payments(self, request, queryset):
        """For orders placed while payments was down: the same call as `POST orders/{id}/payment/`."""
        self.apply_each(
            request,
            queryset,
            lambda order: services.order_request_payment(order_id=order.pk),
            label=lambda order: f"Order #{order.pk}",
            done=lambda count: f"{count} order(s) have their payment.",
        )

    def delete_model(self, request, obj):
        services.order_delete(order_id=obj.pk, user=request.user)
