import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.urls import reverse

from articles.models import Article
from articles.tests.factories import ArticleFactory
from core.tests.admin_pages import (
    admin_url,
    assert_changelist_queries_flat,
    logged_in,
    messages_of,
    run_action,
)
from stocks.models import MovementKind, Stock, StockMovement
from stocks.services import MAX_DELIVERY_LINES, stock_restock

from .invariants import assert_stock_matches_ledger

pytestmark = pytest.mark.django_db


def restocked(count: int, *, user) -> None:
    for article in ArticleFactory.create_batch(count):
        stock_restock(article_id=article.pk, quantity=3, reference="initial", user=user)


@pytest.mark.parametrize("who", ["manager", "clerk"])
def test_the_stock_list_costs_the_same_queries_for_5_or_50_rows(request, who, django_assert_num_queries):
    client = logged_in(request.getfixturevalue(who))

    assert_changelist_queries_flat(client, Stock, ArticleFactory.create_batch, django_assert_num_queries)


def test_the_low_column_marks_low_rows_in_red_and_leaves_the_others_blank(clerk, stocked_article):
    low = stocked_article(2, sku="LOW-1", stock__min_quantity=5)
    stocked_article(9, sku="FINE-1", stock__min_quantity=5)

    page = logged_in(clerk).get(admin_url(Stock)).content.decode()

    rows = page.split("<tr")
    low_row, fine_row = (next(row for row in rows if f">{sku}<" in row) for sku in ("LOW-1", "FINE-1"))
    assert '<span class="low-badge">Low</span>' in low_row and "low-badge" not in fine_row
    assert "icon-yes.svg" not in page and 'href="/static/core/reports.css"' in page
    change = logged_in(clerk).get(admin_url(Stock, "change", low.stock.pk)).content.decode()
    assert f"<h2>Stock of {low}</h2>" in change  # the page names the article, not "id: quantity"


@pytest.mark.parametrize("who", ["manager", "clerk"])
def test_the_ledger_list_costs_the_same_queries_for_5_or_50_lines(
    request, who, manager, django_assert_num_queries
):
    client = logged_in(request.getfixturevalue(who))

    assert_changelist_queries_flat(
        client, StockMovement, lambda n: restocked(n, user=manager), django_assert_num_queries
    )


def test_the_low_stock_filter_keeps_rows_at_or_below_the_reorder_point(clerk, stocked_article):
    low = stocked_article(quantity=2, stock__min_quantity=2)
    stocked_article(quantity=9, stock__min_quantity=2)

    response = logged_in(clerk).get(admin_url(Stock), {"low": "yes"})

    assert [stock.article_id for stock in response.context["cl"].result_list] == [low.pk]


def test_the_restock_action_first_asks_for_quantity_and_reference(clerk, stocked_article):
    article = stocked_article(quantity=4)

    response = run_action(logged_in(clerk), Stock, "restock", [article.stock])

    assert response.status_code == 200
    assert set(response.context["form"].fields) == {"quantity", "reference"}
    assert Stock.objects.get(article=article).quantity == 4


def test_the_restock_action_books_a_ledger_line_per_article(clerk, stocked_article):
    tea, mug = stocked_article(quantity=4), stocked_article(quantity=0)

    response = run_action(
        logged_in(clerk), Stock, "restock", [tea.stock, mug.stock], apply="1", quantity="6", reference="DN-7"
    )

    assert response.status_code == 302
    assert messages_of(response) == ["Restocked 2 article(s)."]
    assert dict(Stock.objects.values_list("article_id", "quantity")) == {tea.pk: 10, mug.pk: 6}
    booked = StockMovement.objects.filter(reference="DN-7")
    assert {(m.article_id, m.delta, m.kind, m.user_id) for m in booked} == {
        (tea.pk, 6, MovementKind.RESTOCK, clerk.pk),
        (mug.pk, 6, MovementKind.RESTOCK, clerk.pk),
    }
    assert_stock_matches_ledger()


