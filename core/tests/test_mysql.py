"""Production runs MySQL 8.4, the tests MariaDB: MySQL returns no ids from a multi-row INSERT (MariaDB
does, with RETURNING), and Django then leaves them unset. MariaDB is made to answer as MySQL does.
And the connections run READ COMMITTED, but a consistent snapshot reads one moment of the database.
"""

import io
import threading

import pytest
from django.core.management import call_command
from django.db import connection, connections, transaction

from core.db import bulk_insert, consistent_snapshot
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


def _committed_by_another_session(username: str) -> None:
    def create() -> None:
        User.objects.create(username=username, email=f"{username}@example.com")
        connections.close_all()

    thread = threading.Thread(target=create)
    thread.start()
    thread.join()


@pytest.mark.django_db(transaction=True)
def test_a_consistent_snapshot_does_not_see_what_commits_between_its_reads():
    """The stock report reads its page and its totals in one: they must describe the same moment."""
    with transaction.atomic():  # READ COMMITTED: the second read sees the commit
        before = User.objects.count()
        _committed_by_another_session("ann")
        assert User.objects.count() == before + 1

    with consistent_snapshot():
        before = User.objects.count()
        _committed_by_another_session("bob")
        assert User.objects.count() == before

    assert User.objects.count() == before + 1
