"""Load and checks shared by the failure tests: concurrent reports, department topics, the tracker's cases."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable
from dataclasses import dataclass, field

import asyncpg
import httpx
import orjson
from sqlalchemy.engine import make_url

from services.bus.kafka import KafkaBus
from services.settings import KafkaSettings
from tests.conftest import dev_reports
from tests.support.credentials import OPERATOR


def unique_reports(n: int, tag: str) -> list[dict[str, object]]:
    """n reports from the dev set, each with its own external id and address (so none is linked as a duplicate)."""
    base = dev_reports()
    out = []
    for i in range(n):
        report = dict(base[i % len(base)])
        location = {k: v for k, v in dict(report["location"]).items() if k not in ("lat", "lon")}  # type: ignore[call-overload]
        location["address"] = f"{location.get('address') or ''}{tag}{i}号"
        out.append({**report, "external_id": f"{tag}-{i}", "location": location})
    return out


@dataclass
class LoadResult:
    """What the load saw: each accepted report's case, refusals, and latencies of the answers."""

    accepted: dict[str, str] = field(default_factory=dict)  # external_id → case_id
    refused: dict[int, int] = field(default_factory=dict)  # status (0 = no connection) → count
    latencies: list[float] = field(default_factory=list)
    seconds: float = 0.0

    def max_latency(self) -> float:
        return max(self.latencies, default=0.0)


async def post_reports(url: Callable[[], str], reports: list[dict[str, object]], *, in_flight: int = 50,
                       progress: Callable[[int], None] | None = None, timeout: float = 15.0,
                       until: asyncio.Event | None = None, per_second: float | None = None) -> LoadResult:
    """Post every report once, `in_flight` at a time; a failed POST is not retried (it was never accepted).

    With `until`, posting ends when it is set (the reports not yet posted are left): load for as long as a
    sequence of faults takes. `per_second` paces the load (a steady rate, as a real source sends)."""
    result = LoadResult()
    queue: asyncio.Queue[dict[str, object]] = asyncio.Queue()
    for r in reports:
        queue.put_nowait(r)
    done = 0
    started = time.monotonic()

    async def worker(client: httpx.AsyncClient) -> None:
        nonlocal done
        while not queue.empty() and not (until is not None and until.is_set()):
            report = queue.get_nowait()
            t0 = time.monotonic()
            try:
                response = await client.post(f"{url()}/v1/reports", json=report)
                status = response.status_code
            except httpx.HTTPError:
                status = 0
            result.latencies.append(time.monotonic() - t0)
            if status == 202:
                result.accepted[str(report["external_id"])] = response.json()["case_id"]
            else:
                result.refused[status] = result.refused.get(status, 0) + 1
                if status == 0:
                    await asyncio.sleep(0.05)  # the service is down: do not spin
            done += 1
            if progress is not None:
                progress(done)
            if per_second:
                await asyncio.sleep(max(0.0, in_flight / per_second - (time.monotonic() - t0)))

    limits = httpx.Limits(max_connections=in_flight, max_keepalive_connections=in_flight)
    async with httpx.AsyncClient(headers=OPERATOR, timeout=timeout, limits=limits) as client:
        await asyncio.gather(*(worker(client) for _ in range(in_flight)))
    result.seconds = time.monotonic() - started
    return result


@dataclass
class Dispatches:
    """Dispatches read from every department topic: (case, attempt) → primary event ids, and repeated copies.

    A department's own consumer does not dedupe: the same event id read twice from its topic is a second copy
    Kafka stores (a fresh group reads each stored message once), and the tests require none.
    """

    events: dict[tuple[str, int], set[str]] = field(default_factory=dict)
    messages: int = 0
    repeated: dict[str, int] = field(default_factory=dict)  # topic → copies beyond the first, any role
    _seen: set[str] = field(default_factory=set)

    def add(self, topic: str, value: bytes) -> None:
        self.messages += 1
        event = orjson.loads(value)
        if event["id"] in self._seen:
            self.repeated[topic] = self.repeated.get(topic, 0) + 1
            return
        self._seen.add(event["id"])
        data = event["data"]
        if data.get("role") == "primary":
            self.events.setdefault((data["case_id"], int(data["attempt"])), set()).add(event["id"])

    def cases(self) -> set[str]:
        return {case for case, _ in self.events}

    def doubled(self) -> dict[tuple[str, int], set[str]]:
        """Same case, same attempt, different event ids: a duplicate dispatch."""
        return {k: v for k, v in self.events.items() if len(v) > 1}

    def copies(self) -> int:
        """Messages on department topics whose event id was read before."""
        return sum(self.repeated.values())


