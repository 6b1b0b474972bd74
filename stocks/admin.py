"""Stock levels and the stock ledger in the admin.

Quantities change only through stocks.services: the "Restock" action and the delivery import
(admin_import.py) book deliveries, the "Count" action books an inventory, the change page edits the
limits; the ledger is read-only.
"""

from functools import partial

from django import forms
from django.contrib import admin, messages
from django.contrib.admin.helpers import ACTION_CHECKBOX_NAME
from django.template.response import TemplateResponse
from django.urls import path, reverse
from django.utils.html import format_html
from django.utils.safestring import mark_safe

from core.errors import DomainError
from store_infra.admin import ReadOnlyAdmin, ServiceAdmin

from . import selectors, services
from .admin_import import import_delivery
from .errors import DeliveryRefused
from .models import LOW_STOCK, MAX_UNITS, Stock, StockMovement


class LowStockFilter(admin.SimpleListFilter):
    title = "stock level"
    parameter_name = "low"

    def lookups(self, request, model_admin):
        return [("yes", "At or below the reorder point"), ("no", "Above the reorder point")]

    def queryset(self, request, queryset):
        if self.value() == "yes":
            return queryset.filter(LOW_STOCK)
        if self.value() == "no":
            return queryset.exclude(LOW_STOCK)
        return queryset


LOW_BADGE = mark_safe('<span class="low-badge">Low</span>')


class RestockForm(forms.Form):
    quantity = forms.IntegerField(min_value=1, max_value=MAX_UNITS, help_text="Units added to each article.")
    reference = forms.CharField(
        max_length=services.REFERENCE_LENGTH, help_text="Delivery note or supplier reference."
    )


class CountForm(forms.Form):
    """An inventory count: the units found on the shelf for each selected article."""

    reason = forms.CharField(max_length=200, initial="inventory count", help_text="Kept in the ledger.")

    def __init__(self, *args, stocks, **kwargs):
        super().__init__(*args, **kwargs)
        self.stocks = list(stocks)
        for stock in self.stocks:
            self.fields[f"counted_{stock.article_id}"] = forms.IntegerField(
                label=f"{stock.article} (now {stock.quantity})",
                min_value=0,
                max_value=MAX_UNITS,
                initial=stock.quantity,
            )

    def counted(self, stock: Stock) -> int:
        return self.cleaned_data[f"counted_{stock.article_id}"]


@admin.display(description="SKU", ordering="article__sku")
def sku(row: Stock | StockMovement) -> str:
    return row.article.sku


@admin.register(Stock)
class StockAdmin(ServiceAdmin):
    list_display = (sku, "name", "quantity", "min_quantity", "max_quantity", "is_low")
    list_filter = (LowStockFilter, "article__is_active")
    search_fields = ("article__sku", "article__name")
    list_select_related = ("article",)
    fields = ("article", "quantity", "ledger", "min_quantity", "max_quantity", "updated_at")
    readonly_fields = ("article", "quantity", "ledger", "updated_at")
    actions = ["restock", "count"]

    class Media:
        css = {"all": ["core/reports.css"]}

    def get_queryset(self, request):
        return selectors.stock_list()

    def get_urls(self):
        page = self.admin_site.admin_view(partial(import_delivery, self))
        return [path("import-delivery/", page, name="stocks_stock_import_delivery"), *super().get_urls()]

    def has_add_permission(self, request):
        return False

    def has_delete_permission(self, request, obj=None):
        return False

    def has_restock_permission(self, request):
        """Booking deliveries: the permission REST's restock and GraphQL's mutations need too."""
        return request.user.has_perm("stocks.restock")

    @admin.display(description="name", ordering="article__name")
    def name(self, stock: Stock) -> str:
        return stock.article.name

    # A red "Low" badge on the rows to reorder, as on the report page (a green check would read "fine").
    @admin.display(description="low")
    def is_low(self, stock: Stock) -> str:
        return LOW_BADGE if stock.is_low else ""

    @admin.display(description="ledger")
    def ledger(self, stock: Stock) -> str:
        url = reverse("admin:stocks_stockmovement_changelist", current_app=self.admin_site.name)
        return format_html(
            '<a href="{}?article={}">Every movement of {}</a>', url, stock.article_id, stock.article.sku
        )

    def save_model(self, request, obj, form, change):
        services.stock_set_limits(
            article_id=obj.article_id,
            min_quantity=form.cleaned_data["min_quantity"],
            max_quantity=form.cleaned_data["max_quantity"],
        )

    @admin.action(description="Restock selected articles", permissions=["restock"])
    def restock(self, request, queryset):
        """Asks the quantity and reference, then books them for every selected article, all or none."""
        form = RestockForm(request.POST if "apply" in request.POST else None)
        if not form.is_valid():
            intro = "Book one delivery for these articles: all of it, or nothing."
            return self._action_page(request, "restock", "Restock", intro, form, queryset, list_stocks=True)
        quantity = form.cleaned_data["quantity"]
        lines = [services.DeliveryLine("", stock.article.sku, quantity) for stock in queryset]
        try:
            # One delivery: all of it is booked, or none, as from GraphQL and the command.
            services.stock_deliver(lines=lines, reference=form.cleaned_data["reference"], user=request.user)
        except DeliveryRefused as refused:
            problems = " ".join(problem["message"] for problem in refused.details["problems"])
            self.message_user(request, f"Nothing was booked: {problems}", messages.ERROR)
        except DomainError as error:
            self.message_user(request, f"Nothing was booked: {error.message}", messages.ERROR)
        else:
            self.message_user(request, f"Restocked {len(lines)} article(s).", messages.SUCCESS)
        return None

    @admin.action(description="Count selected articles (inventory)", permissions=["change"])
    def count(self, request, queryset):
        """Asks the units found for each selected article; books the differences in the ledger."""
        form = CountForm(request.POST if "apply" in request.POST else None, stocks=queryset)
        if not form.is_valid():
            intro = "Enter the units counted on the shelf; each difference is booked as an adjustment."
            return self._action_page(request, "count", "Count", intro, form, queryset, list_stocks=False)
        reason = form.cleaned_data["reason"]
        self.apply_each(
            request,
            form.stocks,
            lambda stock: services.stock_adjust(
                article_id=stock.article_id, quantity=form.counted(stock), reason=reason, user=request.user
            ),
            label=lambda stock: str(stock.article),
            done=lambda count: f"Counted {count} article(s).",
        )
        return None

    def _action_page(self, request, action, title, intro, form, stocks, *, list_stocks):
        context = {
            **self.admin_site.each_context(request),
            "title": title,
            "intro": intro,
            "action": action,
            "opts": self.opts,
            "form": form,
            "stocks": stocks,
            "list_stocks": list_stocks,
            "action_checkbox_name": ACTION_CHECKBOX_NAME,
        }
        return TemplateResponse(request, "admin/stocks/stock/action.html", context)


@admin.register(StockMovement)
class StockMovementAdmin(ReadOnlyAdmin):
    list_display = ("created_at", sku, "kind", "delta", "quantity_after", "reference", "user")
    list_filter = ("kind", "created_at")
    search_fields = ("article__sku", "reference")
    list_select_related = ("article", "user")
    show_full_result_count = False

    def get_queryset(self, request):
        return selectors.movement_list()
