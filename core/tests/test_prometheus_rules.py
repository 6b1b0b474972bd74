"""docker/prometheus: the configuration, recording rules and alerts as Prometheus reads them
(Debian's promtool, installed by `scripts/bootstrap.sh --test` with prometheus), and each alert
unit-tested on synthetic series (alerts.test.yml)."""

import subprocess
from pathlib import Path

import pytest

PROMETHEUS = Path(__file__).resolve().parents[2] / "docker" / "prometheus"
PROMTOOL = "/usr/bin/promtool"


def promtool(*arguments: str) -> str:
    run = subprocess.run([PROMTOOL, *arguments], cwd=PROMETHEUS, capture_output=True, text=True, timeout=60)
    assert run.returncode == 0, run.stdout + run.stderr
    return run.stdout


@pytest.mark.parametrize(
    ("arguments", "says"),
    [
        (["check", "config", "prometheus.yml"], "Checking alerts.yml\n  SUCCESS: 7 rules found"),
        (["check", "rules", "rules.yml", "alerts.yml"], "Checking rules.yml\n  SUCCESS: 7 rules found"),
        (["test", "rules", "alerts.test.yml"], "SUCCESS"),
    ],
    ids=["config", "rules", "alert unit tests"],
)
def test_prometheus_reads_the_rules_and_every_alert_fires_as_its_unit_test_says(arguments, says):
    assert says in promtool(*arguments)
