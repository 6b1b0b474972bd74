"""`manage.py sync_payments --loop`, the payments-sync worker of docker-compose.yml."""

from io import StringIO

import pytest
from django.core.management import call_command

from core import worker
from core.tests import StopAfterRounds
from orders.models import Order
from orders.services import order_create


# Not inside a test transaction: the worker closes stale connections between rounds, as in production.
@pytest.mark.django_db(transaction=True)
def test_the_sync_worker_survives_an_unavailable_payments_service_and_beats_after_each_round(
    monkeypatch, tmp_path, customer, clerk, stocked_article
):
    # conftest points PAYMENTS_URL at a port that refuses connections.
    article = stocked_article(quantity=5)
    order_create(customer=customer, lines=[{"article": article.pk, "quantity": 1}], created_by=clerk)
    monkeypatch.setattr(worker, "sleep", StopAfterRounds(3))
    heartbeat = tmp_path / "run" / "heartbeat"  # its folder is made by the worker
    output, errors = StringIO(), StringIO()

    arguments = ["--loop", "--interval", "1", "--heartbeat", str(heartbeat)]
    call_command("sync_payments", *arguments, stdout=output, stderr=errors)

    assert heartbeat.exists()
    assert errors.getvalue().count("Stopped: ") == 3
    assert "1 order(s) left for the next run" in errors.getvalue()
    assert output.getvalue().rstrip().endswith("Stopped.")
    assert Order.objects.get().payment_id is None
