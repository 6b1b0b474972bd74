"""The admin's report page: stock levels and best sellers, as a sortable table and two bar charts.

A door over two apps' selectors (`stock_report`, `order_best_sellers`), both cached until a write
commits. It lives in the back office, above the domain apps, rather than in stocks, which may not
import orders (orders depends on stocks, never the reverse).
"""

from django import forms
from django.contrib import admin
from django.core.exceptions import PermissionDenied
from django.http import Http404
from django.template.response import TemplateResponse
from django.utils.dateparse import parse_datetime

from core.charts import BarInput, bar_chart
from core.errors import NotFound
from orders.selectors import order_best_sellers
from stocks.charts import stock_chart
from stocks.selectors import stock_report

REQUIRED_PERMISSIONS = ("stocks.view_stock", "orders.view_order")
CHART_ROWS = 40
BEST_SELLERS = 10


class ReportFilterForm(forms.Form):
    search = forms.CharField(required=False, max_length=100, label="SKU or name")
    low = forms.BooleanField(required=False, label="Low stock only")
    page = forms.IntegerField(required=False, min_value=1)  # from the page links, not the form


def _best_sellers_chart(rows: list[dict]):
    return bar_chart(
        [
            BarInput(
                label=row["sku"],
                value=row["units"],
                title=f"{row['sku']} {row['name']}: {row['units']} units in {row['orders']} orders",
            )
            for row in rows
        ],
        axis_label="Units sold",
    )


def _page_links(request, report: dict) -> dict[str, str]:
    """The previous and next pages' addresses, with the same filters."""
    links = {}
    for name, number in (("previous", report["page"] - 1), ("next", report["page"] + 1)):
        if 1 <= number <= report["pages"]:
            query = request.GET.copy()
            query["page"] = number
            links[name] = f"?{query.urlencode()}"
    return links


def stock_report_page(request):
    """Staff who may see both stock and orders (clerks, managers); `admin_view` has checked the login."""
    if not request.user.has_perms(REQUIRED_PERMISSIONS):
        raise PermissionDenied
    form = ReportFilterForm(request.GET)
    filters = form.cleaned_data if form.is_valid() else {}
    try:
        report = stock_report(
            search=filters.get("search", ""),
            is_low=True if filters.get("low") else None,
            page=filters.get("page") or 1,
        ).data
    except NotFound as missing:
        raise Http404(missing.message) from None
    sellers = order_best_sellers(limit=BEST_SELLERS).data["results"]
    context = {
        **admin.site.each_context(request),
        "title": "Stock and sales report",
        "form": form,
        "generated_at": parse_datetime(report["generated_at"]),
        "totals": report["totals"],
        "articles": report["articles"],
        "page": report["page"],
        "pages": report["pages"],
        "page_links": _page_links(request, report),
        "stock_chart": stock_chart(report["articles"], limit=CHART_ROWS),
        "best_sellers": sellers,
        "best_sellers_chart": _best_sellers_chart(sellers),
    }
    return TemplateResponse(request, "admin/reports/stock.html", context)
