from decimal import Decimal

import pytest

from articles.errors import ArticleInUse
from articles.models import Article
from articles.tests.factories import ArticleFactory
from core.tests.admin_pages import (
    admin_url,
    assert_changelist_queries_flat,
    logged_in,
    messages_of,
    run_action,
)
from stocks.models import Stock

pytestmark = pytest.mark.django_db


def article_form(**fields) -> dict:
    return {
        "sku": "TEA-1",
        "name": "Green tea",
        "description": "",
        "price": "4.50",
        "is_active": "on",
        **fields,
    }


@pytest.mark.parametrize("who", ["manager", "clerk"])
def test_the_articles_list_costs_the_same_queries_for_5_or_50_articles(
    request, who, django_assert_num_queries
):
    client = logged_in(request.getfixturevalue(who))

    assert_changelist_queries_flat(client, Article, ArticleFactory.create_batch, django_assert_num_queries)


def test_the_list_shows_each_articles_stock_quantity(clerk, stocked_article):
    stocked_article(quantity=7, sku="MUG-1")

    response = logged_in(clerk).get(admin_url(Article))

    assert b"MUG-1" in response.content
    assert response.context["cl"].result_list[0].stock.quantity == 7
    assert b'<td class="field-quantity">7</td>' in response.content


def test_adding_an_article_creates_its_stock_row(clerk):
    response = logged_in(clerk).post(admin_url(Article, "add"), article_form())

    assert response.status_code == 302
    article = Article.objects.get(sku="TEA-1")
    assert article.price == Decimal("4.50")
    assert Stock.objects.get(article=article).quantity == 0


def test_the_article_page_shows_its_stock_without_letting_it_be_edited(clerk, stocked_article):
    article = stocked_article(quantity=12)

    response = logged_in(clerk).get(admin_url(Article, "change", article.pk))

    assert b"12 units" in response.content
    assert "quantity" not in response.context["adminform"].form.fields


def test_editing_an_article_changes_only_what_was_changed(clerk, stocked_article):
    article = stocked_article(quantity=3, sku="PEN-1", name="Pen")

    form = article_form(sku="PEN-1", name="Blue pen", price="1.20")
    response = logged_in(clerk).post(admin_url(Article, "change", article.pk), form)

    assert response.status_code == 302
    article.refresh_from_db()
    assert (article.name, article.price) == ("Blue pen", Decimal("1.20"))
    assert article.stock.quantity == 3


def test_deleting_an_article_without_history_removes_it_and_its_stock(clerk):
    article = ArticleFactory()

    response = logged_in(clerk).post(admin_url(Article, "delete", article.pk), {"post": "yes"})

    assert response.status_code == 302
    assert not Article.objects.filter(pk=article.pk).exists()
    assert not Stock.objects.filter(article_id=article.pk).exists()


def test_deleting_articles_refuses_those_with_history_and_says_so(clerk, stocked_article):
    with_history, without = stocked_article(quantity=5, sku="OLD-1"), ArticleFactory()

    response = run_action(logged_in(clerk), Article, "delete_selected", [with_history, without], post="yes")

    assert response.status_code == 302
    assert list(Article.objects.values_list("sku", flat=True)) == ["OLD-1"]
    assert messages_of(response) == [f"{with_history}: {ArticleInUse.default_message}", "Deleted 1 article."]
