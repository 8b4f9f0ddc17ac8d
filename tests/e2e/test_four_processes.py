"""End to end: intake, router, tracker and notifier as four processes on real Kafka and PostgreSQL."""

from __future__ import annotations

import asyncio
from pathlib import Path

import httpx
import pytest

from services.bus.kafka import KafkaBus
from services.settings import KafkaSettings
from tests.conftest import dev_reports
from tests.e2e.stack import ServiceProcess, running
from tests.support.credentials import OPERATOR

pytestmark = [pytest.mark.e2e, pytest.mark.kafka, pytest.mark.postgres, pytest.mark.timeout(300)]


def _stack(tmp_path: Path, env: dict[str, str]) -> list[ServiceProcess]:
    return [ServiceProcess(name, env, tmp_path / f"{name}.log") for name in ("intake", "router", "tracker", "notifier")]


async def _collect_dispatches(bootstrap: str, prefix: str, expected: int, timeout: float = 60) -> dict[str, set[str]]:
    """Read every department topic as a department system would: case id → distinct primary event ids."""
    bus = KafkaBus(KafkaSettings(bootstrap=bootstrap))
    consumer = bus.consumer([], f"{prefix}department-probe", pattern=prefix.replace(".", "[.]") + r"dispatch\..*\.v1")
    await consumer.start()
    seen: dict[str, set[str]] = {}
    messages = 0
    try:
        async with asyncio.timeout(timeout):
            while len(seen) < expected:
                for m in await consumer.poll(0.5, 500):
                    messages += 1
                    if b'"role":"primary"' in m.value:
                        seen.setdefault(m.key or "", set()).add(m.header("event_id") or "")
        # keep reading briefly: a second dispatch for a case would arrive now
        for _ in range(4):
            for m in await consumer.poll(0.5, 500):
                if b'"role":"primary"' in m.value:
                    seen.setdefault(m.key or "", set()).add(m.header("event_id") or "")
    finally:
        await consumer.stop()
    return seen


async def test_fifty_reports_become_fifty_cases_each_dispatched_once(
        tmp_path: Path, kafka_bootstrap: str, fresh_postgres: str, topic_prefix: str) -> None:
    env = {"CASEROUTE_KAFKA_BOOTSTRAP": kafka_bootstrap, "CASEROUTE_DATABASE_URL": fresh_postgres,
           "CASEROUTE_TOPIC_PREFIX": topic_prefix, "CASEROUTE_KAFKA__PARTITIONS": "2"}
    reports = dev_reports()[:50]
    with running(_stack(tmp_path, env)) as (intake, router, tracker, notifier):
        await asyncio.gather(*(s.wait_ready() for s in (intake, router, tracker, notifier)))
        async with httpx.AsyncClient(base_url=intake.url, headers=OPERATOR, timeout=10) as client:
            answers = [await client.post("/v1/reports", json=r) for r in reports]
            repeats = [await client.post("/v1/reports", json=r) for r in reports[:10]]
        assert {a.status_code for a in answers + repeats} == {202}
        case_ids = [a.json()["case_id"] for a in answers]
        assert len(set(case_ids)) == 50
        assert [a.json()["case_id"] for a in repeats] == case_ids[:10]
        assert all(a.json()["duplicate_submission"] for a in repeats)

        dispatches = await _collect_dispatches(kafka_bootstrap, topic_prefix, expected=50)
        assert set(dispatches) == set(case_ids)
        assert all(len(ids) == 1 for ids in dispatches.values()), "a case was dispatched twice"

        async with httpx.AsyncClient(base_url=tracker.url, headers=OPERATOR, timeout=10) as client:
            async with asyncio.timeout(60):
                while True:
                    cases = [(await client.get(f"/v1/cases/{c}")) for c in case_ids]
                    if all(r.status_code == 200 and r.json()["status"] in ("dispatched", "gap") for r in cases):
                        break
                    await asyncio.sleep(0.5)
            listed = (await client.get("/v1/cases", params={"limit": 500})).json()["items"]
        assert len(listed) == 50
        first = cases[0].json()
        assert first["timeline"][0]["to_status"] == "received"
        assert first["decision"]["catalogue_version"]

        async with httpx.AsyncClient(base_url=notifier.url, headers=OPERATOR, timeout=10) as client:
            async with asyncio.timeout(30):
                while not (await client.get("/v1/notifier/events", params={"case_id": case_ids[0]})).json():
                    await asyncio.sleep(0.5)
