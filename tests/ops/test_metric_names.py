"""Every dashboard panel and alert rule asks for metrics and labels that the running services expose.

Grafana cannot run on our machines, so a renamed metric or label would blank a panel or silence an
alert unnoticed. This starts the four services on Kafka and PostgreSQL, makes them produce the
labelled series (reports, an ack, feedback, a return, an escalation, a dead letter, a failed
webhook), scrapes /metrics and checks every PromQL expression against what it finds.
"""

from __future__ import annotations

import asyncio
import json
import re
from collections import defaultdict
from pathlib import Path

import httpx
import pytest
import yaml
from prometheus_client.parser import text_string_to_metric_families

from services.bus.base import OutgoingMessage
from services.bus.kafka import KafkaBus
from services.settings import KafkaSettings
from tests.conftest import REPO, dev_reports
from tests.e2e.stack import ServiceProcess, running
from tests.ops.promql import parse
from tests.ops.test_compose_and_grafana import dashboard_panels
from tests.support.credentials import OPERATOR, auth_headers

pytestmark = [pytest.mark.e2e, pytest.mark.kafka, pytest.mark.postgres, pytest.mark.timeout(300)]
PROMETHEUS = REPO / "deploy" / "prometheus"
ADDED_BY_PROMETHEUS = {"job", "instance"}  # target labels on every scraped series
# Series that only appear when something fails in a way this test cannot cause on purpose without
# breaking the stack (a relay pass refused by Kafka, a stalled consumer): their label names are
# checked against the declaration in the code instead of a sample.
UNPROVOKED = {"outbox_publish_failures_total", "consumer_restarts_total"}
ADMIN = auth_headers("admin", "tests")

Labels = dict[str, dict[str, set[str]]]  # sample name → label → values seen


def expressions() -> list[tuple[str, str, str]]:
    """(where, PromQL, text that names result labels) of every panel target and alert rule."""
    found = [(f"panel {p['title']!r}", t["expr"], t.get("legendFormat", "")) for p in dashboard_panels()
             for t in p["targets"]]
    for path in sorted((PROMETHEUS / "rules").glob("*.yml")):
        for group in yaml.safe_load(path.read_text())["groups"]:
            for rule in group["rules"]:
                found.append((f"alert {rule['alert']}", rule["expr"], json.dumps(rule.get("annotations", {}))))
    return found


def scrape_jobs() -> set[str]:
    config = yaml.safe_load((PROMETHEUS / "prometheus.yml").read_text())
    return {job["job_name"] for job in config["scrape_configs"]}


def exposed(texts: list[str]) -> tuple[Labels, set[str]]:
    """Labels of every sample, and the names of families that are exposed without any sample yet."""
    samples: Labels = defaultdict(lambda: defaultdict(set))
    empty: set[str] = set()
    for text in texts:
        for family in text_string_to_metric_families(text):
            if not family.samples:
                empty.add(family.name)
            for sample in family.samples:
                labels = samples[sample.name]
                for name, value in sample.labels.items():
                    labels[name].add(value)
    return samples, empty


def declared() -> dict[str, set[str]]:
    """Sample name → label names, as the services' code declares them (imported here, not scraped)."""
    from prometheus_client import REGISTRY

    for service in ("intake", "router", "tracker", "notifier"):
        __import__(f"{service}.bootstrap")
    out: dict[str, set[str]] = {}
    for collector, names in REGISTRY._collector_to_names.items():  # type: ignore[attr-defined]
        for name in names:
            out[name] = set(getattr(collector, "_labelnames", ())) | ({"le"} if name.endswith("_bucket") else set())
    return out


def problems(samples: Labels, empty: set[str]) -> list[str]:
    """What a panel or rule uses that the scrape does not show."""
    declaration, jobs, found = declared(), scrape_jobs(), []
    for where, expr, text in expressions():
        usage = parse(expr)
        known: dict[str, set[str]] = {}
        for selector in usage.selectors:
            metric = selector.metric
            if metric == "up":  # made by Prometheus per target: its jobs are the scrape config's
                known[metric] = set(ADDED_BY_PROMETHEUS)
                for m in selector.matchers:
                    if m.label == "job" and not any(re.fullmatch(m.value, j) for j in jobs):
                        found.append(f"{where}: up{{job{m.op}{m.value!r}}} matches no job of prometheus.yml")
                continue
            if metric in samples:
                labels = set(samples[metric])
            elif metric in UNPROVOKED and metric in declaration and any(metric.startswith(e) for e in empty):
                labels = declaration[metric]
            else:
                found.append(f"{where}: {metric} has no series in the scrape")
                continue
            known[metric] = labels | ADDED_BY_PROMETHEUS
            for m in selector.matchers:
                if m.label not in known[metric]:
                    found.append(f"{where}: {metric} has no label {m.label!r} (it has {sorted(labels)})")
                elif m.op == "=" and metric in samples and m.value not in samples[metric].get(m.label, set()):
                    found.append(f"{where}: {metric}{{{m.label}={m.value!r}}} matches no series")
        for labels, metrics in usage.grouping:
            have = set().union(*(known.get(metric, set()) for metric in metrics)) if metrics else set()
            for label in labels:
                if metrics and label not in have:
                    found.append(f"{where}: grouping by {label!r}, which {metrics} do not have")
        everything = set().union(*known.values()) if known else set()
        for label in re.findall(r"\{\{\s*\.?\$?(?:labels\.)?(\w+)\s*\}\}", text):
            if known and label not in everything and label != "value":
                found.append(f"{where}: names label {label!r}, which the expression's metrics do not have")
    return found


