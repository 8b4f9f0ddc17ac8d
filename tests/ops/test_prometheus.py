"""Prometheus configuration and alert rules pass promtool's checks and the rules' own unit tests."""

from __future__ import annotations

import subprocess

import pytest

from tests.conftest import REPO

CHECK = REPO / "deploy" / "prometheus" / "check.sh"


@pytest.mark.timeout(900)  # a fresh machine installs Debian's prometheus package first
def test_promtool_checks_config_and_rules_and_runs_the_rule_tests() -> None:
    result = subprocess.run(["bash", str(CHECK)], capture_output=True, text=True, timeout=880)
    assert result.returncode == 0, f"{result.stdout}\n{result.stderr}"
    assert "SUCCESS" in result.stdout