def test_the_restock_action_books_nothing_past_a_capacity_and_says_which_article_and_what_fits(
    clerk, stocked_article
):
    full = stocked_article(quantity=8, sku="FULL-1", stock__max_quantity=10)
    roomy = stocked_article(quantity=1)

    response = run_action(
        logged_in(clerk), Stock, "restock", [full.stock, roomy.stock], apply="1", quantity="5", reference="DN"
    )

    assert messages_of(response) == [
        "Nothing was booked: FULL-1 holds 8; 5 more would pass its maximum of 10 (2 fit)."
    ]
    assert dict(Stock.objects.values_list("article_id", "quantity")) == {full.pk: 8, roomy.pk: 1}
    assert_stock_matches_ledger()


def test_the_restock_action_books_nothing_for_a_quantity_below_one(clerk, stocked_article):
    article = stocked_article(quantity=4)

    response = run_action(
        logged_in(clerk), Stock, "restock", [article.stock], apply="1", quantity="0", reference="DN"
    )

    assert response.status_code == 200
    assert "quantity" in response.context["form"].errors
    assert Stock.objects.get(article=article).quantity == 4


def test_limits_are_edited_but_the_quantity_is_not(clerk, stocked_article):
    article = stocked_article(quantity=4)
    form = {"min_quantity": "2", "max_quantity": "20", "quantity": "999"}

    response = logged_in(clerk).post(admin_url(Stock, "change", article.pk), form)

    assert response.status_code == 302
    stock = Stock.objects.get(article=article)
    assert (stock.quantity, stock.min_quantity, stock.max_quantity) == (4, 2, 20)


def test_a_maximum_below_the_quantity_held_is_refused_with_the_services_message(clerk, stocked_article):
    article = stocked_article(quantity=15)
    url = admin_url(Stock, "change", article.pk)

    response = logged_in(clerk).post(url, {"min_quantity": "0", "max_quantity": "10"})

    assert (response.status_code, response.url) == (302, url)
    assert messages_of(response) == ["The stock holds 15, more than the new maximum of 10."]
    assert Stock.objects.get(article=article).max_quantity is None


def test_stock_rows_are_neither_added_nor_deleted_by_hand(manager, stocked_article):
    client = logged_in(manager)
    article = stocked_article(quantity=1)

    assert client.get(admin_url(Stock, "add")).status_code == 403
    assert client.post(admin_url(Stock, "delete", article.pk), {"post": "yes"}).status_code == 403


def test_the_ledger_is_read_only(manager, stocked_article):
    client = logged_in(manager)
    movement = StockMovement.objects.get(article=stocked_article(quantity=2))

    assert client.get(admin_url(StockMovement, "add")).status_code == 403
    assert client.post(admin_url(StockMovement, "change", movement.pk), {"delta": "50"}).status_code == 403
    assert client.post(admin_url(StockMovement, "delete", movement.pk), {"post": "yes"}).status_code == 403
    assert client.get(admin_url(StockMovement, "change", movement.pk)).status_code == 200
    movement.refresh_from_db()
    assert movement.delta == 2


def test_the_ledger_is_searched_by_sku_and_reference(clerk, manager):
    tea, mug = ArticleFactory(sku="TEA-9"), ArticleFactory(sku="MUG-9")
    stock_restock(article_id=tea.pk, quantity=1, reference="DN-1", user=manager)
    stock_restock(article_id=mug.pk, quantity=1, reference="DN-2", user=manager)
    client = logged_in(clerk)

    by_sku = client.get(admin_url(StockMovement), {"q": "TEA-9"}).context["cl"].result_list
    by_reference = client.get(admin_url(StockMovement), {"q": "DN-2"}).context["cl"].result_list

    assert [m.article_id for m in by_sku] == [tea.pk]
    assert [m.article_id for m in by_reference] == [mug.pk]