async def _wait_status(client: httpx.AsyncClient, case_id: str, wanted: set[str]) -> dict:  # type: ignore[type-arg]
    async with asyncio.timeout(60):
        while True:
            answer = await client.get(f"/v1/cases/{case_id}")
            if answer.status_code == 200 and answer.json()["status"] in wanted:
                return answer.json()  # type: ignore[no-any-return]
            await asyncio.sleep(0.2)


async def _exercise(urls: dict[str, str], kafka_bootstrap: str, topic_prefix: str) -> None:
    """Reports, a webhook that fails, an ack and feedback, a return and a message that is not JSON."""
    async with httpx.AsyncClient(headers=OPERATOR, timeout=10) as client:
        subscribed = await client.post(f"{urls['notifier']}/v1/subscriptions", headers=ADMIN, json={
            "kind": "reporter", "owner": "grid", "url": "http://127.0.0.1:9/refused", "event_types": ["*"]})
        assert subscribed.status_code == 201, subscribed.text
        reports = [r for r in dev_reports() if r["source"] == "grid"][:4]
        case_ids = [(await client.post(f"{urls['intake']}/v1/reports", json=r)).json()["case_id"] for r in reports]
        tracker = httpx.AsyncClient(base_url=urls["tracker"], headers=OPERATOR, timeout=10)
        cases = [await _wait_status(tracker, c, {"dispatched"}) for c in case_ids[:2]]
        for case, kind, body in ((cases[0], "ack", {}), (cases[0], "feedback", {"outcome": "resolved"}),
                                 (cases[1], "return", {"reason": "not_our_remit", "text": "非本部门职责"})):
            answer = await tracker.post(f"/v1/cases/{case['case_id']}/{kind}", json=body,
                                        headers=auth_headers("department", case['department']))
            assert answer.status_code == 200, answer.text
        await tracker.aclose()
    producer = KafkaBus(KafkaSettings(bootstrap=kafka_bootstrap)).producer()
    # On the department's own reply topic (the tracker made it when the case was routed there).
    reply_topic = f"{topic_prefix}replies.{cases[0]['department']}.v1"
    await producer.send_batch([OutgoingMessage(reply_topic, "x", b"not json")])
    await producer.stop()


async def test_every_panel_and_alert_uses_exposed_metrics_and_labels(
        tmp_path: Path, kafka_bootstrap: str, fresh_postgres: str, topic_prefix: str) -> None:
    env = {"CASEROUTE_KAFKA_BOOTSTRAP": kafka_bootstrap, "CASEROUTE_DATABASE_URL": fresh_postgres,
           "CASEROUTE_TOPIC_PREFIX": topic_prefix, "CASEROUTE_KAFKA__PARTITIONS": "2",
           "CASEROUTE_FIGURES_REFRESH_S": "1", "CASEROUTE_SLA_SCAN_S": "0.5"}
    services = [ServiceProcess(n, env, tmp_path / f"{n}.log") for n in ("intake", "router", "tracker", "notifier")]
    with running(services):
        await asyncio.gather(*(s.wait_ready() for s in services))
        await _exercise({s.name: s.url for s in services}, kafka_bootstrap, topic_prefix)
        earlier = await _tracker_figures(services[2].url)
        # The tracker again, three days later: unacknowledged cases breach, so overdue and escalation series
        # exist. Prometheus would have scraped both processes, so the earlier scrape counts too.
        services[2].stop()
        late_env = {**env, "CASEROUTE_SLA_CLOCK_OFFSET_S": str(3 * 24 * 3600)}
        services[2] = ServiceProcess("tracker", late_env, tmp_path / "tracker-late.log")
        with running([services[2]]):
            await services[2].wait_ready()
            found = await _scrape_until_complete(services, earlier)
    assert not found, "\n".join(found)


async def _tracker_figures(url: str) -> str:
    """The tracker's scrape once its gauges were refreshed and its consumers measured their lag."""
    async with httpx.AsyncClient(timeout=10) as client, asyncio.timeout(60):
        while True:
            text = (await client.get(f"{url}/metrics")).text
            if all(f"\n{name}{{" in text for name in ("first_dispatch_accuracy_ratio", "consumer_lag",
                                                        "dispatch_returns_total", "case_feedback_seconds_bucket")):
                return text
            await asyncio.sleep(0.5)


async def _scrape_until_complete(services: list[ServiceProcess], earlier: str) -> list[str]:
    """Problems of the last scrape, once there are none or 90 s have passed."""
    deadline = asyncio.get_running_loop().time() + 90
    async with httpx.AsyncClient(timeout=10) as client:
        while True:  # gauges refresh every second, lag every few: wait for every series to show
            texts = [earlier, *[(await client.get(f"{s.url}/metrics")).text for s in services]]
            found = problems(*exposed(texts))
            if not found or asyncio.get_running_loop().time() > deadline:
                return found
            await asyncio.sleep(1)
