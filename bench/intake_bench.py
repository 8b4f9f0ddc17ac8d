"""Authentication on the hot paths: the cost of a credential check, and POST /v1/reports under open-loop load.

Measures (on local PostgreSQL and Kafka): a cached verification (every request after the first in the
cache time), an uncached JWT check, an uncached API-key check (one PostgreSQL round trip and the last-use
write), and POST /v1/reports at a steady rate with an API key, p50/p99 from the client's side.
"""

from __future__ import annotations

import asyncio
import json
import os
import sys
import time
import uuid
from pathlib import Path
from typing import Any

import httpx

from bench.loadgen import open_loop, post_json
from bench.machine import write
from bench.scratch import drop_topics
from services import migrate
from services.auth import keys
from services.auth.authenticator import Authenticator
from services.auth.bootstrap import AUTH_MIGRATIONS
from services.db import Database
from services.principal import Caller
from services.settings import AuthSettings
from tests.e2e.stack import ServiceProcess, free_port
from tests.support.credentials import TEST_AUTH_ENV, credential_for
from tests.support.databases import scratch_database

REPO = Path(__file__).resolve().parents[1]
REPORT = {"source": "grid", "reported_at": "2026-01-05T14:06:00+08:00",
          "location": {"unit": "nanmen", "address": "解放南路"}, "title": "无照铝合金门窗店",
          "description": "解放南路一家铝合金门窗店已经营半年，未办理营业执照。"}


async def _per_call_us(calls: int, verify: Any, credential: str) -> float:
    started = time.perf_counter()
    for _ in range(calls):
        await verify(credential)
    return round((time.perf_counter() - started) / calls * 1e6, 2)


async def _verification(url: str) -> tuple[dict[str, float], str]:
    db = Database(url)
    await migrate.upgrade(db, "auth", AUTH_MIGRATIONS)
    key = await keys.create_key(db, role="grid-app", name="bench", by=Caller("admin", "bench"))
    jwt_settings = AuthSettings(jwt_issuer=TEST_AUTH_ENV["CASEROUTE_AUTH_JWT_ISSUER"],
                                jwt_audience=TEST_AUTH_ENV["CASEROUTE_AUTH_JWT_AUDIENCE"],
                                jwt_hs_secret=TEST_AUTH_ENV["CASEROUTE_AUTH_JWT_HS_SECRET"])
    cached = Authenticator(jwt_settings, db)
    uncached = Authenticator(jwt_settings.model_copy(update={"cache_s": 0.0}), db)
    token = credential_for("grid-app", "bench")
    await cached.verify(key.secret)
    result = {"cached_verify_us": await _per_call_us(100_000, cached.verify, key.secret),
              "jwt_verify_uncached_us": await _per_call_us(2_000, uncached.verify, token),
              "api_key_verify_uncached_us": await _per_call_us(500, uncached.verify, key.secret)}
    await db.dispose()
    return result, key.secret


async def _post_load(url: str, secret: str, rate: float = 200, seconds: float = 20) -> dict[str, Any]:
    prefix = f"bench{uuid.uuid4().hex[:6]}."
    env = {"CASEROUTE_DATABASE_URL": url, "CASEROUTE_LOG_LEVEL": "WARNING",
           "CASEROUTE_TOPIC_PREFIX": prefix, "CASEROUTE_AUTH_RATE_LIMITS": '{"default": 0}'}
    intake = ServiceProcess("intake", env, REPO / "var" / "bench-intake.log", port=free_port())
    (REPO / "var").mkdir(exist_ok=True)
    intake.start()
    try:
        await intake.wait_ready(120)
        headers = {"Authorization": f"Bearer {secret}"}

        def request(i: int) -> bytes:
            body = json.dumps({**REPORT, "external_id": f"B-{i}-{uuid.uuid4().hex[:8]}"}).encode()
            return post_json("/v1/reports", body, headers=headers)

        await open_loop("127.0.0.1", intake.port, request, rate=rate, seconds=2)  # warm-up
        load = await open_loop("127.0.0.1", intake.port, request, rate=rate, seconds=seconds)
        async with httpx.AsyncClient(base_url=intake.url) as client:
            refused = (await client.post("/v1/reports", json={**REPORT, "external_id": "X"})).status_code
    finally:
        intake.stop()
        await drop_topics(os.environ.get("CASEROUTE_KAFKA_BOOTSTRAP"), prefix)
    return {"rate_per_s": rate, "requests": len(load.latencies), "errors": load.errors,
            "statuses": {str(k): v for k, v in load.statuses.items()}, "without_credential": refused,
            "p50_ms": round(load.percentile(50) * 1000, 2), "p99_ms": round(load.percentile(99) * 1000, 2),
            "max_ms": round(max(load.latencies) * 1000, 2)}


async def main() -> None:
    async with scratch_database("bench") as (url, _):
        verification, secret = await _verification(url)
        post = await _post_load(url, secret)
    result = {"verification": verification, "post_report": post,
              "targets": {"cached_verify_us_max": 50.0, "post_report_p99_ms_max": 50.0},
              "met": {"cached_verify": verification["cached_verify_us"] < 50.0,
                      "post_report_p99": post["p99_ms"] < 50.0 and post["statuses"] == {"202": post["requests"]}}}
    path = write("intake", result)
    print(json.dumps(result, indent=2))
    print(f"written to {path}", file=sys.stderr)


if __name__ == "__main__":
    asyncio.run(main())
