"""The floor of caseroute's design: the same hops with the same guarantees and nothing else.

Three processes, written directly on asyncpg and aiokafka (no FastAPI, no pydantic, no ORM), each serving a bare
ASGI app on uvicorn for /readyz (and intake's POST):
  * intake: POST /v1/reports stores the report and its outbox row in one transaction and answers 202;
  * hop1 (the router's place): per poll of reports.v1, records the inbox ids, writes a decision row and its
    outbox row (routed.v1) in one transaction, then commits the offsets;
  * hop2 (the tracker's place): the same over routed.v1, writing a case row and two outbox rows, the primary
    dispatch on dispatch.<department>.v1 and one event of the case's transitions on case-events.v1.
Every process relays its outbox with an idempotent producer (acks=all) and deletes what Kafka acknowledged. The
messages are the sizes of caseroute's (the report travels in each; a decision-sized body on routed), keyed by
case id, so bench/e2e_watch.py reads the floor's topics as it reads caseroute's.

    python -m bench.floor_chain intake|hop1|hop2   (CASEROUTE_KAFKA_BOOTSTRAP, CASEROUTE_DATABASE_URL,
                                                    CASEROUTE_TOPIC_PREFIX, CASEROUTE_HTTP_PORT)
"""

from __future__ import annotations

import asyncio
import os
import sys
import uuid
import zlib
from collections.abc import Awaitable, Callable
from typing import Any

import asyncpg
import orjson
import uvicorn
from aiokafka import AIOKafkaConsumer, AIOKafkaProducer
from aiokafka.errors import KafkaError
from sqlalchemy.engine import make_url

DEPARTMENTS = ("amr", "urban-mgmt", "safety-office", "fire-brigade", "police-nanmen", "street-gulou", "ecology",
               "housing")
DECISION_BYTES = 860  # a caseroute decision's JSON, on average over the development reports
PARTITIONS = 4
BATCH = 500
SCHEMA = """
CREATE TABLE IF NOT EXISTS floor_reports (case_id text PRIMARY KEY, body bytea NOT NULL);
CREATE TABLE IF NOT EXISTS floor_decisions (case_id text PRIMARY KEY, body bytea NOT NULL);
CREATE TABLE IF NOT EXISTS floor_cases (case_id text PRIMARY KEY, department text NOT NULL, status text NOT NULL);
"""
Send = Callable[[], None]


def _tables(service: str) -> str:
    return f"""
CREATE TABLE IF NOT EXISTS floor_outbox_{service} (id bigserial PRIMARY KEY, topic text NOT NULL, key bytea NOT NULL,
                                                  value bytea NOT NULL);
CREATE TABLE IF NOT EXISTS floor_inbox_{service} (event_id text PRIMARY KEY);
"""


def _event(kind: str, case_id: str, data: dict[str, Any]) -> bytes:
    return orjson.dumps({"specversion": "1.0", "id": uuid.uuid4().hex, "source": "floor", "type": kind,
                         "subject": case_id, "data": data})


class Relay:
    """Outbox rows to Kafka in batches; a row is deleted once Kafka acknowledged it (at least once, as ours)."""

    def __init__(self, pool: asyncpg.Pool, producer: AIOKafkaProducer, service: str) -> None:
        self.pool, self.producer, self.table = pool, producer, f"floor_outbox_{service}"
        self.wake = asyncio.Event()

    async def run(self) -> None:
        while True:
            self.wake.clear()  # before the pass: a row staged during it wakes the wait below at once
            try:
                rows = await self._pass()
            except (OSError, asyncpg.PostgresError, KafkaError) as exc:  # keep relaying, as ours does
                print(f"relay: {exc!r}", file=sys.stderr)
                await asyncio.sleep(0.5)
                continue
            if len(rows) < BATCH:
                try:
                    await asyncio.wait_for(self.wake.wait(), 0.5)
                except TimeoutError:
                    pass

    async def _pass(self) -> list[asyncpg.Record]:
        async with self.pool.acquire() as conn, conn.transaction():
            rows = await conn.fetch(f"SELECT id, topic, key, value FROM {self.table} ORDER BY id LIMIT {BATCH}"
                                    " FOR UPDATE SKIP LOCKED")
            if rows:
                sent = [await self.producer.send(r["topic"], r["value"], key=r["key"]) for r in rows]
                await asyncio.gather(*sent)
                await conn.execute(f"DELETE FROM {self.table} WHERE id = ANY($1::bigint[])", [r["id"] for r in rows])
        return list(rows)