def test_a_stock_page_and_its_article_page_link_to_its_ledger_and_report_rows_to_the_stock_page(
    clerk, manager, stocked_article
):
    tea, other = stocked_article(7, sku="TEA-1"), stocked_article(3, sku="OTHER-1")
    client = logged_in(manager)
    ledger = f'{admin_url(StockMovement)}?article={tea.pk}"'

    assert ledger in client.get(admin_url(Stock, "change", tea.stock.pk)).content.decode()
    assert ledger in client.get(admin_url(Article, "change", tea.pk)).content.decode()
    listed = client.get(f"{admin_url(StockMovement)}?article={tea.pk}").context["cl"].result_list
    assert {movement.article_id for movement in listed} == {tea.pk}
    assert other.pk not in {movement.article_id for movement in listed}
    report = logged_in(clerk).get(reverse("admin-reports-stock")).content.decode()
    assert f'<a href="{admin_url(Stock, "change", tea.pk)}">TEA-1</a>' in report


def test_the_count_action_asks_each_articles_units_and_books_the_differences_as_adjustments(
    clerk, stocked_article
):
    tea = stocked_article(7, sku="TEA-1")
    mug = stocked_article(3, sku="MUG-1", stock__max_quantity=5)
    client = logged_in(clerk)

    form = run_action(client, Stock, "count", [tea.stock, mug.stock])
    assert form.status_code == 200 and f'name="counted_{tea.pk}" value="7"' in form.content.decode()
    response = run_action(
        client,
        Stock,
        "count",
        [tea.stock, mug.stock],
        apply="1",
        reason="count of 2 Dec",
        **{f"counted_{tea.pk}": "5", f"counted_{mug.pk}": "9"},
    )

    assert messages_of(response) == [
        f"{mug}: The counted quantity 9 passes the maximum of 5.",
        "Counted 1 article(s).",
    ]
    assert dict(Stock.objects.values_list("article_id", "quantity")) == {tea.pk: 5, mug.pk: 3}
    counted = StockMovement.objects.get(kind=MovementKind.ADJUSTMENT)
    assert (counted.article_id, counted.delta, counted.reference, counted.user) == (
        tea.pk,
        -2,
        "count of 2 Dec",
        clerk,
    )
    assert_stock_matches_ledger()


def test_the_count_form_refuses_a_negative_count_and_books_nothing(clerk, stocked_article):
    tea = stocked_article(7, sku="TEA-1")

    response = run_action(
        logged_in(clerk),
        Stock,
        "count",
        [tea.stock],
        apply="1",
        reason="count",
        **{f"counted_{tea.pk}": "-1"},
    )

    assert response.status_code == 200 and response.context["form"].errors
    assert Stock.objects.get(article=tea).quantity == 7
    assert not StockMovement.objects.filter(kind=MovementKind.ADJUSTMENT).exists()


# --- the delivery import --------------------------------------------------------------------------

IMPORT_URL = "/admin/stocks/stock/import-delivery/"


def upload(client, text: str, name: str = "delivery-7.csv", **data):
    file = SimpleUploadedFile(name, text.encode(), content_type="text/csv")
    return client.post(IMPORT_URL, {"file": file, **data})


def test_an_imported_delivery_with_bad_rows_lists_every_one_and_books_nothing(clerk, stocked_article):
    stocked_article(1, sku="TEA-1")
    stocked_article(8, sku="MUG-1", stock__max_quantity=10)

    response = upload(logged_in(clerk), "sku,quantity\nNOPE,1\nMUG-1,3\nTEA-1,many\n")

    assert response.status_code == 200 and "booking" not in response.context
    assert [(p["place"], p["message"]) for p in response.context["problems"]] == [
        ("row 2", "No article has SKU 'NOPE'."),
        ("row 3", "MUG-1 holds 8; 3 more would pass its maximum of 10 (2 fit)."),
        ("row 4", "The quantity 'many' is not a whole number from 1 to 1000000."),
    ]
    assert dict(Stock.objects.values_list("article__sku", "quantity")) == {"TEA-1": 1, "MUG-1": 8}


