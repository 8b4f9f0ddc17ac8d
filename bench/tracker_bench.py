"""Tracker at scale: the SLA scan over 1,000,000 open cases, and GET /v1/cases/{id} at 200 requests/s.

Run by `make bench` (needs CASEROUTE_DATABASE_URL; with-infra.sh provides it). Not part of CI.
"""

from __future__ import annotations

import asyncio
import json
import os
import random
import sys
import tempfile
import time
import uuid
from datetime import UTC, datetime, timedelta
from pathlib import Path

import asyncpg
import httpx
from sqlalchemy.engine import make_url

from bench.loadgen import get, open_loop
from bench.machine import write
from services.db import Database
from services.migrate import upgrade
from services.settings import Settings
from tracker.domain.commands import Dispatch, Route
from tracker.domain.sla import CALENDAR_DAYS
from tracker.domain.state import apply, new_case
from tracker.handlers import Deps, escalate_due
from tracker.store import codec

REPO = Path(__file__).resolve().parents[1]
CASES = int(os.environ.get("BENCH_TRACKER_CASES", "1000000"))
DUE = 1000  # cases whose ack window has passed when the scan runs
DEPARTMENTS = ["amr", "ecology", "urban-mgmt", "fire-brigade", "police-nanmen", "safety-office", "culture"]


def _state_template(now: datetime) -> dict:  # type: ignore[type-arg]
    state = new_case("X", received_at=now)
    state, _ = apply(state, Route("amr", 24, 20), now=now)
    state, _ = apply(state, Dispatch("amr"), now=now)
    return codec.dump(state)


def _rows(now: datetime, first: int, count: int, overdue: int):  # type: ignore[no-untyped-def]
    template = _state_template(now)
    for i in range(first, first + count):
        case_id = f"B{i:09d}"
        department = DEPARTMENTS[i % len(DEPARTMENTS)]
        due = now - timedelta(hours=1) if i < overdue else now + timedelta(hours=random.randint(2, 240))
        dispatched = due - timedelta(hours=24)
        state = dict(template, case_id=case_id, department=department,
                     attempts=[dict(template["attempts"][0], department=department,
                                    dispatched_at=dispatched.isoformat())])
        yield (case_id, "dispatched", "grid", "nanmen", department, "R9", "none", 1, "{}", "{}",
               json.dumps(state), dispatched, dispatched, due, dispatched + timedelta(days=20), due, False, dispatched)


async def seed_cases(dsn: str, now: datetime, *, first: int = 0, count: int = CASES, overdue: int = DUE) -> float:
    """COPY `count` dispatched cases (ids B<first>…) into tracker_cases, `overdue` of them past their ack window;
    vacuumed and checkpointed afterwards. Returns the seconds it took."""
    started = time.perf_counter()
    conn = await asyncpg.connect(dsn)
    try:
        columns = ["case_id", "status", "source", "unit", "department", "rule", "hazard", "attempt", "report",
                   "decision", "state", "received_at", "dispatched_at", "ack_due_at", "feedback_due_at",
                   "next_due_at", "overdue", "updated_at"]
        batch: list[tuple] = []  # type: ignore[type-arg]
        for row in _rows(now, first, count, overdue):
            batch.append(row)
            if len(batch) == 50_000:
                await conn.copy_records_to_table("tracker_cases", records=batch, columns=columns)
                batch.clear()
                print(f"\rloaded {int(row[0][1:]) + 1:>9,} cases", end="", file=sys.stderr)
        if batch:
            await conn.copy_records_to_table("tracker_cases", records=batch, columns=columns)
        # Measure the steady state, not the load's aftermath: vacuum and analyse now, and flush the dirty
        # pages, rather than let autovacuum and a checkpoint run during the timed part.
        await conn.execute("VACUUM (ANALYZE) tracker_cases")
        try:
            await conn.execute("CHECKPOINT")
        except asyncpg.InsufficientPrivilegeError:
            print("(no CHECKPOINT privilege: the timed part may overlap one)", file=sys.stderr)
    finally:
        await conn.close()
    print(file=sys.stderr)
    return time.perf_counter() - started


