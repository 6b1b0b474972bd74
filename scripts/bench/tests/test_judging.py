"""How the bench reads Locust's figures and judges them: what makes `make bench` pass or fail.

Pure functions on made-up runs; the bench itself is exercised by running it (docs/benchmarks.md).
"""

from collections import Counter

import pytest

from scripts.bench import report, targets
from scripts.bench.runner import Row, Run, _percentile, _rows
from scripts.bench.scenarios import scenarios, select

SCENARIOS = {scenario.key: scenario for scenario in scenarios(clients=16, storm_users=32)}


def _run(key: str, *, rows=(), rss=None, orders=None, index=3) -> Run:
    return Run(
        scenario=SCENARIOS[key],
        index=index,
        seconds=10.0,
        rows=list(rows),
        server_cores=1.5,
        client_cores=0.3,
        rss_mib=rss or {"store": 100.0},
        orders=orders or {"placed": 0, "without_payment": 0, "units": {}},
    )


def _row(name: str, *, requests=100, p95=10.0, statuses=None) -> Row:
    return Row(
        name=name,
        requests=requests,
        failures=0,
        throughput=requests / 10,
        percentiles_ms={50: p95 / 2, 95: p95, 99: p95 * 2},
        mean_bytes=100.0,
        statuses=Counter(statuses or {"200": requests}),
    )


def test_percentile_is_the_nearest_rank_in_locusts_histogram():
    histogram = {1.0: 50, 2.0: 45, 30.0: 4, 400.0: 1}

    assert [_percentile(histogram, 100, p) for p in (50, 95, 99, 100)] == [1.0, 2.0, 30.0, 400.0]


def test_rows_take_their_rate_over_the_recorded_window_and_their_statuses_from_the_locustfile():
    stats = [
        {
            "name": "/health/",
            "method": "GET",
            "num_requests": 300,
            "num_failures": 1,
            "response_times": {"2": 299, "150": 1},
            "total_content_length": 4500,
            "start_time": 1000.0,
            "last_request_timestamp": 1010.0,
        },
        {"name": "/unused/", "method": "GET", "num_requests": 0, "response_times": {}},
    ]
    answers = {"GET /health/": {"statuses": {"200": 299, "502": 1}, "repeated_etags": 0}}

    rows, seconds = _rows(stats, answers)

    assert seconds == 10.0
    assert [(r.name, r.requests, r.throughput, r.server_errors, r.mean_bytes) for r in rows] == [
        ("GET /health/", 300, 30.0, 1, 15.0)
    ]
    assert rows[0].percentiles_ms == {50: 2.0, 95: 2.0, 99: 2.0}


def test_a_5xx_in_any_run_fails_the_bench():
    runs = {
        "health": [
            _run("health", rows=[_row("GET /health/")], index=1),
            _run("health", rows=[_row("GET /health/", statuses={"200": 99, "500": 1})], index=2),
        ]
    }

    verdict = targets.no_server_errors(runs, {"health": 0})

    assert (verdict.passed, verdict.fatal) == (False, True)


def test_a_failure_line_in_a_gunicorn_log_fails_the_bench():
    runs = {"health": [_run("health", rows=[_row("GET /health/")])]}

    assert not targets.no_server_errors(runs, {"health": 0, "payments": 2}).passed


def test_a_throttled_request_fails_the_bench():
    runs = {"warm": [_run("warm", rows=[_row("GET /api/v1/reports/stock/", statuses={"200": 99, "429": 1})])]}

    verdict = targets.not_throttled(runs)

    assert (verdict.passed, verdict.fatal) == (False, True)


def _storm(placed: int, units: dict) -> list[Run]:
    return [_run("storm", orders={"placed": placed, "without_payment": 0, "units": units})]


def test_storm_whose_orders_the_database_holds_exactly_passes():
    check = {"problems": [], "placed": {"orders": 3, "without_payment": 0, "units": {"7": 4, "9": 2}}}

    assert targets.storm_accounted(_storm(3, {"7": 4, "9": 2}), check).passed