async def _consume(pool: asyncpg.Pool, relay: Relay, service: str, topic: str, bootstrap: str,
                   write: Callable[[asyncpg.Connection, list[dict[str, Any]]], Awaitable[None]]) -> None:
    """Per poll: the new events' inbox ids, their rows and outbox rows in one transaction, then the offsets."""
    consumer = AIOKafkaConsumer(topic, bootstrap_servers=bootstrap, group_id=f"{topic}.floor-{service}",
                                enable_auto_commit=False, auto_offset_reset="earliest", max_poll_records=BATCH)
    await consumer.start()
    try:
        while True:
            batches = await consumer.getmany(timeout_ms=200, max_records=BATCH)
            events = [orjson.loads(r.value) for records in batches.values() for r in records]
            if not events:
                continue
            async with pool.acquire() as conn, conn.transaction():
                new = {r["event_id"] for r in await conn.fetch(
                    f"INSERT INTO floor_inbox_{service} (event_id) SELECT unnest($1::text[]) "
                    "ON CONFLICT DO NOTHING RETURNING event_id", [e["id"] for e in events])}
                await write(conn, [e for e in events if e["id"] in new])
            await consumer.commit()
            relay.wake.set()
    finally:
        await consumer.stop()


async def _hop1(conn: asyncpg.Connection, events: list[dict[str, Any]], prefix: str) -> None:
    rows, out = [], []
    for e in events:
        case_id = e["data"]["case_id"]
        department = DEPARTMENTS[zlib.crc32(case_id.encode()) % len(DEPARTMENTS)]
        decision = {"primary": department, "rule": "R9", "padding": "x" * DECISION_BYTES}
        rows.append((case_id, orjson.dumps(decision)))
        out.append((f"{prefix}routed.v1", case_id.encode(),
                    _event("floor.routed", case_id, {"case_id": case_id, "report": e["data"]["report"],
                                                     "decision": decision})))
    await conn.executemany("INSERT INTO floor_decisions (case_id, body) VALUES ($1, $2) ON CONFLICT DO NOTHING", rows)
    await conn.executemany("INSERT INTO floor_outbox_hop1 (topic, key, value) VALUES ($1, $2, $3)", out)


async def _hop2(conn: asyncpg.Connection, events: list[dict[str, Any]], prefix: str) -> None:
    rows, out = [], []
    for e in events:
        data = e["data"]
        case_id, department = data["case_id"], data["decision"]["primary"]
        rows.append((case_id, department, "dispatched"))
        dispatch = {"case_id": case_id, "department": department, "role": "primary", "report": data["report"]}
        out.append((f"{prefix}dispatch.{department}.v1", case_id.encode(),
                    _event("floor.dispatched", case_id, dispatch)))
        # One event of the transaction's transitions, as the tracker's case.changed.
        transitions = [{"case_id": case_id, "from_status": before, "to_status": after}
                       for before, after in ((None, "received"), ("received", "routed"), ("routed", "dispatched"))]
        out.append((f"{prefix}case-events.v1", case_id.encode(),
                    _event("floor.changed", case_id, {"case_id": case_id, "transitions": transitions,
                                                      "state": {"status": "dispatched", "department": department}})))
    await conn.executemany("INSERT INTO floor_cases (case_id, department, status) VALUES ($1, $2, $3) "
                           "ON CONFLICT DO NOTHING", rows)
    await conn.executemany("INSERT INTO floor_outbox_hop2 (topic, key, value) VALUES ($1, $2, $3)", out)


