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
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import asyncpg
import httpx
import uvloop

from bench.loadgen import get, open_loop
from bench.machine import write
from catalogue.loader import load_catalogue
from router.domain.compiled import compile_catalogue
from router.domain.decide import decide
from schemas.report import Report
from services.db import Database
from services.migrate import upgrade
from services.settings import Settings
from tests.support.credentials import OPERATOR, TEST_AUTH_ENV
from tests.support.databases import scratch_database
from tracker.domain.commands import Dispatch, Route, Transition
from tracker.domain.sla import CALENDAR_DAYS
from tracker.domain.state import apply, new_case
from tracker.handlers import Deps, escalate_due
from tracker.store import codec

REPO = Path(__file__).resolve().parents[1]
CASES = int(os.environ.get("BENCH_TRACKER_CASES", "1000000"))
DUE = 1000  # cases whose ack window has passed when the scan runs
DEPARTMENTS = ["amr", "ecology", "urban-mgmt", "fire-brigade", "police-nanmen", "safety-office", "culture"]


def _state_template(now: datetime) -> tuple[dict[str, Any], list[Transition]]:
    state = new_case("X", received_at=now)
    state, routed = apply(state, Route("amr", 24, 20), now=now)
    state, dispatched = apply(state, Dispatch("amr"), now=now)
    return codec.dump(state), [*routed, *dispatched]


def _documents() -> tuple[str, str]:
    """A real report and the router's decision for it: what a stored case carries (a few kB of JSONB)."""
    report = Report.model_validate({
        "external_id": "BENCH-1", "source": "hotline", "reported_at": "2026-02-01T10:00:00+08:00",
        "location": {"address": "海曙区南门街道解放南路88号"},
        "description": "你好，我要反映个情况，解放南路一家饭店没有营业执照，厨房里堆着好几个煤气罐，"
                       "灭火器也过期了，晚上还在楼道里烧烤，邻居都很担心。"})
    decision = decide(report, compile_catalogue(load_catalogue()))
    return report.model_dump_json(), decision.model_dump_json()


Row = tuple[Any, ...]


