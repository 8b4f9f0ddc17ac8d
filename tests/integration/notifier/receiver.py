"""A real webhook receiver for tests: uvicorn on loopback, flaky on demand, verifying signatures itself.

The signature check here is written from WEBHOOKS.md alone and imports nothing of the notifier's.
"""

from __future__ import annotations

import asyncio
import hashlib
import hmac
import json
import time
from dataclasses import dataclass, field
from typing import Any

import uvicorn

from tests.e2e.stack import free_port


def independent_verify(secret: str, header: str, body: bytes, now: float, window_s: int = 300) -> bool:
    """Caseroute-Signature `t=<unix>,v1=<hex>`: HMAC-SHA256 of `<t>.<body>`, 5-minute window."""
    fields = [item.split("=", 1) for item in header.split(",") if "=" in item]
    stamps = [int(v) for k, v in fields if k.strip() == "t" and v.isdigit()]
    signatures = [v for k, v in fields if k.strip() == "v1"]
    if len(stamps) != 1 or abs(now - stamps[0]) > window_s:
        return False
    mac = hmac.new(secret.encode(), str(stamps[0]).encode() + b"." + body, hashlib.sha256).hexdigest()
    return any(hmac.compare_digest(mac, s) for s in signatures)


@dataclass
class Receiver:
    """Answers 500 to the first `fail_first` requests, then 200; `accepted` is what it answered 2xx to."""

    secret: str
    fail_first: int = 0
    delay_s: float = 0.0
    port: int = field(default_factory=free_port)
    requests: int = 0
    accepted: list[dict[str, Any]] = field(default_factory=list)
    bad_signatures: int = 0
    # Every request as it came: headers (lower-case names), the raw body and when it arrived (unix seconds).
    seen: list[tuple[dict[str, str], bytes, float]] = field(default_factory=list)
    _server: uvicorn.Server | None = None
    _task: asyncio.Task[None] | None = None

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}/hook"

    async def __call__(self, scope: dict[str, Any], receive: Any, send: Any) -> None:
        assert scope["type"] == "http"
        body = b""
        while True:
            message = await receive()
            body += message.get("body", b"")
            if not message.get("more_body"):
                break
        headers = {k.decode().lower(): v.decode() for k, v in scope["headers"]}
        self.requests += 1
        self.seen.append((headers, body, time.time()))
        if self.delay_s:
            await asyncio.sleep(self.delay_s)
        if not independent_verify(self.secret, headers.get("caseroute-signature", ""), body, time.time()):
            self.bad_signatures += 1
            return await _answer(send, 401)
        if self.requests <= self.fail_first:
            return await _answer(send, 500)
        envelope = json.loads(body)
        self.accepted.append({"event_id": headers["caseroute-event-id"], "case_id": envelope["subject"],
                              "attempt": int(headers["caseroute-delivery-attempt"]), "envelope": envelope})
        await _answer(send, 200)

    async def start(self) -> None:
        config = uvicorn.Config(self, host="127.0.0.1", port=self.port, log_level="warning", lifespan="off",
                                access_log=False)
        self._server = uvicorn.Server(config)
        self._task = asyncio.create_task(self._server.serve())
        server = self._server
        async with asyncio.timeout(10):
            while True:
                if server.started:
                    return
                await asyncio.sleep(0.01)

    async def stop(self) -> None:
        """Go away: the port refuses connections until `start()` again."""
        if self._server is not None and self._task is not None:
            self._server.should_exit = True
            await asyncio.wait_for(self._task, 15)
            self._server = self._task = None

    def distinct(self) -> set[str]:
        return {a["event_id"] for a in self.accepted}

    def first_seen_order(self) -> dict[str, list[str]]:
        """Case id → event ids in the order the receiver first accepted them."""
        seen: set[str] = set()
        order: dict[str, list[str]] = {}
        for a in self.accepted:
            if a["event_id"] not in seen:
                seen.add(a["event_id"])
                order.setdefault(a["case_id"], []).append(a["event_id"])
        return order


async def _answer(send: Any, status: int) -> None:
    await send({"type": "http.response.start", "status": status, "headers": [(b"content-type", b"text/plain")]})
    await send({"type": "http.response.body", "body": b"ok" if status == 200 else b"no"})