async def _scan(url: str, now: datetime) -> dict[str, float]:
    db = Database(url)
    deps = Deps(db=db, settings=Settings(database_url=url), calendar=CALENDAR_DAYS)
    try:
        started = time.perf_counter()
        raised = 0
        while (n := await escalate_due(deps, now=now, limit=500)) > 0:
            raised += n
        with_escalations = time.perf_counter() - started
        started = time.perf_counter()
        assert await escalate_due(deps, now=now) == 0
        idle = time.perf_counter() - started
    finally:
        await db.dispose()
    return {"escalated": raised, "scan_with_due_seconds": round(with_escalations, 3),
            "scan_nothing_due_seconds": round(idle, 4)}


async def _get_load(url: str, rate: float = 200, seconds: float = 20) -> dict[str, float]:
    """Open loop: requests start on schedule whether or not earlier ones returned (no coordinated omission)."""
    port = 18931
    env = {**os.environ, "CASEROUTE_DATABASE_URL": url, "CASEROUTE_HTTP_PORT": str(port),
           "CASEROUTE_KAFKA_BOOTSTRAP": os.environ.get("CASEROUTE_KAFKA_BOOTSTRAP", ""), "CASEROUTE_SLA_SCAN_S": "3600"}
    log = tempfile.NamedTemporaryFile(prefix="tracker-bench-", suffix=".log", delete=False)
    process = await asyncio.create_subprocess_exec(sys.executable, "-m", "services.cli", "tracker", env=env,
                                                   cwd=REPO, stdout=log, stderr=log)
    try:
        async with httpx.AsyncClient(base_url=f"http://127.0.0.1:{port}", timeout=5) as client:
            async with asyncio.timeout(60):
                while True:
                    try:
                        if (await client.get("/readyz")).status_code == 200:
                            break
                    except httpx.HTTPError:
                        pass
                    await asyncio.sleep(0.3)
        await open_loop("127.0.0.1", port, lambda i: get(f"/v1/cases/B{random.randrange(CASES):09d}"),
                        rate=rate, seconds=2)  # warm-up: connections, caches
        load = await open_loop("127.0.0.1", port, lambda i: get(f"/v1/cases/B{random.randrange(CASES):09d}"),
                               rate=rate, seconds=seconds)
    finally:
        process.terminate()
        await process.wait()
    return {"rate_per_s": rate, "requests": len(load.latencies), "errors": load.errors,
            "statuses": {str(k): v for k, v in load.statuses.items()},
            "p50_ms": round(load.percentile(50) * 1000, 2), "p99_ms": round(load.percentile(99) * 1000, 2),
            "max_ms": round(max(load.latencies) * 1000, 2)}


async def main() -> None:
    base = make_url(os.environ["CASEROUTE_DATABASE_URL"])
    name = f"bench_{uuid.uuid4().hex[:8]}"
    admin = base.set(drivername="postgresql", database="postgres").render_as_string(hide_password=False)
    conn = await asyncpg.connect(admin)
    await conn.execute(f'CREATE DATABASE "{name}"')
    await conn.close()
    url = base.set(database=name).render_as_string(hide_password=False)
    try:
        db = Database(url)
        await upgrade(db, "tracker", REPO / "tracker" / "migrations")
        await db.dispose()
        now = datetime.now(UTC)
        load_seconds = await seed_cases(base.set(drivername="postgresql", database=name)
                                   .render_as_string(hide_password=False), now)
        scan = await _scan(url, now)
        get = await _get_load(url)
    finally:
        conn = await asyncpg.connect(admin)
        await conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        await conn.close()
    result = {"open_cases": CASES, "load_seconds": round(load_seconds, 1), "overdue_scan": scan,
              "get_case": get,
              "targets": {"scan_seconds_max": 2.0, "get_case_p99_ms_max": 20.0},
              "met": {"scan": scan["scan_with_due_seconds"] < 2.0, "get_case_p99": get["p99_ms"] < 20.0}}
    path = write("tracker", result)
    print(json.dumps(result, indent=2))
    print(f"written to {path}", file=sys.stderr)


if __name__ == "__main__":
    asyncio.run(main())
