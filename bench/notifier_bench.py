"""Notifier benchmark (not run in CI): webhook deliveries/s from one notifier process, and its memory.

Needs CASEROUTE_KAFKA_BOOTSTRAP and CASEROUTE_DATABASE_URL (a fresh database is made on that server).
Fills the notifier's queue with N deliveries for one subscription (written straight into its tables,
as a take-in backlog), runs `caseroute notifier` as its own process and a receiver as another, and
writes bench/results/notifier.json: the delivery rate from the full queue, the notifier's RSS at
10,000 and at N deliveries, and an end-to-end rate for events published through Kafka.

    python bench/notifier_bench.py --events 100000
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import platform
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

from schemas.events import CaseTransition, EventType  # noqa: E402
from services.bus.base import OutgoingMessage  # noqa: E402
from services.bus.kafka import KafkaBus  # noqa: E402
from services.envelopes import envelope, headers_for  # noqa: E402
from services.settings import KafkaSettings  # noqa: E402
from tests.e2e.stack import ServiceProcess, free_port  # noqa: E402

TOKEN = "bench-admin-token-0123456789"
RECEIVER = """
import sys, uvicorn
count = 0
async def app(scope, receive, send):
    global count
    if scope["type"] != "http":
        return
    while (await receive()).get("more_body"):
        pass
    if scope["method"] == "POST":
        count += 1
    body = str(count).encode()
    headers = [(b"content-length", str(len(body)).encode())]
    await send({"type": "http.response.start", "status": 200, "headers": headers})
    await send({"type": "http.response.body", "body": body})
uvicorn.run(app, host="127.0.0.1", port=int(sys.argv[1]), log_level="warning", access_log=False, lifespan="off")
"""


def rss_mb(pid: int) -> float:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    return 0.0


async def fresh_database(url: str) -> tuple[str, str]:
    parsed = make_url(url)
    name = f"bench_{uuid.uuid4().hex[:10]}"
    admin = parsed.set(drivername="postgresql", database="postgres").render_as_string(hide_password=False)
    conn = await asyncpg.connect(admin)
    await conn.execute(f'CREATE DATABASE "{name}"')
    await conn.close()
    return parsed.set(database=name).render_as_string(hide_password=False), admin


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
        payload = CaseTransition(case_id=case_id, from_status=None, to_status="acknowledged", actor="bench",
                                 at=datetime.now(UTC), department="bench")
        event = envelope(source="bench", event_type=EventType.case_transition, subject=case_id, payload=payload)
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
                 ) -> dict[int, tuple[float, float]]:
    """Seconds and notifier RSS when the receiver's count passed each mark; 0 → the start."""
    t0 = time.perf_counter()
    marks: dict[int, tuple[float, float]] = {0: (0.0, rss_mb(pid))}
    async with httpx.AsyncClient(timeout=10) as probe:
        while True:
            try:
                delivered = int((await probe.get(f"http://127.0.0.1:{port}/count")).text)
            except httpx.HTTPError:
                delivered = start_count
            now = time.perf_counter() - t0
            for mark in marks_at:
                if delivered >= mark and mark not in marks:
                    marks[mark] = (now, rss_mb(pid))
            if delivered >= until:
                return marks
            await asyncio.sleep(0.1)


