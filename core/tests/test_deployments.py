"""The store and the payments service are separate deployments: none of payments lives in the store."""

import pytest
from django.apps import apps
from django.db import connection


def test_the_store_does_not_install_the_payments_app():
    assert not apps.is_installed("payments")


@pytest.mark.django_db
def test_the_store_database_has_no_payments_table():
    assert [table for table in connection.introspection.table_names() if table.startswith("payments_")] == []
