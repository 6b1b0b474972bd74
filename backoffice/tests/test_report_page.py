"""The admin's stock and sales report page (backoffice/reports.py), without a browser."""

import pytest
from django.core.cache import cache
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from articles.tests.factories import ArticleFactory
from backoffice.reports import CHART_ROWS
from core.tests.admin_pages import logged_in
from orders.services import order_create
from users import permissions
from users.models import Role

pytestmark = pytest.mark.django_db

URL = reverse("admin-reports-stock")


def skus(rows) -> list[str]:
    return [row["sku"] for row in rows]


@pytest.mark.parametrize("who", [None, "supplier", "customer"])
def test_anyone_but_staff_is_sent_to_the_admin_login(request, who):
    client = logged_in(request.getfixturevalue(who)) if who else Client()

    response = client.get(URL)

    assert response.status_code == 302
    assert response["Location"] == f"{reverse('admin:login')}?next={URL}"


@pytest.mark.parametrize("who", ["manager", "clerk"])
def test_clerks_and_managers_see_the_report_and_its_link_on_the_admin_index(request, who, stocked_article):
    stocked_article(quantity=7, sku="TEA-1")
    client = logged_in(request.getfixturevalue(who))

    response = client.get(URL)

    assert response.status_code == 200
    assert skus(response.context["articles"]) == ["TEA-1"]
    assert response.context["totals"]["units"] == 7
    assert f'href="{URL}"' in client.get(reverse("admin:index")).text


def test_staff_without_the_stock_and_order_permissions_are_refused(clerk, monkeypatch):
    monkeypatch.setitem(permissions.ROLE_PERMISSIONS, Role.CLERK, frozenset({"articles.*", "stocks.*"}))

    assert logged_in(clerk).get(URL).status_code == 403
    assert URL not in logged_in(clerk).get(reverse("admin:index")).text


def test_low_stock_rows_are_highlighted_in_the_table_and_the_chart(clerk, stocked_article):
    stocked_article(quantity=2, sku="LOW-1", stock__min_quantity=5)
    stocked_article(quantity=9, sku="OK-1", stock__min_quantity=5)

    response = logged_in(clerk).get(URL)

    html = response.text
    assert html.count('<tr class="low">') == 1
    assert html.index('<tr class="low">') < html.index("LOW-1</a></td>") < html.index("OK-1</a></td>")
    assert [(bar.label, bar.highlight) for bar in response.context["stock_chart"].bars] == [
        ("LOW-1", True),
        ("OK-1", False),
    ]
    assert html.count('<g class="bar low">') == 1


def test_the_search_and_low_only_filters_narrow_the_table_the_totals_and_the_chart(clerk, stocked_article):
    stocked_article(quantity=1, sku="TEA-LOW", stock__min_quantity=3)
    stocked_article(quantity=8, sku="TEA-OK", stock__min_quantity=3)
    stocked_article(quantity=0, sku="MUG-LOW", stock__min_quantity=3)
    client = logged_in(clerk)

    searched = client.get(URL, {"search": "tea"}).context
    low = client.get(URL, {"search": "tea", "low": "on"}).context

    assert skus(searched["articles"]) == ["TEA-LOW", "TEA-OK"]
    assert skus(low["articles"]) == ["TEA-LOW"]
    assert low["totals"] == {"articles": 1, "units": 1, "stock_value": "9.99", "low_stock": 1}
    assert [bar.label for bar in low["stock_chart"].bars] == ["TEA-LOW"]


def test_a_search_too_long_is_reported_and_the_report_left_unfiltered(clerk, stocked_article):
    stocked_article(sku="TEA-1")

    response = logged_in(clerk).get(URL, {"search": "x" * 101})

    assert response.status_code == 200
    assert response.context["form"].errors["search"]
    assert skus(response.context["articles"]) == ["TEA-1"]


def test_best_sellers_are_charted_by_units_sold(clerk, customer, stocked_article):
    tea, mug = stocked_article(quantity=20, sku="TEA-1"), stocked_article(quantity=20, sku="MUG-1")
    order_create(customer=customer, lines=[{"article": tea.pk, "quantity": 2}], created_by=clerk)
    order_create(customer=customer, lines=[{"article": mug.pk, "quantity": 5}], created_by=clerk)

    chart = logged_in(clerk).get(URL).context["best_sellers_chart"]

    assert [(bar.label, bar.value) for bar in chart.bars] == [("MUG-1", 5), ("TEA-1", 2)]


def test_the_page_costs_the_same_queries_for_10_or_200_articles_and_charts_at_most_40(
    clerk, django_assert_num_queries
):
    client = logged_in(clerk)
    ArticleFactory.create_batch(10)
    client.get(URL)  # warm per-process caches (content types, sessions)
    cache.clear()  # factories write no service, so nothing invalidated the cached report
    with CaptureQueriesContext(connection) as few:
        client.get(URL)
    ArticleFactory.create_batch(190)
    cache.clear()

    with django_assert_num_queries(len(few)):
        response = client.get(URL)

    assert len(response.context["articles"]) == 100  # the first page
    assert len(response.context["stock_chart"].bars) == CHART_ROWS
    assert f"Showing {CHART_ROWS} of 200 articles, from this page" in response.text


def test_the_table_pages_through_the_report_keeping_the_filters(clerk):
    ArticleFactory.create_batch(230, name="Tea")
    client = logged_in(clerk)

    first = client.get(URL, {"search": "tea"})
    assert (first.context["page"], first.context["pages"]) == (1, 3)
    assert first.context["page_links"] == {"next": "?search=tea&page=2"}
    last = client.get(URL + first.context["page_links"]["next"].replace("page=2", "page=3"))
    assert len(last.context["articles"]) == 30
    assert last.context["totals"] == first.context["totals"]
    assert last.context["page_links"] == {"previous": "?search=tea&page=2"}
    assert "Page 3 of 3" in last.text
    assert client.get(URL, {"page": 4}).status_code == 404
