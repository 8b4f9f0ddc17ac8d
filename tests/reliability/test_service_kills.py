"""kill -9 of intake, router, tracker and notifier, one at a time, during a 5,000-report load."""

from __future__ import annotations

import asyncio
import os
import time
from pathlib import Path

import asyncpg
import httpx
import pytest
from sqlalchemy.engine import make_url

from tests.e2e.stack import ServiceProcess, running
from tests.integration.notifier.support import AUTH
from tests.reliability.load import post_reports, read_dispatches, unique_reports, wait_cases

pytestmark = [pytest.mark.e2e, pytest.mark.kafka, pytest.mark.postgres, pytest.mark.timeout(480)]
# The 5,000 reports: 56 s on the quiet 2-core machine since the router and tracker take a poll per
# transaction (it was 139 s before); CASEROUTE_RELIABILITY_REPORTS sets another load.
REPORTS = int(os.environ.get("CASEROUTE_RELIABILITY_REPORTS", "5000"))
SERVICES = ("intake", "router", "tracker", "notifier")


async def _notifier_events(database_url: str) -> tuple[int, int]:
    """(rows, distinct event ids) of the notifier's received events: a redelivery must not add a row."""
    dsn = make_url(database_url).set(drivername="postgresql").render_as_string(hide_password=False)
    conn = await asyncpg.connect(dsn)
    try:
        row = await conn.fetchrow("SELECT count(*) AS n, count(DISTINCT event_id) AS d FROM notifier_events "
                                  "WHERE topic LIKE '%dispatch.%'")
    finally:
        await conn.close()
    assert row is not None
    return int(row["n"]), int(row["d"])


async def test_kill_each_service_mid_load_loses_and_doubles_nothing(
        tmp_path: Path, kafka_bootstrap: str, fresh_postgres: str, topic_prefix: str) -> None:
    env = {"CASEROUTE_KAFKA_BOOTSTRAP": kafka_bootstrap, "CASEROUTE_DATABASE_URL": fresh_postgres,
           "CASEROUTE_TOPIC_PREFIX": topic_prefix, "CASEROUTE_KAFKA__PARTITIONS": "2", "CASEROUTE_LOG_LEVEL": "WARNING"}
    stack = {name: ServiceProcess(name, env, tmp_path / f"{name}.log") for name in SERVICES}
    # Kill each service once, in turn, at 15/35/55/75 % of the load; restart it at once.
    plan = {int(REPORTS * share): name for share, name in zip((0.15, 0.35, 0.55, 0.75), SERVICES, strict=True)}
    kills: list[asyncio.Task[None]] = []
    downtime: dict[str, float] = {}

    async def kill_and_restart(name: str) -> None:
        started = time.monotonic()
        stack[name].kill()
        stack[name].start()
        await stack[name].wait_ready(90)
        downtime[name] = time.monotonic() - started

    def progress(done: int) -> None:
        if done in plan:
            kills.append(asyncio.create_task(kill_and_restart(plan.pop(done))))

    with running(list(stack.values())):
        await asyncio.gather(*(s.wait_ready() for s in stack.values()))
        # The notifier reads department topics only while a subscription hears their dispatches (issue 17): a
        # supervisor's hears every department's, so the notifier takes in every dispatch of the load.
        async with httpx.AsyncClient(base_url=stack["notifier"].url, timeout=10) as client:
            subscribed = await client.post("/v1/subscriptions", headers=AUTH, json={
                "kind": "supervisor", "owner": "safety-office", "url": "http://127.0.0.1:9/hook",
                "event_types": ["dispatch.*"]})
            assert subscribed.status_code == 201, subscribed.text
        load = await post_reports(lambda: stack["intake"].url, unique_reports(REPORTS, "KILL"), in_flight=50,
                                  progress=progress)
        await asyncio.gather(*kills)
        accepted = set(load.accepted.values())
        posted = time.monotonic()
        cases = await wait_cases(fresh_postgres, accepted, timeout=240)
        settled = time.monotonic() - posted
        dispatches = await read_dispatches(kafka_bootstrap, topic_prefix, {c for c in accepted
                                                                           if cases[c] != "duplicate"})
        async with asyncio.timeout(60):
            while (await _notifier_events(fresh_postgres))[1] < len(dispatches.events):
                await asyncio.sleep(1)
        rows, distinct = await _notifier_events(fresh_postgres)

    print(f"\nkills: load {REPORTS} in {load.seconds:.1f}s, accepted {len(load.accepted)}, refused {load.refused}, "
          f"all cases settled {settled:.1f}s after the load, "
          f"restart seconds {({k: round(v, 1) for k, v in downtime.items()})}, cases {len(cases)}, "
          f"dispatch messages {dispatches.messages}, second copies of an event id {dispatches.repeated}, "
          f"doubled {len(dispatches.doubled())}, notifier events {rows}/{distinct}")
    assert set(downtime) == set(SERVICES)
    assert len(load.accepted) + sum(load.refused.values()) == REPORTS
    assert set(load.refused) <= {0, 503}, load.refused  # only the killed intake may refuse
    assert len(accepted) == len(load.accepted), "two reports got the same case id"
    assert accepted <= set(cases), f"lost {len(accepted - set(cases))} accepted reports"
    assert dispatches.doubled() == {}, "a case was dispatched twice under different event ids"
    assert dispatches.copies() == 0, f"a department topic holds an event twice: {dispatches.repeated}"
    assert {c for c in accepted if cases[c] != "duplicate"} <= dispatches.cases()
    assert rows == distinct, "the notifier stored a redelivered event twice"
