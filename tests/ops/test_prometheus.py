"""Prometheus configuration and alert rules pass promtool's checks and the rules' own unit tests, and the
dashboard's counter panels count a label set's first events."""

from __future__ import annotations

import subprocess
from pathlib import Path
from typing import Any

import pytest
import yaml

from tests.conftest import REPO
from tests.ops.promql import parse
from tests.ops.test_compose_and_grafana import dashboard_panels

CHECK = REPO / "deploy" / "prometheus" / "check.sh"


@pytest.mark.timeout(900)  # a fresh machine installs Debian's prometheus package first
def test_promtool_checks_config_and_rules_and_runs_the_rule_tests() -> None:
    result = subprocess.run(["bash", str(CHECK)], capture_output=True, text=True, timeout=880)
    assert result.returncode == 0, f"{result.stdout}\n{result.stderr}"
    assert "SUCCESS" in result.stdout


def _counter_panels() -> list[tuple[str, str]]:
    """(title, PromQL) of every panel target that counts a counter's rise over a window."""
    return [(p["title"], t["expr"]) for p in dashboard_panels() for t in p["targets"] if "increase(" in t["expr"]]


def _first_event_case(title: str, expr: str) -> dict[str, Any]:
    """A promtool case: the panel's counter has no series for 10 minutes, then appears at 1 (one event).

    That is how a service exposes a label set it had no reason to create earlier (a new unit, department or
    reason; a counter incremented before Prometheus first scraped its 0). The panel must show 1 for it.
    """
    usage = parse(expr)
    metrics = {s.metric for s in usage.selectors}
    assert len(metrics) == 1, f"{title}: one counter per panel expected, found {metrics}"
    grouped = sorted({label for labels, _ in usage.grouping for label in labels})
    labels = {label: f"some-{label}" for label in grouped}
    selector = ",".join(['job="caseroute-x"', 'instance="x:8080"', *(f'{k}="{v}"' for k, v in labels.items())])
    shown = "{" + ",".join(f'{k}="{v}"' for k, v in labels.items()) + "}"
    return {
        "name": f"panel {title!r} counts a series' first event",
        "interval": "1m",
        "input_series": [{"series": f"{metrics.pop()}{{{selector}}}", "values": "_x10 1x80"}],
        "promql_expr_test": [{"expr": expr, "eval_time": f"{m}m", "exp_samples": [{"labels": shown, "value": 1}]}
                             for m in (15, 60)],
    }


@pytest.mark.timeout(900)
def test_dashboard_counter_panels_count_the_first_event_of_a_new_label_set(tmp_path: Path) -> None:
    panels = _counter_panels()
    assert len(panels) >= 8  # cases by unit, department, rule; gaps; escalations; returns; dead letters; restarts
    installed = subprocess.run(["bash", str(CHECK), "install"], capture_output=True, text=True, timeout=880)
    assert installed.returncode == 0, installed.stderr
    tests = tmp_path / "panels.test.yml"
    tests.write_text(yaml.safe_dump({"evaluation_interval": "1m",
                                     "tests": [_first_event_case(title, expr) for title, expr in panels]}))
    result = subprocess.run(["promtool", "test", "rules", str(tests)], capture_output=True, text=True, timeout=120)
    assert result.returncode == 0, f"{result.stdout}\n{result.stderr}"
