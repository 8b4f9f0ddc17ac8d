"""docker-compose.yml runs the whole system with Prometheus and Grafana; the dashboard is provisioned."""

from __future__ import annotations

import json
import shutil
import subprocess
from pathlib import Path
from typing import Any

import pytest
import yaml

from tests.conftest import REPO

COMPOSE = REPO / "docker-compose.yml"
DASHBOARDS = REPO / "deploy" / "grafana" / "dashboards"
PROVISIONING = REPO / "deploy" / "grafana" / "provisioning"


def compose() -> dict[str, Any]:
    return yaml.safe_load(COMPOSE.read_text())


def dashboard_panels() -> list[dict[str, Any]]:
    """Every non-row panel of every dashboard, rows' nested panels included."""
    panels: list[dict[str, Any]] = []
    for path in sorted(DASHBOARDS.glob("*.json")):
        for panel in json.loads(path.read_text())["panels"]:
            panels += panel.get("panels", []) if panel["type"] == "row" else [panel]
    return panels


def test_compose_has_infrastructure_services_and_monitoring() -> None:
    services = compose()["services"]
    assert {"kafka", "postgres", "intake", "router", "tracker", "notifier", "prometheus", "grafana"} <= set(services)
    for name in ("intake", "router", "tracker", "notifier"):
        assert services[name]["build"] == ".", name  # one Dockerfile for all four
        assert services[name]["command"] == [name]
        assert "healthcheck" in services[name]
    assert "KAFKA_PROCESS_ROLES" in services["kafka"]["environment"]  # KRaft, no ZooKeeper


def test_compose_mounts_exist_and_point_where_the_configs_expect() -> None:
    services = compose()["services"]
    for name in ("prometheus", "grafana"):
        for volume in services[name]["volumes"]:
            source, target = volume.split(":")[:2]
            assert (REPO / source).is_dir(), volume
            if target == "/var/lib/grafana/dashboards":
                provider = yaml.safe_load((PROVISIONING / "dashboards" / "caseroute.yml").read_text())
                assert provider["providers"][0]["options"]["path"] == target
    scrape = yaml.safe_load((REPO / "deploy" / "prometheus" / "prometheus.yml").read_text())
    targets = {t for job in scrape["scrape_configs"] for c in job["static_configs"] for t in c["targets"]}
    assert targets == {f"{name}:8080" for name in ("intake", "router", "tracker", "notifier")}


def test_dashboard_panels_use_the_provisioned_datasource_and_have_queries() -> None:
    datasource = yaml.safe_load((PROVISIONING / "datasources" / "prometheus.yml").read_text())["datasources"][0]
    panels = dashboard_panels()
    assert len(panels) >= 20
    assert len({p["id"] for p in panels}) == len(panels)
    for panel in panels:
        assert panel["datasource"]["uid"] == datasource["uid"], panel["title"]
        assert panel["targets"] and all(t["expr"].strip() for t in panel["targets"]), panel["title"]
    titles = " ".join(p["title"].lower() for p in panels)
    for topic in ("dispatch success", "source", "unit", "department", "acknowledgement latency",
                  "feedback latency", "overdue", "escalations", "returns by reason", "gaps", "consumer lag",
                  "dead letters", "http error rate"):
        assert topic in titles, topic
    exprs = " ".join(t["expr"] for p in panels for t in p["targets"])
    assert "vector(0.988)" in exprs and "first_dispatch_accuracy_ratio" in exprs


def _compose_command() -> list[str] | None:
    if shutil.which("docker") and subprocess.run(["docker", "compose", "version"], capture_output=True).returncode == 0:
        return ["docker", "compose"]
    if shutil.which("docker-compose"):
        return ["docker-compose"]
    return None


def test_docker_compose_config_validates(tmp_path: Path) -> None:
    command = _compose_command()
    if command is None:
        pytest.skip("no Docker Compose here: `docker compose version` fails and there is no docker-compose binary")
    result = subprocess.run([*command, "-f", str(COMPOSE), "config", "-q"], capture_output=True, text=True,
                            cwd=REPO, timeout=60)
    assert result.returncode == 0, result.stderr