async def read_dispatches(bootstrap: str, prefix: str, expected: set[str], timeout: float = 120) -> Dispatches:
    """Read all department topics with a fresh group until every expected case was seen, then a little more."""
    bus = KafkaBus(KafkaSettings(bootstrap=bootstrap))
    pattern = prefix.replace(".", "[.]") + r"dispatch\..*\.v1"
    consumer = bus.consumer([], f"{prefix}probe-{time.monotonic_ns()}", pattern=pattern)
    await consumer.start()
    found = Dispatches()
    try:
        async with asyncio.timeout(timeout):
            while not expected <= found.cases():
                for m in await consumer.poll(0.5, 1000):
                    found.add(m.topic, m.value)
        # A second copy or a second dispatch of a case would show up now: read until the topics are quiet.
        quiet = 0
        while quiet < 4:
            batch = await consumer.poll(0.5, 1000)
            quiet = 0 if batch else quiet + 1
            for m in batch:
                found.add(m.topic, m.value)
    finally:
        await consumer.stop()
    return found


async def copies_per_topic(bootstrap: str, topics: list[str]) -> dict[str, tuple[int, int]]:
    """topic → (messages, copies of an event id read before), read whole with a plain consumer (no dedupe)."""
    bus = KafkaBus(KafkaSettings(bootstrap=bootstrap))
    consumer = bus.consumer(topics, f"probe-{time.monotonic_ns()}")
    await consumer.start()
    seen: dict[str, set[str]] = {t: set() for t in topics}
    counts: dict[str, list[int]] = {t: [0, 0] for t in topics}
    try:
        quiet = 0
        while quiet < 6:
            batch = await consumer.poll(0.5, 2000)
            quiet = 0 if batch else quiet + 1
            for m in batch:
                event_id = orjson.loads(m.value)["id"]
                counts[m.topic][0] += 1
                if event_id in seen[m.topic]:
                    counts[m.topic][1] += 1
                seen[m.topic].add(event_id)
    finally:
        await consumer.stop()
    return {t: (n, d) for t, (n, d) in counts.items()}


async def tracker_cases(database_url: str) -> dict[str, str]:
    """case id → status, straight from the tracker's table."""
    dsn = make_url(database_url).set(drivername="postgresql").render_as_string(hide_password=False)
    conn = await asyncpg.connect(dsn)
    try:
        rows = await conn.fetch("SELECT case_id, status FROM tracker_cases")
    finally:
        await conn.close()
    return {r["case_id"]: r["status"] for r in rows}


async def wait_cases(database_url: str, case_ids: set[str], timeout: float = 180) -> dict[str, str]:
    """Poll the tracker until every given case is past `received`; return all cases it holds."""
    async with asyncio.timeout(timeout):
        while True:
            cases = await tracker_cases(database_url)
            if all(cases.get(c) in ("dispatched", "gap", "duplicate") for c in case_ids):
                return cases
            await asyncio.sleep(1.0)


async def pipeline_counts(database_url: str) -> dict[str, int]:
    """Rows at each stage (intake outbox, router cases and outbox, tracker cases): where a stuck case sits."""
    dsn = make_url(database_url).set(drivername="postgresql").render_as_string(hide_password=False)
    conn = await asyncpg.connect(dsn)
    try:
        return {t: int(await conn.fetchval(f"SELECT count(*) FROM {t}"))
                for t in ("intake_reports", "intake_outbox", "router_cases", "router_outbox", "tracker_cases")}
    finally:
        await conn.close()
