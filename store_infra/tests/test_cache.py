"""store_infra.cache against the suite's real Redis: versions, bumps after commit, bumps Redis missed."""

import threading
import time
from concurrent.futures import ThreadPoolExecutor
from decimal import Decimal

import pytest
from django.contrib.sessions.models import Session
from django.core.cache import cache
from django.db import transaction
from django.db.models.signals import post_delete, post_save
from django.test import override_settings
from django.utils import timezone
from prometheus_client import REGISTRY
from rest_framework.authtoken.models import Token

from articles.models import Article
from articles.tests.factories import ArticleFactory
from core.tests.redis_server import DEAD_REDIS
from orders.models import Order, OrderLine
from stocks.models import Stock
from store_infra import cache as read_cache
from store_infra.cache import CachedRead, changed, encode
from store_infra.models import CacheBump
from users.models import User

STOCK_LABEL = Stock._meta.label_lower


class Source:
    """A computation that counts its runs and returns whatever `value` holds now (the "database")."""

    def __init__(self, value):
        self.value = value
        self.runs = 0

    def __call__(self):
        self.runs += 1
        return {"value": self.value}


def read(source: Source, *, depends_on=(Stock,), name: str = "unit", key: str = "1") -> dict:
    return CachedRead(name, depends_on=depends_on).get(key, source).data


def version(model):
    return cache.get(read_cache._version_key(model._meta.label_lower))


@pytest.fixture
def bump_now(django_capture_on_commit_callbacks):
    """Returns changed() as a committed write calls it: the bump runs as its transaction commits."""

    def bump(*models):
        with django_capture_on_commit_callbacks(execute=True):
            changed(*models)

    return bump


@pytest.fixture
def quick_retry(monkeypatch):
    """The cache is tried again 0.2 s after a failure instead of a second, to keep tests short."""
    monkeypatch.setattr(read_cache, "RETRY_AFTER_SECONDS", 0.2)
    return lambda: time.sleep(0.21)


# --- versions -----------------------------------------------------------------------------------


def test_a_read_is_computed_once_then_served_from_the_cache():
    source = Source(1)
    assert read(source) == {"value": 1}
    source.value = 2  # changed behind the cache's back: nobody invalidated, so the cache still answers
    assert read(source) == {"value": 1}
    assert source.runs == 1


def test_the_first_version_of_a_model_comes_from_the_clock():
    before = time.time_ns()
    read(Source(1))
    after = time.time_ns()
    assert before <= version(Stock) <= after
    assert version(Order) is None  # created only when a read needs it


@pytest.mark.django_db
def test_a_bump_makes_the_next_read_recompute(bump_now):
    source = Source(1)
    read(source)
    first = version(Stock)
    source.value = 2
    bump_now(Stock)
    assert version(Stock) == first + 1
    assert read(source) == {"value": 2}
    assert read(source) == {"value": 2}
    assert source.runs == 2


@pytest.mark.django_db
def test_a_bump_leaves_the_reads_of_other_models_cached(bump_now):
    stock, sales = Source("stock"), Source("sales")
    read(stock, depends_on=(Stock,), key="a")
    read(sales, depends_on=(Order,), key="b")
    bump_now(Stock)
    read(stock, depends_on=(Stock,), key="a")
    read(sales, depends_on=(Order,), key="b")
    assert (stock.runs, sales.runs) == (2, 1)


@pytest.mark.django_db
def test_a_read_of_two_models_is_recomputed_when_either_changes(bump_now):
    source = Source(1)
    read(source, depends_on=(Stock, Order))
    bump_now(Order)
    read(source, depends_on=(Stock, Order))
    bump_now(Stock)
    read(source, depends_on=(Stock, Order))
    assert source.runs == 3


def test_entries_cached_under_an_evicted_version_are_never_served_again():
    source = Source("old")
    read(source)
    old_version = version(Stock)
    cache.delete(read_cache._version_key(STOCK_LABEL))  # evicted (or expired) while its entries remain
    assert cache.get("read:unit:1")[0] == f"{old_version}+0"

    source.value = "new"
    assert read(source) == {"value": "new"}
    assert version(Stock) > old_version