async def main(events: int, cases: int, concurrency: int, e2e: int) -> dict[str, object]:
    bootstrap = os.environ["CASEROUTE_KAFKA_BOOTSTRAP"]
    database, admin = await fresh_database(os.environ["CASEROUTE_DATABASE_URL"])
    prefix = f"bench{uuid.uuid4().hex[:6]}."
    var = REPO / "var"
    var.mkdir(exist_ok=True)
    port = free_port()
    receiver = subprocess.Popen([sys.executable, "-c", RECEIVER, str(port)])  # noqa: ASYNC220  (once, at start)
    env = {"CASEROUTE_KAFKA_BOOTSTRAP": bootstrap, "CASEROUTE_DATABASE_URL": database,
           "CASEROUTE_TOPIC_PREFIX": prefix, "CASEROUTE_ADMIN_TOKEN": TOKEN, "CASEROUTE_LOG_LEVEL": "WARNING",
           "CASEROUTE_NOTIFIER_CONCURRENCY": str(concurrency)}
    notifier = ServiceProcess("notifier", env, var / "bench-notifier.log")
    try:
        # 1. Migrate and subscribe; 2. stop, and fill the queue as a take-in backlog would;
        # 3. start again and time the deliveries of a full queue (the worker's rate, the figure);
        # 4. then publish a smaller batch through Kafka for the end-to-end rate (take-in included).
        notifier.start()
        await notifier.wait_ready(120)
        async with httpx.AsyncClient(base_url=notifier.url, timeout=30,
                                     headers={"authorization": f"Bearer {TOKEN}"}) as client:
            created = await client.post("/v1/subscriptions", json={
                "kind": "department", "owner": "bench", "url": f"http://127.0.0.1:{port}/hook",
                "secret": "bench-secret-0123456789", "event_types": ["*"]})
            created.raise_for_status()
        notifier.stop()
        preload_s = await preload(database, created.json()["id"], events, cases)
        notifier.start()
        assert notifier.process is not None
        pid = notifier.process.pid
        marks = await _watch(port, pid, events, (10_000, events // 2, events))
        rss_start = marks[0][1]
        first_mark = 10_000
        window = marks[events][0] - marks[first_mark][0]
        steady = (events - first_mark) / window if window > 0 else None
        e2e_events = min(events, e2e)
        publish_s = await publish(bootstrap, prefix, e2e_events, cases)
        e2e_marks = await _watch(port, pid, events + e2e_events, (events + e2e_events,), start_count=events)
        result: dict[str, object] = {
            "measured_at": datetime.now(UTC).isoformat(timespec="seconds"),
            "machine": {"cpus": os.cpu_count(), "python": platform.python_version(),
                        "note": "Kafka, PostgreSQL, the receiver and the notifier share these CPUs"},
            "events": events, "cases": cases, "concurrency": concurrency,
            "preload_seconds": round(preload_s, 2),
            "full_queue_seconds": round(marks[events][0], 2),
            "deliveries_per_second_full_queue": round(events / marks[events][0], 1),
            f"deliveries_per_second_from_{first_mark}": round(steady, 1) if steady else None,
            "rss_mb": {"start": round(rss_start, 1), **{str(k): round(v[1], 1) for k, v in sorted(marks.items()) if k}},
            "end_to_end_events": e2e_events,
            "end_to_end_publish_seconds": round(publish_s, 2),
            "deliveries_per_second_end_to_end": round(e2e_events / e2e_marks[events + e2e_events][0], 1),
        }
        rss_10k, rss_end = marks[first_mark][1], marks[events][1]
        result["rss_growth_10k_to_end_percent"] = round(100 * (rss_end - rss_10k) / rss_10k, 1)
        return result
    finally:
        notifier.stop()
        receiver.terminate()
        receiver.wait(10)
        conn = await asyncpg.connect(admin)
        await conn.execute(f'DROP DATABASE IF EXISTS "{make_url(database).database}" WITH (FORCE)')
        await conn.close()


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--events", type=int, default=100_000)
    parser.add_argument("--cases", type=int, default=2_000)
    parser.add_argument("--concurrency", type=int, default=64)
    parser.add_argument("--e2e", type=int, default=2_000, help="events through Kafka for the end-to-end rate")
    parser.add_argument("--out", type=Path, default=REPO / "bench" / "results" / "notifier.json")
    args = parser.parse_args()
    outcome = asyncio.run(main(args.events, args.cases, args.concurrency, args.e2e))
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(outcome, indent=2) + "\n")
    print(json.dumps(outcome, indent=2))