def test_an_imported_delivery_is_previewed_then_booked_all_at_once_and_only_once(clerk, stocked_article):
    tea, mug = stocked_article(1, sku="TEA-1"), stocked_article(8, sku="MUG-1")
    client = logged_in(clerk)

    preview = upload(client, "SKU,Quantity,note\nTEA-1,4,first\n\nMUG-1,2,\n")

    assert preview.context["rows"] == [
        {"sku": "TEA-1", "before": 1, "added": 4, "after": 5},
        {"sku": "MUG-1", "before": 8, "added": 2, "after": 10},
    ]
    assert dict(Stock.objects.values_list("article_id", "quantity")) == {tea.pk: 1, mug.pk: 8}
    booking = preview.context["booking"].initial
    booked = client.post(IMPORT_URL, {**booking, "book": "1"}, follow=True)

    again = client.post(IMPORT_URL, {**booking, "book": "1"})  # a second click, or the back button

    assert messages_of(booked) == ["Booked 2 line(s), 6 unit(s), reference 'csv:delivery-7.csv'."]
    assert (
        again.context["unreadable"] == "delivery-7.csv was booked already (reference 'csv:delivery-7.csv')."
    )
    assert dict(Stock.objects.values_list("article_id", "quantity")) == {tea.pk: 5, mug.pk: 10}
    movements = StockMovement.objects.filter(reference="csv:delivery-7.csv", kind=MovementKind.RESTOCK)
    assert {(m.article_id, m.delta, m.user_id) for m in movements} == {
        (tea.pk, 4, clerk.pk),
        (mug.pk, 2, clerk.pk),
    }
    assert_stock_matches_ledger()


def test_a_preview_booked_after_the_stock_changed_is_refused_with_its_problems(
    clerk, manager, stocked_article
):
    mug = stocked_article(5, sku="MUG-1", stock__max_quantity=10)
    client = logged_in(clerk)
    booking = upload(client, "sku,quantity\nMUG-1,5\n", reference="DN-9").context["booking"].initial
    stock_restock(article_id=mug.pk, quantity=3, reference="meanwhile", user=manager)

    refused = client.post(IMPORT_URL, {**booking, "book": "1"})

    assert [p["message"] for p in refused.context["problems"]] == [
        "MUG-1 holds 8; 5 more would pass its maximum of 10 (2 fit)."
    ]
    assert Stock.objects.get(article=mug).quantity == 8


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("article,count\nTEA-1,4\n", "delivery-7.csv: the first row must be the header `sku,quantity`."),
        ("sku,quantity\n", "delivery-7.csv has no delivery rows."),
    ],
)
def test_a_file_that_is_no_delivery_is_refused_saying_why(clerk, text, message):
    response = upload(logged_in(clerk), text)

    assert response.context["unreadable"] == message
    assert not StockMovement.objects.exists()


def test_an_altered_preview_is_refused_and_a_supplier_cannot_import(clerk, supplier, stocked_article):
    stocked_article(1, sku="TEA-1")
    client = logged_in(clerk)

    previewed = (
        upload(client, "sku,quantity\nTEA-1,4\n", reference="R").context["booking"].initial["previewed"]
    )
    altered = client.post(
        IMPORT_URL, {"previewed": previewed[:-1] + ("A" if previewed[-1] != "A" else "B"), "book": "1"}
    )

    assert altered.context["unreadable"] == "The previewed file was altered or is too old; upload it again."
    assert not StockMovement.objects.filter(reference="R").exists()
    assert logged_in(supplier).get(IMPORT_URL).status_code == 302  # not staff: sent to the admin's login
    assert 'href="/admin/stocks/stock/import-delivery/"' in client.get(admin_url(Stock)).content.decode()


def test_a_delivery_of_more_lines_than_any_delivery_note_is_refused_whole(clerk, stocked_article):
    stocked_article(1, sku="TEA-1")
    rows = "".join(f"SKU-{n},1\n" for n in range(MAX_DELIVERY_LINES + 1))

    response = upload(logged_in(clerk), f"sku,quantity\n{rows}")

    assert [p["message"] for p in response.context["problems"]] == [
        f"A delivery holds at most {MAX_DELIVERY_LINES:,} lines, not {MAX_DELIVERY_LINES + 1:,}; split it."
    ]