@pytest.mark.django_db
def test_a_bump_of_an_evicted_version_starts_again_from_the_clock_above_the_old_one(bump_now):
    source = Source("old")
    read(source)
    old_version = version(Stock)
    cache.delete(read_cache._version_key(STOCK_LABEL))
    source.value = "new"
    bump_now(Stock)
    assert version(Stock) > old_version
    assert read(source) == {"value": "new"}


@pytest.mark.django_db
def test_a_commit_bumps_each_model_it_changed_by_one_and_a_missing_version_from_the_clock(bump_now):
    read(Source(1), depends_on=(Stock, Order, OrderLine))
    stock, order = version(Stock), version(Order)
    cache.delete(read_cache._version_key(OrderLine._meta.label_lower))
    before = time.time_ns()
    bump_now(Stock, Order, OrderLine)
    assert (version(Stock), version(Order)) == (stock + 1, order + 1)
    assert version(OrderLine) > before


def test_a_flushed_cache_recomputes_every_read():
    source = Source("old")
    read(source)
    cache.clear()
    source.value = "new"
    assert read(source) == {"value": "new"}


# --- bumps happen after commit, and only after commit -------------------------------------------


@pytest.mark.django_db
def test_a_change_is_bumped_once_its_transaction_commits(django_capture_on_commit_callbacks):
    source = Source(1)
    read(source)
    first = version(Stock)
    with django_capture_on_commit_callbacks(execute=False) as callbacks:
        changed(Stock)
    assert version(Stock) == first
    assert len(callbacks) == 1

    callbacks[0]()
    assert version(Stock) == first + 1


@pytest.mark.django_db(transaction=True)
def test_a_reader_inside_the_writing_transaction_still_gets_the_cached_value_until_it_commits():
    source = Source(1)
    read(source)
    first = version(Stock)
    with transaction.atomic():
        changed(Stock)
        source.value = 2
        assert version(Stock) == first
        assert read(source) == {"value": 1}
    assert version(Stock) == first + 1
    assert read(source) == {"value": 2}


@pytest.mark.django_db(transaction=True)
def test_a_rolled_back_transaction_bumps_nothing():
    source = Source(1)
    read(source)
    first = version(Stock)
    with pytest.raises(RuntimeError), transaction.atomic():
        changed(Stock, Order)
        raise RuntimeError("refused")
    assert version(Stock) == first
    assert version(Order) is None
    read(source)
    assert source.runs == 1


@pytest.mark.django_db(transaction=True)
def test_a_rolled_back_savepoint_bumps_nothing_even_when_the_outer_transaction_commits():
    read(Source(1))
    first = version(Stock)
    with transaction.atomic(), pytest.raises(RuntimeError), transaction.atomic():
        changed(Stock)
        raise RuntimeError("refused")
    assert version(Stock) == first


@pytest.mark.django_db(transaction=True)
def test_outside_a_transaction_a_change_is_bumped_at_once():
    read(Source(1))
    first = version(Stock)
    changed(Stock)
    assert version(Stock) == first + 1


# --- which writes bump: the models the reads declare ---------------------------------------------


@pytest.mark.django_db
def test_a_row_saved_or_deleted_bumps_its_models_version_once_committed(django_capture_on_commit_callbacks):
    source = Source("before")
    read(source, depends_on=(Article,))
    with django_capture_on_commit_callbacks(execute=True):
        article = ArticleFactory()  # saved by the ORM, no service involved
        source.value = "saved"
    assert read(source, depends_on=(Article,)) == {"value": "saved"}
    with django_capture_on_commit_callbacks(execute=True):
        article.delete()
        source.value = "deleted"
    assert read(source, depends_on=(Article,)) == {"value": "deleted"}


