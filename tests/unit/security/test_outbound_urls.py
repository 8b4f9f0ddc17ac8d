"""Issue 19, SSRF: callback and webhook URLs that are, or resolve to, loopback, private, link-local, unspecified
or metadata addresses are refused when submitted (422) and when the notifier connects (with real resolution;
nothing here sends a packet anywhere but to this test's own receiver on 127.0.0.1). A failed delivery keeps the
status, never the receiver's body. The default refuses; tests and demos opt networks in explicitly."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import httpx
import pytest
import uvicorn

from intake.bootstrap import build as intake
from notifier.bootstrap import build as notifier
from notifier.channels import Outgoing
from notifier.channels.webhook import WebhookChannel
from services.netguard import networks, url_refusal
from services.settings import KafkaSettings, Settings
from tests.conftest import dev_reports
from tests.e2e.stack import free_port
from tests.integration.harness import running
from tests.support.credentials import auth_headers

pytestmark = pytest.mark.timeout(90)

UNSAFE_HOSTS = ["127.0.0.1", "localhost", "[::1]", "127.1", "2130706433", "0x7f000001", "0.0.0.0",
                "[::ffff:127.0.0.1]", "169.254.169.254", "10.0.0.1", "172.16.0.1", "172.31.255.254",
                "192.168.1.1", "[fc00::1]", "[fd00:ec2::254]", "[fe80::1]", "100.64.0.1", "[::]"]
SECRET_BODY = b"stack trace: password=hunter2 at db.internal:5432"


async def test_every_unsafe_form_is_refused_after_real_resolution_and_public_ones_pass() -> None:
    for host in UNSAFE_HOSTS:
        assert await url_refusal(f"http://{host}:8080/cb") is not None, host
    # Public addresses pass (a literal resolves without any lookup); an opted-in network passes.
    assert await url_refusal("https://8.8.8.8/hook") is None
    assert await url_refusal("http://[2001:4860:4860::8888]/hook") is None
    assert await url_refusal("http://localhost:9/hook", networks(["127.0.0.0/8", "::1/128"])) is None


async def test_callback_urls_and_webhook_subscriptions_to_unsafe_addresses_are_422(tmp_path: Path) -> None:
    # The default: no network opted in (tests/conftest.py opts loopback in for the other tests' receivers).
    settings = Settings(database_url=f"sqlite+aiosqlite:///{tmp_path / 'g.db'}", kafka=KafkaSettings(bootstrap=None),
                        outbound_allow_networks=[])
    admin, grid = auth_headers("admin", "root"), auth_headers("grid-app", "app-a")
    async with running(settings, [intake, notifier]) as app:
        async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://t") as client:
            subscribed = await client.post("/v1/subscriptions", headers=admin, json={
                "kind": "department", "owner": "amr", "url": "https://8.8.8.8/hook", "event_types": ["*"]})
            assert subscribed.status_code == 201, subscribed.text
            for n, host in enumerate(UNSAFE_HOSTS):
                url = f"http://{host}:8080/cb"
                posted = await client.post("/v1/reports", headers=grid,
                                           json={**dev_reports()[0], "external_id": f"S-{n}", "callback_url": url})
                assert posted.status_code == 422, (host, posted.status_code, posted.text)
                assert posted.headers["content-type"] == "application/problem+json"
                created = await client.post("/v1/subscriptions", headers=admin, json={
                    "kind": "department", "owner": "amr", "url": url, "event_types": ["*"]})
                assert created.status_code == 422, (host, created.status_code, created.text)
                moved = await client.patch(f"/v1/subscriptions/{subscribed.json()['id']}", headers=admin,
                                           json={"url": url})
                assert moved.status_code == 422, (host, moved.status_code, moved.text)
            kept = await client.get(f"/v1/subscriptions/{subscribed.json()['id']}", headers=admin)
            assert kept.json()["url"] == "https://8.8.8.8/hook"


class _Listener:
    """A local HTTP server: counts requests, answers `status` with a body the notifier must not keep."""

    def __init__(self, status: int) -> None:
        self.status, self.requests, self.port = status, 0, free_port()

    async def __call__(self, scope: dict[str, Any], receive: Any, send: Any) -> None:
        self.requests += 1
        await send({"type": "http.response.start", "status": self.status, "headers": []})
        await send({"type": "http.response.body", "body": SECRET_BODY})


@pytest.fixture
async def listener() -> AsyncIterator[_Listener]:
    app = _Listener(500)
    server = uvicorn.Server(uvicorn.Config(app, host="127.0.0.1", port=app.port, log_level="warning",
                                           lifespan="off", access_log=False))
    task = asyncio.create_task(server.serve())
    async with asyncio.timeout(10):
        while not server.started:
            await asyncio.sleep(0.01)
    yield app
    server.should_exit = True
    await task


def _item(url: str) -> Outgoing:
    return Outgoing(delivery_id=1, event_id="e1", event_type="dispatch.primary", url=url, secret="s" * 16,
                    body=b"{}", attempt=1)


async def test_the_notifier_checks_the_address_it_connects_to(listener: _Listener) -> None:
    refusing = WebhookChannel(timeout_s=5, max_connections=4)  # the default: nothing non-public
    allowing = WebhookChannel(timeout_s=5, max_connections=4, allowed=networks(["127.0.0.0/8", "::1/128"]))
    try:
        # URLs stored before the check, or names that resolve to loopback only when the connection is made.
        for host in ("127.0.0.1", "localhost", "127.1", "2130706433", "0x7f000001", "[::ffff:127.0.0.1]"):
            outcome = await refusing.send(_item(f"http://{host}:{listener.port}/hook"))
            assert not outcome.ok and outcome.final, (host, outcome)
            assert outcome.error is not None and outcome.error.startswith("Refused:"), (host, outcome.error)
        assert listener.requests == 0, "a refused URL reached the local listener"

        # Opted in, the same listener is reached: its 500 is kept as the status, not its body.
        outcome = await allowing.send(_item(f"http://localhost:{listener.port}/hook"))
        assert listener.requests == 1
        assert (outcome.ok, outcome.status, outcome.final) == (False, 500, False)
        assert outcome.error == "HTTP 500 Internal Server Error"
    finally:
        await refusing.stop()
        await allowing.stop()
