"""How the light client's runs are judged (scripts/bench/light.py): memory and growth verdicts."""

from scripts.bench import light
from scripts.bench.light import kept_server_ports, parsed
from scripts.bench.light_judging import (
    GROWING,
    REVALIDATION,
    Measured,
    Result,
    _memory_growth,
    growth_verdicts,
    verdicts,
)
from scripts.bench.open_loop import OpenLoopResult


def _result(requests_per_second: float, *, size: float = 1000.0, rss: float = 100.0) -> Result:
    return Result(requests_per_second, 1.0, 2.0, 0, 0, bytes_per_answer=size, store_rss_mib=rss)


def _measured(ratios: dict[str, float], *, size: float = 1000.0, health: float = 1000.0) -> Measured:
    results = {"health": {"direct": [_result(health)] * 3}}
    for name in GROWING:
        results[name] = {"direct": [_result(health * ratios.get(name, 0.5), size=size)] * 3}
    return Measured(results, {"problems": [], "placed": {}}, OpenLoopResult(1.0, 1, 0, 1.0, 1.0, 1.0))


def test_growth_compares_ratios_to_health_so_a_slower_machine_is_not_a_slower_store():
    base = _measured({})
    scaled_on_a_slower_host = _measured({}, health=500.0)

    assert all(line.endswith("PASS") for line in growth_verdicts(base, scaled_on_a_slower_host))


def test_a_read_slower_than_1_5x_or_an_answer_that_grows_fails():
    slower = growth_verdicts(_measured({}), _measured({"article detail": 0.3}))
    bigger = growth_verdicts(_measured({}), _measured({}, size=1300.0))

    assert [line.split(" at 100x")[0] for line in slower if line.endswith("FAIL")] == ["article detail"]
    assert sum(line.endswith("FAIL") for line in bigger) == len(GROWING)


def test_memory_growth_is_each_requests_last_round_against_the_end_of_the_first_round():
    """Rounds run every request in turn: the first health round comes before any other path ran."""
    results = {
        "health": {"direct": [_result(1, rss=90.0), _result(1, rss=101.0)]},
        "order creation": {"direct": [_result(1, rss=100.0), _result(1, rss=111.0)], "gateway": [_result(1)]},
    }

    growth = _memory_growth(results)

    assert round(growth["health"], 3) == 0.01 and round(growth["order creation"], 3) == 0.11


def test_a_revalidation_answered_with_the_report_instead_of_a_304_fails():
    def revalidation_line(sizes: list[float]) -> str:
        measured = _measured({})
        measured.results[REVALIDATION] = {"direct": [_result(600, size=size) for size in sizes]}
        measured.invariants["placed"] = {"orders": 1, "without_payment": 0}
        return next(line for line in verdicts(measured) if line.startswith("Every revalidation"))

    assert revalidation_line([662, 662, 662]).endswith("PASS")
    assert revalidation_line([662, 17_638, 662]).endswith("FAIL")


def test_orders_left_without_their_payment_fail_the_invariants():
    def invariants_line(without_payment: int) -> str:
        measured = _measured({})
        measured.results[REVALIDATION] = {"direct": [_result(600, size=664)] * 3}
        measured.invariants["placed"] = {"orders": 100, "without_payment": without_payment}
        return next(line for line in verdicts(measured) if line.startswith("Invariants"))

    assert invariants_line(0).endswith("PASS")
    assert invariants_line(37).endswith("FAIL")


def test_a_kept_state_folder_gets_its_servers_ports_back_so_its_data_is_found_again(tmp_path):
    first = kept_server_ports(tmp_path)
    again = kept_server_ports(tmp_path)

    servers = ("store_db", "payments_db", "redis")
    assert [getattr(again, name) for name in servers] == [getattr(first, name) for name in servers]
    assert len(set(first.all())) == len(first.all())


# wrk's report of a round whose slowest answers took seconds ("1.17s " ends with a space).
WRK_OUTPUT = """Running 8s test @ http://127.0.0.1:35093/api/v1/orders/
  2 threads and 16 connections
  Thread Stats   Avg      Stdev     Max   +/- Stdev
    Latency   102.09ms  247.50ms   1.31s    90.45%
    Req/Sec   394.58    127.62   707.00     64.49%
  Latency Distribution
     50%   19.64ms
     75%   30.88ms
     90%  310.77ms
     99%    1.17s\x20
  5436 requests in 8.03s, 51.40MB read
  Non-2xx or 3xx responses: 3
Requests/sec:    676.99
Transfer/sec:      6.40MB
"""


def test_wrk_latencies_are_read_in_any_unit_it_prints():
    result = parsed(WRK_OUTPUT, "http://127.0.0.1:35093/api/v1/orders/")

    assert (result.p50_ms, result.p99_ms) == (19.64, 1170.0)
    assert (result.requests_per_second, result.non_2xx, result.socket_errors) == (676.99, 3, 0)
    assert round(result.bytes_per_answer) == round(6.40 * 2**20 / 676.99)


def test_without_a_gateway_the_scaled_run_starts_none_either(monkeypatch):
    stacks = []

    def measure(seconds, rounds, *, scaled=False, gateway=True):
        stacks.append((scaled, gateway))
        measured = _measured({})
        measured.results[REVALIDATION] = {"direct": [_result(500.0, size=664)] * 3}
        measured.invariants["placed"] = {"orders": 10, "without_payment": 0}
        return measured

    monkeypatch.setattr(light, "krakend_missing", lambda: "KrakenD is not installed")
    monkeypatch.setattr(light, "measure", measure)

    assert light.main(["--scale", "--output", "-"]) == 0
    assert stacks == [(False, False), (True, False)]