@pytest.mark.django_db
def test_a_write_to_a_model_no_read_depends_on_bumps_nothing(django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks(execute=True) as callbacks:
        Session.objects.create(session_key="k" * 32, session_data="", expire_date=timezone.now())
    assert callbacks == []
    assert "sessions.session" not in read_cache._watched


def test_every_process_watches_the_models_its_apps_reads_depend_on():
    """store_infra's app imports every app's selectors at start-up (as for a command that never
    reads): each model a cached read depends on has its signals connected."""
    assert {
        "articles.article",
        "stocks.stock",
        "orders.order",
        "orders.orderline",
        "users.user",
        "authtoken.token",
    } <= read_cache._watched
    for model in (Article, Stock, Order, OrderLine, User, Token):
        assert post_save.has_listeners(model) and post_delete.has_listeners(model), model


# --- a cache that fails -------------------------------------------------------------------------


@pytest.mark.django_db
def test_while_the_cache_fails_every_read_is_computed_and_the_cache_is_reported_degraded():
    source = Source(1)
    with override_settings(CACHES=DEAD_REDIS):
        assert read(source) == {"value": 1}
        assert not read_cache.state.usable()
        source.value = 2
        assert read(source) == {"value": 2}
        assert read_cache.cache_status() == "degraded"
    assert source.runs == 2


@pytest.fixture
def bumps_checked(settings):
    """The bumps made in the database read at every read (settings/test.py leaves them unread)."""
    settings.READ_CACHE_BUMPS_CHECK_SECONDS = 0


def database_bumps(model) -> int:
    bump = CacheBump.objects.filter(model=model._meta.label_lower).first()
    return bump.count if bump else 0


@pytest.mark.django_db
def test_a_bump_redis_missed_is_made_in_the_database_and_hides_the_entries_cached_before_it(
    bump_now, quick_retry, bumps_checked
):
    source = Source("before")
    read(source)
    first = version(Stock)

    with override_settings(CACHES=DEAD_REDIS):
        source.value = "after"
        bump_now(Stock)  # committed while Redis does not answer
        assert not read_cache.state.usable()
        assert read(source) == {"value": "after"}  # from the "database" while the cache is skipped
    assert database_bumps(Stock) == 1

    # Back, still holding the entry cached before the write under a version it never bumped.
    assert version(Stock) == first
    quick_retry()
    runs = source.runs
    assert read(source) == {"value": "after"}
    assert read(source) == {"value": "after"}
    assert source.runs == runs + 1  # one miss, then a hit under the versions with the bump


@pytest.mark.django_db
def test_while_the_cache_is_skipped_a_bump_goes_to_the_database_without_trying_redis(bump_now, bumps_checked):
    read(Source(1))
    first = version(Stock)
    with override_settings(CACHES=DEAD_REDIS):
        read(Source(1))  # the failure opens the breaker
    bump_now(Stock)  # Redis answers again, but the breaker is still open: not tried
    assert (version(Stock), database_bumps(Stock)) == (first, 1)


@pytest.mark.django_db
def test_a_bump_another_process_made_in_the_database_is_seen_once_the_check_interval_has_passed(
    settings,
):
    settings.READ_CACHE_BUMPS_CHECK_SECONDS = 0.2
    source = Source("before")
    read(source)
    source.value = "after"
    CacheBump.increment(STOCK_LABEL)  # as a process that cannot reach Redis does after its write

    time.sleep(0.2)
    assert read(source) == {"value": "after"}


@override_settings(READ_CACHE_ENABLED=False)
def test_with_the_read_cache_disabled_every_read_is_computed_and_nothing_is_stored():
    source = Source(1)
    for value in (1, 2, 3):
        source.value = value
        assert read(source) == {"value": value}
    assert source.runs == 3
    assert cache.keys("*") == []


# --- the copies each process keeps, the versions each request reads once ------------------------


@pytest.mark.django_db
def test_a_process_serves_its_own_copy_while_the_versions_are_current(bump_now):
    source = Source(1)
    read(source)
    # The entry leaves Redis but the versions stay: the copy this process kept is still current.
    cache.delete("read:unit:1")
    source.value = 2
    assert read(source) == {"value": 1}
    assert source.runs == 1

    bump_now(Stock)
    assert read(source) == {"value": 2}


def test_a_process_copy_expires_with_the_read_caches_ttl(settings):
    settings.READ_CACHE_TTL_SECONDS = 0
    source = Source(1)
    read(source)
    source.value = 2
    # No bump: only the TTL, the safety net under a bump lost with the process that owed it.
    assert read(source) == {"value": 2}
    assert source.runs == 2


def test_each_read_of_a_process_copy_gets_its_own_data():
    source = Source(1)
    read(source)
    read(source)["value"] = "changed by a caller"
    assert read(source) == {"value": 1}


class SlowSource(Source):
    """A computation that takes a while, as a count of a million orders does: it answers what `value`
    held when it started, and says when that was."""

    def __init__(self, value):
        super().__init__(value)
        self.started = threading.Event()

    def __call__(self):
        answer = super().__call__()
        self.started.set()
        time.sleep(0.3)
        return answer


def test_threads_that_miss_an_entry_together_compute_it_once():
    source = SlowSource(1)
    with ThreadPoolExecutor(max_workers=8) as pool:
        answers = list(pool.map(lambda _: CachedRead("unit", depends_on=(Stock,)).get("1", source), range(8)))
    assert source.runs == 1
    assert {(answer.body, answer.etag) for answer in answers} == {(answers[0].body, answers[0].etag)}


@pytest.mark.django_db
def test_a_thread_that_waited_for_an_older_computation_computes_the_newer_data_itself(bump_now):
    source = SlowSource("before the restock")
    with ThreadPoolExecutor(max_workers=1) as pool:
        before = pool.submit(read, source)
        source.started.wait(timeout=5)
        source.value = "after the restock"
        bump_now(Stock)
        after = read(source)  # waits for the computation under the old versions, then runs its own
        assert before.result() == {"value": "before the restock"}
    assert after == {"value": "after the restock"}
    assert source.runs == 2


def test_entries_of_different_keys_are_computed_at_the_same_time():
    # Each computation waits until all four run at once: computed one after another, they would
    # break the barrier instead.
    together = threading.Barrier(4, timeout=5)
    source = Source(1)

    def compute():
        together.wait()
        return source()

    with ThreadPoolExecutor(max_workers=4) as pool:
        list(pool.map(lambda key: CachedRead("unit", depends_on=(Stock,)).get(str(key), compute), range(4)))
    assert source.runs == 4


@pytest.mark.django_db
def test_a_request_reads_the_versions_once_and_sees_its_own_writes(bump_now):
    source = Source(1)
    read_cache.request_started()
    try:
        assert read(source) == {"value": 1}
        # Another process commits a write after this request read the versions: this request
        # goes on seeing the caches as they were when it started.
        source.value = 2
        cache.incr(read_cache._version_key(STOCK_LABEL))
        assert read(source) == {"value": 1}

        source.value = 3
        bump_now(Stock)  # a write of this request, committed
        assert read(source) == {"value": 3}
    finally:
        read_cache.request_finished()
    assert read(source) == {"value": 3}
    assert source.runs == 2


def read_in_a_request(source: Source) -> dict:
    read_cache.request_started()
    try:
        return read(source)
    finally:
        read_cache.request_finished()


def another_process_writes(source: Source, value) -> None:
    source.value = value
    cache.incr(read_cache._version_key(STOCK_LABEL))


@pytest.fixture
def versions_max_age(settings):
    """Versions reused by a process's requests for 200 ms (READ_CACHE_VERSIONS_MAX_AGE_MS)."""
    settings.READ_CACHE_VERSIONS_MAX_AGE_MS = 200
    read_cache.recent_versions.forget()
    yield
    read_cache.recent_versions.forget()


@pytest.mark.django_db
def test_by_default_each_request_reads_the_versions_and_sees_every_committed_write():
    source = Source(1)
    assert read_in_a_request(source) == {"value": 1}
    another_process_writes(source, 2)
    assert read_in_a_request(source) == {"value": 2}


@pytest.mark.django_db
def test_with_a_versions_max_age_another_process_write_is_seen_that_late_at_most(versions_max_age):
    source = Source(1)
    assert read_in_a_request(source) == {"value": 1}
    another_process_writes(source, 2)
    assert read_in_a_request(source) == {"value": 1}

    time.sleep(0.2)
    assert read_in_a_request(source) == {"value": 2}


@pytest.mark.django_db
def test_with_a_versions_max_age_a_process_sees_its_own_writes_at_once(versions_max_age, bump_now):
    source = Source(1)
    assert read_in_a_request(source) == {"value": 1}
    source.value = 2
    bump_now(Stock)  # a write of this process, committed
    assert read_in_a_request(source) == {"value": 2}


@pytest.mark.django_db
def test_versions_read_while_a_write_of_this_process_committed_are_not_reused(versions_max_age, monkeypatch):
    source = Source(1)
    read_versions = read_cache._read_versions

    def read_while_a_write_commits(labels, **kwargs):
        versions = read_versions(labels, **kwargs)
        another_process_writes(source, 2)  # committed by another thread of this process,
        read_cache.recent_versions.forget()  # which forgets the versions as its bump does
        return versions

    assert read_in_a_request(source) == {"value": 1}
    read_cache.recent_versions.forget()  # as once they are too old
    monkeypatch.setattr(read_cache, "_read_versions", read_while_a_write_commits)
    assert read_in_a_request(source) == {"value": 1}  # the entry of the versions it read
    monkeypatch.setattr(read_cache, "_read_versions", read_versions)
    assert read_in_a_request(source) == {"value": 2}


def counted(name: str) -> float:
    return REGISTRY.get_sample_value(f"read_cache_{name}_total", {"read": "metered"}) or 0.0


@pytest.mark.django_db
def test_hits_and_misses_are_counted_per_read(bump_now):
    hits, misses = counted("hits"), counted("misses")
    source = Source(1)
    for _ in range(3):
        read(source, name="metered")
    bump_now(Stock)
    read(source, name="metered")
    assert (counted("hits") - hits, counted("misses") - misses) == (2, 2)


# --- encoding -----------------------------------------------------------------------------------


def test_an_answer_computed_outside_the_cache_is_tagged_by_its_bytes_and_money_is_exact():
    first = encode({"price": Decimal("4.50"), "quantity": 3})
    assert first.body == b'{"price":"4.50","quantity":3}'
    assert first.etag == encode({"price": Decimal("4.50"), "quantity": 3}).etag
    assert first.etag != encode({"price": Decimal("4.51"), "quantity": 3}).etag
    assert first.etag.startswith('"') and first.etag.endswith('"')
    assert first.data == {"price": "4.50", "quantity": 3}


def test_a_cache_hit_returns_the_bytes_and_etag_that_were_stored():
    source = Source(Decimal("1.10"))
    computed = CachedRead("unit", depends_on=(Stock,)).get("1", source)
    hit = CachedRead("unit", depends_on=(Stock,)).get("1", source)
    assert (hit.body, hit.etag) == (computed.body, computed.etag)
    assert source.runs == 1


@pytest.mark.django_db
def test_processes_that_computed_a_read_under_the_same_versions_answer_the_same_etag(bump_now, monkeypatch):
    report = CachedRead("unit", depends_on=(Stock,))
    source = Source("computed at 10:00:00.001")
    first = report.get("1", source)
    # Another process whose read missed at the same moment: no copy of its own, nothing in Redis yet.
    monkeypatch.setattr(read_cache, "local_copies", read_cache._LocalCopies(size=256))
    cache.delete("read:unit:1")
    source.value = "computed at 10:00:00.002"
    second = report.get("1", source)
    assert source.runs == 2 and second.body != first.body
    assert second.etag == first.etag and first.etag.startswith('W/"')

    assert report.get("2", source).etag != first.etag
    bump_now(Stock)
    assert report.get("1", source).etag != first.etag
