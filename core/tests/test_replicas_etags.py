"""Two store replicas on one database and one Redis revalidate each other's answers.

Both are served by gunicorn as deployed (two workers each). When every process's copy of a read is
stale at once (after a write), each may compute the read itself, each with its own `generated_at`.
A client's `If-None-Match` must still be answered 304 by whichever replica or worker it reaches.
"""

from pathlib import Path

import pytest
import requests
from rest_framework.authtoken.models import Token

from .processes import running_store, store_environment

pytestmark = pytest.mark.django_db(transaction=True)

REPORT = "/api/v1/reports/stock/"


def replica(tmp_path: Path, name: str, *, redis_url: str, payments_url: str):
    log_dir = tmp_path / name
    log_dir.mkdir()
    return running_store(store_environment(redis_url=redis_url, payments_url=payments_url), log_dir=log_dir)


@pytest.fixture
def replicas(transactional_db, redis_server, payments_nowhere, tmp_path):
    with (
        replica(tmp_path, "first", redis_url=redis_server.url, payments_url=payments_nowhere) as first,
        replica(tmp_path, "second", redis_url=redis_server.url, payments_url=payments_nowhere) as second,
    ):
        yield first, second


def test_replicas_that_computed_the_same_report_each_answer_304_to_the_others_etag(
    replicas, redis_server, manager, stocked_article
):
    first, second = replicas
    article = stocked_article(20, sku="TEA-1")
    restock_url = f"/api/v1/stocks/{article.pk}/restock/"
    client = requests.Session()
    client.trust_env = False
    client.headers["Authorization"] = f"Token {Token.objects.create(user=manager).key}"

    restock = client.post(f"{first.url}{restock_url}", json={"quantity": 5, "reference": "DN-1"}, timeout=5)
    assert restock.status_code == 200, restock.text
    computed_by_first = client.get(f"{first.url}{REPORT}", timeout=5)
    # As if the second replica's read had missed at the same moment: it computes the report itself.
    redis = redis_server.client()
    entries = redis.keys("*read:stock-report:*")
    assert entries, "the first replica cached nothing"
    redis.delete(*entries)
    computed_by_second = client.get(f"{second.url}{REPORT}", timeout=5)

    assert computed_by_first.json()["generated_at"] != computed_by_second.json()["generated_at"]
    assert computed_by_first.json()["articles"] == computed_by_second.json()["articles"]
    etag = computed_by_first.headers["ETag"]
    assert computed_by_second.headers["ETag"] == etag
    for server in (first, second) * 4:  # both workers of each, most likely
        revalidated = client.get(f"{server.url}{REPORT}", headers={"If-None-Match": etag}, timeout=5)
        assert (revalidated.status_code, revalidated.content) == (304, b"")

    restock = client.post(f"{second.url}{restock_url}", json={"quantity": 1, "reference": "DN-2"}, timeout=5)
    assert restock.status_code == 200, restock.text
    changed = client.get(f"{first.url}{REPORT}", headers={"If-None-Match": etag}, timeout=5)
    assert changed.status_code == 200 and changed.headers["ETag"] != etag
