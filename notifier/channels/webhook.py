"""The webhook channel: a signed JSON POST over one pooled HTTP client."""

from __future__ import annotations

import time
from collections.abc import Callable

import httpx

from notifier.channels import Outcome, Outgoing
from notifier.domain.signature import (
    ATTEMPT_HEADER,
    DELIVERY_ID_HEADER,
    EVENT_ID_HEADER,
    EVENT_TYPE_HEADER,
    SIGNATURE_HEADER,
    signature_header,
)

USER_AGENT = "caseroute-notifier/1"


def retry_after(value: str | None) -> float | None:
    """Seconds from a Retry-After header in its delta-seconds form (dates are rare and ignored)."""
    if value is None:
        return None
    try:
        return max(0.0, float(value))
    except ValueError:
        return None


class WebhookChannel:
    """POSTs the body; 2xx is delivered, anything else (or no answer in time) is retried."""

    name = "webhook"

    def __init__(self, *, timeout_s: float, max_connections: int, clock: Callable[[], float] = time.time) -> None:
        self.timeout_s = timeout_s
        self.max_connections = max_connections
        self.clock = clock
        self._client: httpx.AsyncClient | None = None

    async def start(self) -> None:
        # One client for the process: a connection pool per receiver, every wait bounded.
        self._client = httpx.AsyncClient(
            timeout=httpx.Timeout(self.timeout_s, connect=min(5.0, self.timeout_s)),
            limits=httpx.Limits(max_connections=self.max_connections,
                                max_keepalive_connections=self.max_connections),
            follow_redirects=False,  # a redirect could carry a signed body somewhere unintended
            headers={"user-agent": USER_AGENT},
        )

    async def stop(self) -> None:
        if self._client is not None:
            await self._client.aclose()
            self._client = None

    def headers(self, item: Outgoing) -> dict[str, str]:
        headers = {
            "content-type": "application/json",
            EVENT_ID_HEADER: item.event_id,
            EVENT_TYPE_HEADER: item.event_type,
            DELIVERY_ID_HEADER: str(item.delivery_id),
            ATTEMPT_HEADER: str(item.attempt),
        }
        if item.secret:
            headers[SIGNATURE_HEADER] = signature_header(item.secret, int(self.clock()), item.body)
        return headers

    async def send(self, item: Outgoing) -> Outcome:
        if self._client is None:
            await self.start()
        assert self._client is not None
        try:
            response = await self._client.post(item.url, content=item.body, headers=self.headers(item))
        except httpx.HTTPError as exc:
            return Outcome(False, None, f"{type(exc).__name__}: {exc}"[:500] or type(exc).__name__)
        if 200 <= response.status_code < 300:
            return Outcome(True, response.status_code)
        return Outcome(False, response.status_code, f"HTTP {response.status_code}: {response.text[:300]}",
                       retry_after(response.headers.get("retry-after")))
