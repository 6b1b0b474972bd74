"""The PNG chart of a run: throughput and latency percentiles of every request of every scenario.

matplotlib on its Agg backend (no display needed). Both axes are logarithmic: /health/ answers
thousands a second in a few milliseconds, an order tens a second in tens of milliseconds.
"""

from pathlib import Path

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt

from .runner import PERCENTILES, Run
from .targets import ORDER_P95_MS

COLOURS = ("#4c72b0", "#dd8452", "#c44e52")


def draw(runs: list[Run], path: Path, title: str) -> None:
    """One horizontal bar per request row: req/s on the left, p50/p95/p99 on the right."""
    labels, throughputs, latencies = [], [], []
    for run in runs:
        for row in run.rows:
            labels.append(f"{run.scenario.title}: {row.name}")
            throughputs.append(row.throughput)
            latencies.append([row.percentiles_ms[p] for p in PERCENTILES])
    positions = range(len(labels))
    figure, (left, right) = plt.subplots(
        1, 2, figsize=(14, 0.45 * len(labels) + 1.8), sharey=True, gridspec_kw={"width_ratios": (1, 1.3)}
    )
    left.barh(positions, throughputs, color=COLOURS[0])
    left.set_xscale("log")
    left.set_xlabel("requests per second (log)")
    left.set_yticks(list(positions), labels, fontsize=8)
    left.invert_yaxis()
    for position, value in zip(positions, throughputs, strict=True):
        left.text(value, position, f" {value:,.0f}", va="center", fontsize=7)
    height = 0.8 / len(PERCENTILES)
    for index, percentile in enumerate(PERCENTILES):
        right.barh(
            [p + (index - 1) * height for p in positions],
            [values[index] for values in latencies],
            height=height,
            color=COLOURS[index],
            label=f"p{percentile}",
        )
    right.axvline(ORDER_P95_MS, color="grey", linestyle="--", linewidth=1)
    right.text(ORDER_P95_MS, -0.6, f" {ORDER_P95_MS:g} ms: order p95 target", fontsize=7, color="grey")
    right.set_xscale("log")
    right.set_xlabel("latency, ms (log)")
    right.legend(loc="lower right", fontsize=8)
    for axis in (left, right):
        axis.grid(axis="x", which="both", alpha=0.3)
    figure.suptitle(title, fontsize=10)
    figure.tight_layout()
    path.parent.mkdir(parents=True, exist_ok=True)
    figure.savefig(path, dpi=110)
    plt.close(figure)
