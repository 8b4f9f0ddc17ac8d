"""PostgreSQL restarted under load (the test's own server): intake answers 503 meanwhile and loses nothing it took."""

from __future__ import annotations

import asyncio
import time
from pathlib import Path

import httpx
import pytest

from tests.e2e.stack import ServiceProcess, running
from tests.reliability.infra import postgres_server
from tests.reliability.load import post_reports, read_dispatches, unique_reports, wait_cases
from tests.support.credentials import OPERATOR

pytestmark = [pytest.mark.e2e, pytest.mark.kafka, pytest.mark.timeout(300)]
SERVICES = ("intake", "router", "tracker", "notifier")


async def _refused_while_down(url: str, timeout: float = 30) -> httpx.Response:
    """A POST while the database is away: the first non-202 answer."""
    report = unique_reports(1, "PGDOWN-PROBE")[0]
    async with httpx.AsyncClient(headers=OPERATOR, timeout=15) as client, asyncio.timeout(timeout):
        while True:
            response = await client.post(f"{url}/v1/reports", json=report)
            if response.status_code != 202:
                return response
            report = {**report, "external_id": f"{report['external_id']}x"}
            await asyncio.sleep(0.1)


async def test_postgres_restart_mid_load(tmp_path: Path, tmp_path_factory: pytest.TempPathFactory,
                                         kafka_bootstrap: str, topic_prefix: str) -> None:
    with postgres_server(tmp_path_factory.mktemp("pg")) as (database_url, pg):
        env = {"CASEROUTE_KAFKA_BOOTSTRAP": kafka_bootstrap, "CASEROUTE_DATABASE_URL": database_url,
               "CASEROUTE_TOPIC_PREFIX": topic_prefix, "CASEROUTE_KAFKA__PARTITIONS": "2",
               "CASEROUTE_LOG_LEVEL": "WARNING"}
        stack = [ServiceProcess(name, env, tmp_path / f"{name}.log") for name in SERVICES]
        with running(stack):
            await asyncio.gather(*(s.wait_ready() for s in stack))
            intake = stack[0]
            answers: list[httpx.Response] = []
            outage: list[float] = []

            async def restart() -> None:
                await asyncio.to_thread(pg, "stop")
                down = time.monotonic()
                answers.append(await _refused_while_down(intake.url))
                await asyncio.sleep(5)  # hold the outage (not an assertion): pools must notice and reconnect
                await asyncio.to_thread(pg, "start")
                outage.append(time.monotonic() - down)

            tasks: list[asyncio.Task[None]] = []

            def progress(done: int) -> None:
                if done == 150:
                    tasks.append(asyncio.create_task(restart()))

            t0 = time.monotonic()
            load = await post_reports(lambda: intake.url, unique_reports(600, "PG"), in_flight=20, progress=progress)
            await asyncio.gather(*tasks)
            accepted = set(load.accepted.values())
            cases = await wait_cases(database_url, accepted, timeout=180)
            dispatches = await read_dispatches(kafka_bootstrap, topic_prefix, accepted)
            for service in stack:
                await service.wait_ready(60)  # each reconnected: readiness includes its database
        print(f"\npostgres restart: accepted {len(accepted)} of 600, refused {load.refused}, outage {outage[0]:.1f}s, "
              f"worst POST {load.max_latency():.2f}s, cases {len(cases)}, settled in {time.monotonic() - t0:.1f}s, "
              f"second copies of an event id {dispatches.repeated}, doubled {len(dispatches.doubled())}")
        refused = answers[0]
        assert refused.status_code == 503
        assert refused.headers["retry-after"].isdigit()
        assert refused.headers["content-type"].startswith("application/problem+json")
        assert set(load.refused) <= {503}, load.refused
        assert accepted <= set(cases), "an acknowledged report was lost"
        assert dispatches.doubled() == {}
        assert dispatches.copies() == 0, f"a department topic holds an event twice: {dispatches.repeated}"
        assert accepted <= dispatches.cases()
