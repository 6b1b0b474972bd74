"""`manage.py purge_idempotency_keys`, once and as a worker loop."""

import io
from datetime import timedelta

import pytest
from django.core.management import CommandError, call_command
from django.utils import timezone

from core import worker
from core.tests import StopAfterRounds
from store_infra.models import IdempotencyKey

pytestmark = pytest.mark.django_db


def run(*args) -> str:
    out = io.StringIO()
    call_command(*args, stdout=out)
    return out.getvalue()


def test_purging_deletes_only_the_idempotency_keys_past_their_time_to_live(manager, settings):
    settings.IDEMPOTENCY_KEY_TTL_HOURS = 24
    for key in ("old", "recent"):
        IdempotencyKey.objects.create(
            user=manager,
            scope="orders.create",
            key=key,
            fingerprint="0" * 64,
            response_status=201,
            response_body={},
        )
    IdempotencyKey.objects.filter(key="old").update(created_at=timezone.now() - timedelta(hours=25))

    output = run("purge_idempotency_keys")

    assert list(IdempotencyKey.objects.values_list("key", flat=True)) == ["recent"]
    assert "Deleted 1 idempotency key(s)" in output


@pytest.mark.django_db(transaction=True)
def test_purging_as_a_worker_runs_a_round_an_interval_and_beats_after_each(monkeypatch, tmp_path):
    monkeypatch.setattr(worker, "sleep", StopAfterRounds(2))
    heartbeat = tmp_path / "heartbeat"

    output = run("purge_idempotency_keys", "--loop", "--interval", "1", "--heartbeat", str(heartbeat))

    assert output.count("Deleted 0 idempotency key(s)") == 2
    assert output.rstrip().endswith("Stopped.")
    assert heartbeat.exists()


@pytest.mark.parametrize("interval", ["0", "-5", "nan", "inf", "soon"])
def test_a_worker_refuses_an_interval_that_is_not_a_positive_number_of_seconds(monkeypatch, interval):
    monkeypatch.setattr(worker, "sleep", StopAfterRounds(1))  # were it accepted: one round, not forever

    with pytest.raises(CommandError, match=f"argument --interval: '{interval}' is not a positive number"):
        run("purge_idempotency_keys", "--loop", "--interval", interval)
