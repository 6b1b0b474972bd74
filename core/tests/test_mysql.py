"""Production runs MySQL 8.4, the tests MariaDB: MySQL returns no ids from a multi-row INSERT (MariaDB
does, with RETURNING), and Django then leaves them unset. MariaDB is made to answer as MySQL does.
"""

import io

import pytest
from django.core.management import call_command
from django.db import connection

from core.db import bulk_insert
from orders.models import Order
from stocks.models import StockMovement
from users.models import User

pytestmark = pytest.mark.django_db


@pytest.fixture
def inserts_return_no_ids(monkeypatch):
    """MariaDB made to answer multi-row INSERTs as MySQL 8.4 does: without the new ids."""
    monkeypatch.setattr(type(connection.features), "can_return_rows_from_bulk_insert", False)


def test_bulk_insert_gives_every_row_its_id_on_mysql(inserts_return_no_ids):
    users = bulk_insert(User, [User(username=name, email=f"{name}@example.com") for name in ("ann", "bob")])

    assert [user.pk for user in users] == list(User.objects.order_by("pk").values_list("pk", flat=True))


def test_seeding_on_mysql_creates_orders_whose_stock_moves_name_them(inserts_return_no_ids):
    call_command("seed", articles=5, customers=3, orders=12, stdout=io.StringIO())

    order_ids = set(Order.objects.values_list("pk", flat=True))
    references = set(
        StockMovement.objects.filter(reference__startswith="order:").values_list("reference", flat=True)
    )
    assert len(order_ids) == 12
    assert references == {f"order:{pk}" for pk in order_ids}
