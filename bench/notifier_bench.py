"""Notifier benchmark (not run in CI): webhook deliveries/s from one notifier process, and its memory.

Needs CASEROUTE_KAFKA_BOOTSTRAP and CASEROUTE_DATABASE_URL (a fresh database is made on that server).
Fills the notifier's queue with N deliveries for one subscription (written straight into its tables,
as a take-in backlog), runs `caseroute notifier` as its own process and a receiver as another, and
writes bench/results/notifier.json: the delivery rate from the full queue, the notifier's RSS at
10,000 and at N deliveries, an end-to-end rate for events published through Kafka, and the receiver's
own capacity measured in the same run (the machine is shared, so read rates against that).

    python -m bench.notifier_bench --events 100000      (or: python bench/notifier_bench.py ...)
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import subprocess
import sys
import time
import uuid
from datetime import UTC, datetime
from pathlib import Path

import asyncpg
import httpx
from sqlalchemy.engine import make_url

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))

from bench.loadgen import _Connection, post_json  # noqa: E402
from bench.machine import facts  # noqa: E402
from bench.scratch import drop_topics  # noqa: E402
from schemas.events import CaseChanged, CaseSnapshot, CaseTransition, EventType  # noqa: E402
from services.bus.base import OutgoingMessage  # noqa: E402
from services.bus.kafka import KafkaBus  # noqa: E402
from services.envelopes import envelope, headers_for  # noqa: E402
from services.settings import KafkaSettings  # noqa: E402
from tests.e2e.stack import ServiceProcess, free_port  # noqa: E402
from tests.support.credentials import TEST_AUTH_ENV, auth_headers  # noqa: E402
from tests.support.databases import scratch_database  # noqa: E402

# A raw ASGI app on uvicorn (httptools, uvloop): as light a receiver as Python serves. Only /hook counts.
RECEIVER = """
import sys, uvicorn
count = 0
async def app(scope, receive, send):
    global count
    if scope["type"] != "http":
        return
    while (await receive()).get("more_body"):
        pass
    if scope["method"] == "POST" and scope["path"] == "/hook":
        count += 1
    body = str(count).encode()
    headers = [(b"content-length", str(len(body)).encode())]
    await send({"type": "http.response.start", "status": 200, "headers": headers})
    await send({"type": "http.response.body", "body": body})
uvicorn.run(app, host="127.0.0.1", port=int(sys.argv[1]), log_level="warning", access_log=False, lifespan="off",
            http="httptools", loop="uvloop")
