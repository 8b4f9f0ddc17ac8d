"""Intake as two processes on one port (CASEROUTE_HTTP_REUSE_PORT): both take reports, either alone keeps going."""

from __future__ import annotations

import asyncio
import os
from pathlib import Path

import httpx
import pytest

from tests.e2e.stack import ServiceProcess, free_port, running
from tests.reliability.load import unique_reports
from tests.support.credentials import OPERATOR

pytestmark = [pytest.mark.e2e, pytest.mark.kafka, pytest.mark.postgres, pytest.mark.timeout(300)]


def _cpu_seconds(process: ServiceProcess) -> float:
    assert process.process is not None
    fields = Path(f"/proc/{process.process.pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


async def _post_each_on_a_new_connection(url: str, reports: list[dict[str, object]]) -> list[int]:
    """A connection per report, so the kernel spreads them over the processes sharing the port."""
    limits = httpx.Limits(max_keepalive_connections=0)
    async with httpx.AsyncClient(base_url=url, headers=OPERATOR, timeout=15, limits=limits) as client:
        semaphore = asyncio.Semaphore(16)

        async def post(report: dict[str, object]) -> int:
            async with semaphore:
                return (await client.post("/v1/reports", json=report)).status_code

        return list(await asyncio.gather(*(post(r) for r in reports)))


async def test_two_intake_processes_share_one_port(tmp_path: Path, kafka_bootstrap: str, fresh_postgres: str,
                                                   topic_prefix: str) -> None:
    env = {"CASEROUTE_KAFKA_BOOTSTRAP": kafka_bootstrap, "CASEROUTE_DATABASE_URL": fresh_postgres,
           "CASEROUTE_TOPIC_PREFIX": topic_prefix, "CASEROUTE_HTTP_REUSE_PORT": "true"}
    port = free_port()
    pair = [ServiceProcess("intake", env, tmp_path / f"intake-{i}.log", port=port) for i in (1, 2)]
    with running(pair) as (first, second):
        await asyncio.gather(first.wait_ready(), second.wait_ready())
        before = [_cpu_seconds(p) for p in pair]
        statuses = await _post_each_on_a_new_connection(first.url, unique_reports(300, "REUSEPORT"))
        assert statuses == [202] * 300
        used = [_cpu_seconds(p) - b for p, b in zip(pair, before, strict=True)]
        # Idle, a process uses well under 10 ms a second; serving its share of 300 reports takes far more.
        assert min(used) > 0.04, f"one process served (almost) nothing: CPU seconds {used}"

        first.stop()  # graceful: SIGTERM, then it closes its listening socket and exits
        assert first.process is not None and first.process.poll() is not None
        statuses = await _post_each_on_a_new_connection(second.url, unique_reports(20, "REUSEPORT-ALONE"))
        assert statuses == [202] * 20  # the other process holds the port on its own

    # Without the setting a second process on a taken port refuses to start rather than serve nothing.
    env_plain = {**env, "CASEROUTE_HTTP_REUSE_PORT": "false"}
    holder = ServiceProcess("intake", env, tmp_path / "holder.log", port=port)
    intruder = ServiceProcess("intake", env_plain, tmp_path / "intruder.log", port=port)
    with running([holder]):
        await holder.wait_ready()
        intruder.start()
        assert intruder.process is not None
        code = await asyncio.to_thread(intruder.process.wait, 60)  # its readiness URL is the holder's: wait it out
        assert code != 0
        assert "address already in use" in intruder.tail().lower()
