"""Articles in the admin, written through articles.services; their stock is shown, not edited."""

from django.contrib import admin
from django.urls import reverse
from django.utils.html import format_html

from store_infra.admin import ServiceAdmin

from . import selectors, services
from .models import Article

DETAILS = ("sku", "name", "description", "price", "is_active")


@admin.register(Article)
class ArticleAdmin(ServiceAdmin):
    list_display = ("sku", "name", "price", "quantity", "is_active")
    list_filter = ("is_active",)
    search_fields = ("sku", "name")
    list_select_related = ("stock",)
    readonly_fields = ("stock_level", "created_at", "updated_at")

    def get_queryset(self, request):
        return selectors.article_list()

    def get_fieldsets(self, request, obj=None):
        if obj is None:
            return [(None, {"fields": DETAILS})]
        return [
            (None, {"fields": DETAILS}),
            ("Stock", {"fields": ("stock_level",)}),
            ("History", {"fields": ("created_at", "updated_at")}),
        ]

    @admin.display(description="quantity", ordering="stock__quantity")
    def quantity(self, article: Article) -> int:
        return article.stock.quantity

    @admin.display(description="stock")
    def stock_level(self, article: Article) -> str:
        stock = article.stock
        url = reverse("admin:stocks_stock_change", args=[article.pk], current_app=self.admin_site.name)
        ledger = reverse("admin:stocks_stockmovement_changelist", current_app=self.admin_site.name)
        return format_html(
            '<a href="{}">{} units</a> (reorder at {}, capacity {}) &middot; '
            '<a href="{}?article={}">its ledger</a>',
            url,
            stock.quantity,
            stock.min_quantity,
            "none" if stock.max_quantity is None else stock.max_quantity,
            ledger,
            article.pk,
        )

    def save_model(self, request, obj, form, change):
        if change:
            changes = {name: form.cleaned_data[name] for name in form.changed_data}
            services.article_update(article=obj, **changes)
        else:
            obj.pk = services.article_create(**form.cleaned_data).pk

    def delete_model(self, request, obj):
        services.article_delete(article=obj)