"""


async def receiver_capacity(port: int, seconds: float = 4.0, connections: int = 64) -> float:
    """Requests/s the receiver answers to a trivial keep-alive client (closed loop, body like a delivery's)."""
    request = post_json("/probe", b'{"specversion":"1.0","data":{"case_id":"C20260105-00001"}}' * 8)
    done = 0
    deadline = time.perf_counter() + seconds

    async def client() -> None:
        nonlocal done
        connection = _Connection("127.0.0.1", port)
        try:
            while time.perf_counter() < deadline:
                await connection.request(request)
                done += 1
        finally:
            connection.close()

    started = time.perf_counter()
    await asyncio.gather(*(client() for _ in range(connections)))
    return done / (time.perf_counter() - started)


def rss_mb(pid: int) -> float:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    return 0.0


def cpu_s(pid: int) -> float:
    """CPU seconds the process has used (user + system): a figure the machine's other load barely moves."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


async def publish(bootstrap: str, prefix: str, events: int, cases: int) -> float:
    bus = KafkaBus(KafkaSettings(bootstrap=bootstrap, partitions=4))
    topic = f"{prefix}case-events.v1"
    await bus.ensure_topics([topic, f"{prefix}routed.v1"])
    producer = bus.producer()
    await producer.start()
    started = time.perf_counter()
    batch: list[OutgoingMessage] = []
    for n in range(events):
        case_id = f"C20260105-{n % cases:05d}"
        transition = CaseTransition(case_id=case_id, from_status=None, to_status="acknowledged", actor="bench",
                                    at=datetime.now(UTC), department="bench")
        payload = CaseChanged(case_id=case_id, transitions=[transition],
                              state=CaseSnapshot(status="acknowledged", department="bench", attempt=1))
        event = envelope(source="bench", event_type=EventType.case_changed, subject=case_id, payload=payload)
        batch.append(OutgoingMessage(topic, case_id, event.to_bytes(), headers_for(event.id, b"")))
        if len(batch) == 2000:
            await producer.send_batch(batch)
            batch = []
    if batch:
        await producer.send_batch(batch)
    await producer.stop()
    return time.perf_counter() - started


async def preload(database: str, subscription_id: str, events: int, cases: int) -> float:
    """A take-in backlog written straight into the notifier's tables (events and their delivery rows)."""
    conn = await asyncpg.connect(make_url(database).set(drivername="postgresql").render_as_string(hide_password=False))
    started = time.perf_counter()
    now = datetime.now(UTC)
    event_rows, delivery_rows = [], []
    for n in range(events):
        case_id = f"C20260105-{n % cases:05d}"
        payload = CaseTransition(case_id=case_id, from_status=None, to_status="acknowledged", actor="bench",
                                 at=now, department="bench")
        event = envelope(source="bench", event_type=EventType.case_transition, subject=case_id, payload=payload)
        event_rows.append((n + 1, event.id, event.type, case_id, "bench", "bench.case-events.v1",
                           json.dumps(event.model_dump(mode="json")), now))
        delivery_rows.append((n + 1, n + 1, event.id, "case.acknowledged", case_id, f"sub:{subscription_id}",
                              subscription_id, f"sub:{subscription_id}|{case_id}", "pending", 0, now, now, now, now))
    await conn.executemany(
        "insert into notifier_events (seq, event_id, type, case_id, department, topic, envelope, received_at)"
        " values ($1, $2, $3, $4, $5, $6, $7::jsonb, $8)", event_rows)
    await conn.executemany(
        "insert into notifier_deliveries (id, event_seq, event_id, event_type, case_id, recipient, subscription_id,"
        " lane, status, attempts, next_attempt_at, horizon_from, created_at, updated_at)"
        " values ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14)", delivery_rows)
    await conn.execute("select setval(pg_get_serial_sequence('notifier_events', 'seq'), $1)", events)
    await conn.execute("select setval(pg_get_serial_sequence('notifier_deliveries', 'id'), $1)", events)
    await conn.execute("analyze notifier_deliveries")
    await conn.close()
    return time.perf_counter() - started


async def _watch(port: int, pid: int, until: int, marks_at: tuple[int, ...], start_count: int = 0,
                 ) -> dict[int, tuple[float, float, float]]:
    """Seconds, notifier RSS and CPU when the receiver's count passed each mark; 0 → the start."""
    t0 = time.perf_counter()
    marks: dict[int, tuple[float, float, float]] = {0: (0.0, rss_mb(pid), cpu_s(pid))}
    async with httpx.AsyncClient(timeout=10) as probe:
        while True:
            try:
                delivered = int((await probe.get(f"http://127.0.0.1:{port}/count")).text)
            except httpx.HTTPError:
                delivered = start_count
            now = time.perf_counter() - t0
            for mark in marks_at:
                if delivered >= mark and mark not in marks:
                    marks[mark] = (now, rss_mb(pid), cpu_s(pid))
            if delivered >= until:
                return marks
            await asyncio.sleep(0.1)


async def _receiver_up(port: int) -> None:
    async with httpx.AsyncClient(timeout=2) as probe, asyncio.timeout(30):
        while True:
            try:
                (await probe.get(f"http://127.0.0.1:{port}/count")).raise_for_status()
                return
            except httpx.HTTPError:
                await asyncio.sleep(0.1)


def _rate(count: int, seconds: float) -> float | None:
    return round(count / seconds, 1) if seconds > 0 else None


async def main(events: int, cases: int, concurrency: int, e2e: int) -> dict[str, object]:
    async with scratch_database("bench") as (database, _):
        return await _measure(database, events, cases, concurrency, e2e)


async def _measure(database: str, events: int, cases: int, concurrency: int, e2e: int) -> dict[str, object]:
    bootstrap = os.environ["CASEROUTE_KAFKA_BOOTSTRAP"]
    prefix = f"bench{uuid.uuid4().hex[:6]}."
    var = REPO / "var"
    var.mkdir(exist_ok=True)
    port = free_port()
    receiver = subprocess.Popen([sys.executable, "-c", RECEIVER, str(port)])  # noqa: ASYNC220  (once, at start)
    env = {"CASEROUTE_KAFKA_BOOTSTRAP": bootstrap, "CASEROUTE_DATABASE_URL": database,
           "CASEROUTE_TOPIC_PREFIX": prefix, **TEST_AUTH_ENV, "CASEROUTE_LOG_LEVEL": "WARNING",
           "CASEROUTE_NOTIFIER_CONCURRENCY": str(concurrency),
           # The bench's receiver is on loopback, which webhooks may reach only when opted in (services/netguard.py).
           "CASEROUTE_OUTBOUND_ALLOW_NETWORKS": '["127.0.0.0/8"]'}
    notifier = ServiceProcess("notifier", env, var / "bench-notifier.log")
    try:
        # 1. Migrate and subscribe; 2. stop, and fill the queue as a take-in backlog would;
        # 3. the receiver's own capacity, with nothing else of ours running;
        # 4. start again and time the deliveries of a full queue (the worker's rate, the figure);
        # 5. then publish events through Kafka for the end-to-end rate (take-in included); 6. capacity again.
        await _receiver_up(port)
        notifier.start()
        await notifier.wait_ready(120)
        async with httpx.AsyncClient(base_url=notifier.url, timeout=30,
                                     headers=auth_headers("admin", "bench")) as client:
            created = await client.post("/v1/subscriptions", json={
                "kind": "department", "owner": "bench", "url": f"http://127.0.0.1:{port}/hook",
                "secret": "bench-secret-0123456789", "event_types": ["*"]})
            created.raise_for_status()
        notifier.stop()
        preload_s = await preload(database, created.json()["id"], events, cases)
        capacity_before = await receiver_capacity(port)
        notifier.start()
        assert notifier.process is not None
        pid = notifier.process.pid
        first_mark = min(10_000, events // 2)
        marks = await _watch(port, pid, events, (1, first_mark, events // 2, events))
        e2e_events = min(events, e2e)
        publish_s = await publish(bootstrap, prefix, e2e_events, cases)
        cpu_before_e2e = cpu_s(pid)
        e2e_marks = await _watch(port, pid, events + e2e_events, (events + e2e_events,), start_count=events)
        capacity_after = await receiver_capacity(port)
        capacity = (capacity_before + capacity_after) / 2
        drain = _rate(events - 1, marks[events][0] - marks[1][0])
        steady = _rate(events - first_mark, marks[events][0] - marks[first_mark][0])
        end_to_end = _rate(e2e_events, e2e_marks[events + e2e_events][0])
        rss_first, rss_end = marks[first_mark][1], marks[events][1]
        drain_cpu = marks[events][2] - marks[1][2]
        e2e_cpu = e2e_marks[events + e2e_events][2] - cpu_before_e2e
        return {
            "note": "Kafka, PostgreSQL, the receiver, the bench and the notifier share these CPUs",
            "events": events, "cases": cases, "concurrency": concurrency,
            "receiver_capacity_rps": {"before": round(capacity_before), "after": round(capacity_after)},
            "preload_seconds": round(preload_s, 2),
            "startup_to_first_delivery_seconds": round(marks[1][0], 2),
            "deliveries_per_second_full_queue": drain,
            f"deliveries_per_second_from_{first_mark}": steady,
            "full_queue_vs_receiver_capacity": round(drain / capacity, 2) if drain else None,
            # Deliveries per second of notifier CPU: what one process does with a core to itself.
            "full_queue_notifier_cpu_us_per_delivery": round(drain_cpu / (events - 1) * 1e6),
            "full_queue_deliveries_per_notifier_cpu_second": _rate(events - 1, drain_cpu),
            "rss_mb": {"start": round(marks[0][1], 1),
                       **{str(k): round(v[1], 1) for k, v in sorted(marks.items()) if k > 1}},
            f"rss_growth_{first_mark}_to_{events}_percent": round(100 * (rss_end - rss_first) / rss_first, 1),
            "end_to_end_events": e2e_events,
            "end_to_end_publish_seconds": round(publish_s, 2),
            "deliveries_per_second_end_to_end": end_to_end,
            "end_to_end_vs_receiver_capacity": round(end_to_end / capacity, 2) if end_to_end else None,
            "end_to_end_deliveries_per_notifier_cpu_second": _rate(e2e_events, e2e_cpu),
        }
    finally:
        notifier.stop()
        receiver.terminate()
        receiver.wait(10)
        await drop_topics(bootstrap, prefix)


def cli() -> None:
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument("--events", type=int, default=100_000)
    parser.add_argument("--cases", type=int, default=2_000)
    parser.add_argument("--concurrency", type=int, default=64)
    parser.add_argument("--e2e", type=int, default=20_000, help="events through Kafka for the end-to-end rate")
    parser.add_argument("--out", type=Path, default=REPO / "bench" / "results" / "notifier.json")
    args = parser.parse_args()
    outcome = {"machine": facts(), **asyncio.run(main(args.events, args.cases, args.concurrency, args.e2e))}
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(outcome, ensure_ascii=False, indent=2) + "\n")
    print(json.dumps(outcome, indent=2))


if __name__ == "__main__":
    cli()
