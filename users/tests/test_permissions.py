"""One map from role to permissions (users.permissions.ROLE_PERMISSIONS), which every door consults:
a right taken from a role there is refused by REST, GraphQL and the admin alike."""

import pytest

from core.tests import assert_error
from core.tests.admin_pages import admin_url, logged_in, run_action
from core.tests.graphql import GraphQLClient, error_codes
from stocks.models import Stock, StockMovement
from users import permissions
from users.models import Role

RESTOCK = 'mutation { restock(sku: "TEA-1", quantity: 2, reference: "DN-1") { stock { quantity } } }'


@pytest.fixture
def tea(stocked_article):
    return stocked_article(5, sku="TEA-1")


def without(monkeypatch, role: str, perm: str) -> None:
    monkeypatch.setitem(permissions.ROLE_PERMISSIONS, role, permissions.ROLE_PERMISSIONS[role] - {perm})


def test_a_right_taken_from_suppliers_is_refused_by_rest_and_graphql(monkeypatch, api_client, supplier, tea):
    client, graphql = api_client(supplier), GraphQLClient(supplier)
    url = f"/api/v1/stocks/{tea.pk}/restock/"
    assert client.post(url, {"quantity": 1, "reference": "DN-0"}, format="json").status_code == 200
    graphql.execute(RESTOCK)
    movements = StockMovement.objects.count()

    without(monkeypatch, Role.SUPPLIER, "stocks.restock")

    assert_error(
        client.post(url, {"quantity": 1, "reference": "DN-2"}, format="json"), 403, "permission_denied"
    )
    assert error_codes(graphql.post(RESTOCK).json()) == ["permission_denied"]
    assert StockMovement.objects.count() == movements
    assert client.get(f"/api/v1/stocks/{tea.pk}/").status_code == 200


def actions_offered(client) -> set[str]:
    return {name for name, _ in client.get(admin_url(Stock)).context["action_form"].fields["action"].choices}


def test_a_right_taken_from_clerks_is_refused_by_the_admin(monkeypatch, clerk, tea):
    client = logged_in(clerk)
    assert "restock" in actions_offered(client)

    # Every stock right but restocking.
    monkeypatch.setitem(
        permissions.ROLE_PERMISSIONS,
        Role.CLERK,
        frozenset({"articles.*", "stocks.view_stock", "stocks.change_stock", "stocks.view_stockmovement"}),
    )

    assert actions_offered(client) == {"", "count"}
    assert client.get(admin_url(Stock, "import_delivery")).status_code == 403
    run_action(client, Stock, "restock", [tea.stock], apply="1", quantity="6", reference="DN-7")
    assert Stock.objects.get(pk=tea.pk).quantity == 5