@pytest.mark.parametrize(
    "stored",
    [
        {"orders": 4, "without_payment": 0, "units": {"7": 4, "9": 2}},  # an order the clients never saw
        {"orders": 3, "without_payment": 0, "units": {"7": 5, "9": 2}},  # a unit taken twice
    ],
)
def test_storm_whose_orders_the_database_counts_differently_fails_the_bench(stored):
    verdict = targets.storm_accounted(_storm(3, {"7": 4, "9": 2}), {"problems": [], "placed": stored})

    assert (verdict.passed, verdict.fatal) == (False, True)


def test_storm_with_a_broken_ledger_fails_the_bench_and_the_order_target():
    check = {"problems": ["article 7: quantity 3, ledger sum 4"], "placed": {"orders": 0, "units": {}}}
    accounted = targets.storm_accounted(_storm(0, {}), check)
    storm = _run("storm", rows=[_row("POST /api/v1/orders/", p95=20.0)])

    assert not accounted.passed
    assert not targets.order_latency(storm, accounted).passed
    assert "article 7" in accounted.text


def test_order_p95_is_judged_on_the_placed_orders_not_the_refusals():
    accounted = targets.Verdict(True, "invariants", fatal=True)
    storm = _run(
        "storm",
        rows=[
            _row("POST /api/v1/orders/", p95=150.0),
            _row("POST /api/v1/orders/ 409 insufficient_stock", requests=1000, p95=5.0),
        ],
    )

    assert not targets.order_latency(storm, accounted).passed


def test_memory_growing_ten_percent_from_run_2_to_run_3_misses_the_target():
    runs = {
        "storm": [
            _run("storm", rss={"store": 100.0, "payments": 50.0}, index=1),
            _run("storm", rss={"store": 120.0, "payments": 50.0}, index=2),
            _run("storm", rss={"store": 121.0, "payments": 55.0}, index=3),
        ]
    }

    verdict = targets.memory_flat(runs)

    assert not verdict.passed
    assert "storm (payments) +10.0%" in verdict.text


def test_warm_cache_ratio_against_health_is_judged_on_throughput():
    last = {
        "health": _run("health", rows=[_row("GET /health/", requests=1000)]),
        "warm": _run("warm", rows=[_row("GET /api/v1/reports/stock/", requests=400)]),
    }

    (verdict,) = targets.ratios(last)

    assert (verdict.passed, "0.40x" in verdict.text) == (False, True)


def test_selecting_the_reports_brings_the_health_ceiling_along():
    chosen = select(list(SCENARIOS.values()), ["warm", "storm"])

    assert [scenario.key for scenario in chosen] == ["health", "warm", "storm"]


def test_selecting_an_unknown_scenario_stops_the_bench():
    with pytest.raises(SystemExit, match="unknown scenario nope"):
        select(list(SCENARIOS.values()), ["nope"])


def test_recording_a_run_replaces_its_commits_section_and_keeps_the_older_ones_without_their_chart(tmp_path):
    path = tmp_path / "benchmarks.md"
    path.write_text(
        f"# Benchmarks\n\n{report.RUNS}\n\n"
        f"<!-- bench:commit=bbb -->\n## run of bbb\n{report.CHART_LINE}(benchmarks.png)\n\n"
        "<!-- bench:commit=aaa -->\n## run of aaa\n"
    )

    report.record(path, "ccc", "<!-- bench:commit=ccc -->\n## run of ccc\n")
    report.record(path, "ccc", f"<!-- bench:commit=ccc -->\n## rerun of ccc\n{report.CHART_LINE}(x.png)\n")

    text = path.read_text()
    assert [line for line in text.splitlines() if line.startswith("## ")] == [
        "## rerun of ccc",
        "## run of bbb",
        "## run of aaa",
    ]
    assert text.count(report.CHART_LINE) == 1


def test_recording_a_section_without_a_chart_leaves_the_chart_where_it_is(tmp_path):
    """The gateway's cost is recorded apart, with no chart: the last Locust run keeps its own."""
    path = tmp_path / "benchmarks.md"
    locust = f"<!-- bench:commit=aaa -->\n## run of aaa\n{report.CHART_LINE}(benchmarks.png)\n"
    path.write_text(f"# Benchmarks\n\n{report.RUNS}\n\n{locust}")

    report.record(path, "bbb-gateway", "<!-- bench:commit=bbb-gateway -->\n## the gateway's cost\n")

    text = path.read_text()
    assert text.index("bbb-gateway") < text.index("commit=aaa")
    assert f"{report.CHART_LINE}(benchmarks.png)" in text
