"""The webhook channel: a signed JSON POST over one pooled keep-alive HTTP client (aiohttp)."""

from __future__ import annotations

import time
from collections.abc import Callable, Sequence
from http import HTTPStatus

import aiohttp
from yarl import URL

from notifier.channels import Outcome, Outgoing
from notifier.domain.signature import (
    ATTEMPT_HEADER,
    DELIVERY_ID_HEADER,
    EVENT_ID_HEADER,
    EVENT_TYPE_HEADER,
    SIGNATURE_HEADER,
    signature_header,
    standard_headers,
)
from services.netguard import GuardedResolver, IPNetwork, UnsafeAddress, literal_refusal

USER_AGENT = "caseroute-notifier/1"
MAX_ANSWER_BYTES = 64 * 1024  # read at most this much of an answer; a longer one costs its connection


def retry_after(value: str | None) -> float | None:
    """Seconds from a Retry-After header in its delta-seconds form (dates are rare and ignored)."""
    if value is None:
        return None
    try:
        return max(0.0, float(value))
    except ValueError:
        return None


def answered(status: int) -> str:
    """`last_error` of an answer that is not 2xx: the status and its standard phrase, never the receiver's body
    (a body can carry anything, and `/v1/deliveries` shows last_error to administrators)."""
    try:
        return f"HTTP {status} {HTTPStatus(status).phrase}"
    except ValueError:
        return f"HTTP {status}"


def refused(exc: BaseException) -> UnsafeAddress | None:
    """The address refusal behind a connection error (aiohttp wraps the resolver's), if that is what it is."""
    seen: BaseException | None = exc
    while seen is not None:
        if isinstance(seen, UnsafeAddress):
            return seen
        inner = getattr(seen, "os_error", None)
        seen = inner if isinstance(inner, UnsafeAddress) else (seen.__cause__ or seen.__context__)
    return None


def failure(exc: BaseException) -> str:
    """`last_error` of an attempt that got no answer; the first word is stable (WEBHOOKS.md)."""
    if isinstance(exc, aiohttp.ClientConnectorError):
        kind = "ConnectError"
    elif isinstance(exc, TimeoutError):
        kind = "Timeout"
    else:
        kind = type(exc).__name__
    detail = str(exc)
    return (f"{kind}: {detail}" if detail else kind)[:500]


class WebhookChannel:
    """POSTs the body; 2xx is delivered, anything else (or no answer in time) is retried."""

    name = "webhook"

    def __init__(self, *, timeout_s: float, max_connections: int, clock: Callable[[], float] = time.time,
                 allowed: Sequence[IPNetwork] = ()) -> None:
        self.timeout_s = timeout_s
        self.max_connections = max_connections
        self.clock = clock
        self.allowed = tuple(allowed)  # non-public networks let through (CASEROUTE_OUTBOUND_ALLOW_NETWORKS)
        self._session: aiohttp.ClientSession | None = None

    async def start(self) -> None:
        if self._session is not None:
            return
        # One session for the process: keep-alive connections, at most one per delivery in flight.
        # The resolver checks every address a name stands for when a connection is made (DNS rebinding gains
        # nothing); IP literals, which aiohttp connects to without resolving, are checked in send().
        connector = aiohttp.TCPConnector(limit=self.max_connections, limit_per_host=0, keepalive_timeout=30,
                                         resolver=GuardedResolver(self.allowed))
        self._session = aiohttp.ClientSession(
            connector=connector,
            timeout=aiohttp.ClientTimeout(total=self.timeout_s, connect=min(5.0, self.timeout_s)),
            headers={"user-agent": USER_AGENT},
            skip_auto_headers=("accept-encoding",),
            auto_decompress=False,
        )

    async def stop(self) -> None:
        if self._session is not None:
            await self._session.close()
            self._session = None

    def headers(self, item: Outgoing) -> dict[str, str]:
        headers = {
            "content-type": "application/json",
            EVENT_ID_HEADER: item.event_id,
            EVENT_TYPE_HEADER: item.event_type,
            DELIVERY_ID_HEADER: str(item.delivery_id),
            ATTEMPT_HEADER: str(item.attempt),
        }
        if item.secrets:
            timestamp = int(self.clock())
            headers[SIGNATURE_HEADER] = signature_header(item.secrets, timestamp, item.body)
            headers.update(standard_headers(item.secrets, item.event_id, timestamp, item.body))
        return headers

    async def send(self, item: Outgoing) -> Outcome:
        if self._session is None:
            await self.start()
        assert self._session is not None
        try:
            why = literal_refusal(URL(item.url).host, self.allowed)
        except ValueError:
            why = "not a URL"
        if why is not None:
            return Outcome(False, None, f"Refused: {why}", final=True)
        try:
            # A redirect could carry a signed body somewhere unintended: not followed.
            async with self._session.post(item.url, data=item.body, headers=self.headers(item),
                                          allow_redirects=False) as response:
                status = response.status
                # Read a small answer whole so the connection is reused (its body is not kept).
                length = response.content_length
                if length is not None and length <= MAX_ANSWER_BYTES:
                    await response.read()
                else:
                    await response.content.read(MAX_ANSWER_BYTES)
                if 200 <= status < 300:
                    return Outcome(True, status)
                pause = retry_after(response.headers.get("retry-after"))
                return Outcome(False, status, answered(status), pause)
        except (aiohttp.ClientError, TimeoutError, OSError) as exc:
            unsafe = refused(exc)
            if unsafe is not None:
                return Outcome(False, None, f"Refused: {unsafe}"[:500], final=True)
            return Outcome(False, None, failure(exc))