def _rows(now: datetime, first: int, count: int, overdue: int, timeline: list[Row], dispatches: list[Row]
          ) -> Iterator[Row]:
    """Case rows; each case's timeline rows go into `timeline` and its dispatch record into `dispatches`."""
    template, transitions = _state_template(now)
    report, decision = _documents()
    for i in range(first, first + count):
        case_id = f"B{i:09d}"
        department = DEPARTMENTS[i % len(DEPARTMENTS)]
        due = now - timedelta(hours=1) if i < overdue else now + timedelta(hours=random.randint(2, 240))
        dispatched = due - timedelta(hours=24)
        state = dict(template, case_id=case_id, department=department,
                     attempts=[dict(template["attempts"][0], department=department,
                                    dispatched_at=dispatched.isoformat())])
        timeline.extend((case_id, dispatched, t.kind, t.from_status or None, t.to_status, "tracker", department,
                         json.dumps(t.detail)) for t in transitions)
        dispatches.append((case_id, 1, department, dispatched, False))  # what the figures count
        yield (case_id, "dispatched", "grid", "nanmen", department, "R9", "none", 1, report, decision,
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
        timeline_columns = ["case_id", "at", "kind", "from_status", "to_status", "actor", "department", "detail"]
        dispatch_columns = ["case_id", "attempt", "department", "dispatched_at", "ack_implied"]
        batch: list[Row] = []
        timeline: list[Row] = []
        dispatches: list[Row] = []

        async def flush() -> None:
            await conn.copy_records_to_table("tracker_cases", records=batch, columns=columns)
            await conn.copy_records_to_table("tracker_timeline", records=timeline, columns=timeline_columns)
            await conn.copy_records_to_table("tracker_dispatches", records=dispatches, columns=dispatch_columns)
            for rows in (batch, timeline, dispatches):
                rows.clear()

        for row in _rows(now, first, count, overdue, timeline, dispatches):
            batch.append(row)
            if len(batch) == 50_000:
                await flush()
                print(f"\rloaded {int(row[0][1:]) + 1:>9,} cases", end="", file=sys.stderr)
        if batch:
            await flush()
        for table in ("tracker_timeline", "tracker_dispatches"):
            await conn.execute(f"VACUUM (ANALYZE) {table}")
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


def _server_histogram(metrics: str, route: str = "/v1/cases/{case_id}") -> dict[str, float]:
    """Cumulative counts by bucket bound of the server's own latency histogram for one route."""
    out: dict[str, float] = {}
    for line in metrics.splitlines():
        if line.startswith("http_request_seconds_bucket{") and f'route="{route}"' in line:
            out[line.split('le="', 1)[1].split('"', 1)[0]] = float(line.rsplit(" ", 1)[1])
    return out


async def _loop_lag(stopping: asyncio.Event, lags: list[float], period: float = 0.005) -> None:
    """How late the load generator's own loop wakes up: a late generator sends late and counts it as latency."""
    while not stopping.is_set():
        started = time.perf_counter()
        await asyncio.sleep(period)
        lags.append(time.perf_counter() - started - period)


async def _get_load(url: str, rate: float = 200, seconds: float = 20) -> dict[str, Any]:
    """Open loop: requests start on schedule whether or not earlier ones returned (no coordinated omission)."""
    port = 18931
    # Authenticated as the API is used (a JWT checked once, then served from the verification cache), with
    # the settings as deployed.
    env = {**os.environ, **TEST_AUTH_ENV, "CASEROUTE_DATABASE_URL": url, "CASEROUTE_HTTP_PORT": str(port),
           "CASEROUTE_KAFKA_BOOTSTRAP": os.environ.get("CASEROUTE_KAFKA_BOOTSTRAP", "")}
    log = tempfile.NamedTemporaryFile(prefix="tracker-bench-", suffix=".log", delete=False)
    process = await asyncio.create_subprocess_exec(sys.executable, "-m", "caseroute.cli", "tracker", env=env,
                                                   cwd=REPO, stdout=log, stderr=log)
    lags: list[float] = []

    def request(i: int) -> bytes:
        return get(f"/v1/cases/B{random.randrange(CASES):09d}", headers=OPERATOR)

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
            await open_loop("127.0.0.1", port, request,
                            rate=rate, seconds=2)  # warm-up: connections, caches
            before = _server_histogram((await client.get("/metrics")).text)
            load_before = os.getloadavg()[0]
            stopping = asyncio.Event()
            lag_probe = asyncio.create_task(_loop_lag(stopping, lags))
            load = await open_loop("127.0.0.1", port, request,
                                   rate=rate, seconds=seconds)
            stopping.set()
            await lag_probe
            after = _server_histogram((await client.get("/metrics")).text)
    finally:
        process.terminate()
        await process.wait()
    served = after["+Inf"] - before["+Inf"]
    lags.sort()
    return {"rate_per_s": rate, "requests": len(load.latencies), "errors": load.errors,
            "statuses": {str(k): v for k, v in load.statuses.items()},
            "p50_ms": round(load.percentile(50) * 1000, 2), "p99_ms": round(load.percentile(99) * 1000, 2),
            "max_ms": round(max(load.latencies) * 1000, 2),
            # Where a tail comes from: the server's own histogram (time inside the app), and the generator's lag.
            "server_share_within_s": {le: round((after[le] - before[le]) / served, 4)
                                      for le in ("0.005", "0.01", "0.025", "0.05")},
            "generator_lag_p99_ms": round(lags[int(len(lags) * 0.99)] * 1000, 2),
            "generator_lag_max_ms": round(lags[-1] * 1000, 2),
            "load_avg_1m": {"before": round(load_before, 2), "after": round(os.getloadavg()[0], 2)}}


async def main() -> None:
    async with scratch_database("bench") as (url, dsn):
        db = Database(url)
        await upgrade(db, "tracker", REPO / "tracker" / "migrations")
        await db.dispose()
        now = datetime.now(UTC)
        load_seconds = await seed_cases(dsn, now)
        scan = await _scan(url, now)
        get = await _get_load(url)
    result = {"open_cases": CASES, "load_seconds": round(load_seconds, 1), "overdue_scan": scan,
              "get_case": get,
              "targets": {"scan_seconds_max": 2.0, "get_case_p99_ms_max": 20.0},
              "met": {"scan": scan["scan_with_due_seconds"] < 2.0, "get_case_p99": get["p99_ms"] < 20.0}}
    path = write("tracker", result)
    print(json.dumps(result, indent=2))
    print(f"written to {path}", file=sys.stderr)


if __name__ == "__main__":
    # The load generator on the loop the services run on: its own overhead is not the server's latency.
    uvloop.run(main())