def _intake_app(pool: asyncpg.Pool, relay: Relay, prefix: str) -> Any:
    async def app(scope: dict[str, Any], receive: Any, send: Any) -> None:
        if scope["type"] == "lifespan":
            await _lifespan(receive, send)
            return
        if scope["method"] == "POST" and scope["path"] == "/v1/reports":
            body = b""
            while True:
                message = await receive()
                body += message.get("body", b"")
                if not message.get("more_body"):
                    break
            report = orjson.loads(body)
            case_id = f"F{uuid.uuid4().hex[:16].upper()}"
            value = _event("floor.accepted", case_id, {"case_id": case_id, "report": report})
            async with pool.acquire() as conn, conn.transaction():
                await conn.execute("INSERT INTO floor_reports (case_id, body) VALUES ($1, $2)", case_id, body)
                await conn.execute("INSERT INTO floor_outbox_intake (topic, key, value) VALUES ($1, $2, $3)",
                                   f"{prefix}reports.v1", case_id.encode(), value)
            relay.wake.set()
            status, answer = 202, orjson.dumps({"case_id": case_id})
        else:
            status, answer = 200, b"{}"  # /readyz
        headers = [(b"content-type", b"application/json"), (b"content-length", str(len(answer)).encode())]
        await send({"type": "http.response.start", "status": status, "headers": headers})
        await send({"type": "http.response.body", "body": answer})

    return app


async def _lifespan(receive: Any, send: Any) -> None:
    while (await receive())["type"] != "lifespan.shutdown":
        await send({"type": "lifespan.startup.complete"})
    await send({"type": "lifespan.shutdown.complete"})


async def _readyz(scope: dict[str, Any], receive: Any, send: Any) -> None:
    if scope["type"] == "lifespan":
        await _lifespan(receive, send)
        return
    await send({"type": "http.response.start", "status": 200,
                "headers": [(b"content-type", b"application/json"), (b"content-length", b"2")]})
    await send({"type": "http.response.body", "body": b"{}"})


async def _topics(bootstrap: str, prefix: str) -> None:
    from services.bus.kafka import KafkaBus
    from services.settings import KafkaSettings

    names = [f"{prefix}reports.v1", f"{prefix}routed.v1", f"{prefix}case-events.v1",
             *(f"{prefix}dispatch.{d}.v1" for d in DEPARTMENTS)]
    await KafkaBus(KafkaSettings(bootstrap=bootstrap, partitions=PARTITIONS)).ensure_topics(names)


async def serve(service: str) -> None:
    bootstrap = os.environ["CASEROUTE_KAFKA_BOOTSTRAP"]
    prefix = os.environ.get("CASEROUTE_TOPIC_PREFIX", "")
    url = make_url(os.environ["CASEROUTE_DATABASE_URL"]).set(drivername="postgresql")
    pool = await asyncpg.create_pool(url.render_as_string(hide_password=False), min_size=2, max_size=10)
    async with pool.acquire() as conn:
        await conn.execute("SELECT pg_advisory_lock(42)")  # three processes create the tables at once
        await conn.execute(SCHEMA + _tables(service))
        await conn.execute("SELECT pg_advisory_unlock(42)")
    if service == "intake":
        await _topics(bootstrap, prefix)
    producer = AIOKafkaProducer(bootstrap_servers=bootstrap, enable_idempotence=True, acks="all", linger_ms=5,
                                max_batch_size=256 * 1024)
    await producer.start()
    relay = Relay(pool, producer, service)
    tasks = [asyncio.create_task(relay.run())]
    if service == "hop1":
        tasks.append(asyncio.create_task(_consume(pool, relay, service, f"{prefix}reports.v1", bootstrap,
                                                  lambda c, e: _hop1(c, e, prefix))))
    elif service == "hop2":
        tasks.append(asyncio.create_task(_consume(pool, relay, service, f"{prefix}routed.v1", bootstrap,
                                                  lambda c, e: _hop2(c, e, prefix))))
    app = _intake_app(pool, relay, prefix) if service == "intake" else _readyz
    config = uvicorn.Config(app, host="127.0.0.1", port=int(os.environ["CASEROUTE_HTTP_PORT"]), log_level="warning",
                            access_log=False, lifespan="on")
    try:
        await uvicorn.Server(config).serve()
    finally:
        for task in tasks:
            task.cancel()
        await producer.stop()
        await pool.close()


def main() -> None:
    service = sys.argv[1] if len(sys.argv) > 1 else ""
    if service not in ("intake", "hop1", "hop2"):
        sys.exit("usage: python -m bench.floor_chain intake|hop1|hop2")
    asyncio.run(serve(service))


if __name__ == "__main__":
    main()
