"""Every service's /docs and /redoc work without internet access: their scripts, styles and icon are served by the
service itself, and a browser with every other host blocked renders the operations."""

from __future__ import annotations

import asyncio
import re
import shutil
import socket
import threading
from collections.abc import Iterator
from contextlib import contextmanager

import pytest
import uvicorn
from fastapi import FastAPI
from fastapi.testclient import TestClient

from services.apidocs import SERVICES
from services.runner import build_app
from services.runtime import Runtime
from services.settings import KafkaSettings, Settings

CHROMIUM = shutil.which("chromium") or "/usr/bin/chromium"  # deploy/local/chromium.sh (make test) installs it
ASSET = re.compile(r"""(?:src|href)\s*=\s*["']([^"']+)["']""")


def service_app(service: str) -> FastAPI:
    """The service's app as it is deployed, built but not started: nothing connects."""
    settings = Settings(database_url="sqlite+aiosqlite://", kafka=KafkaSettings(bootstrap=None), service=service)
    runtime = Runtime.create(settings)
    build = __import__(f"{service}.bootstrap", fromlist=["build"]).build
    return build_app(runtime, [build(runtime)], service)


@pytest.mark.parametrize("service", SERVICES)
@pytest.mark.parametrize("page", ["/docs", "/redoc"])
def test_api_document_pages_load_only_assets_the_service_serves(service: str, page: str) -> None:
    client = TestClient(service_app(service))
    html = client.get(page)
    assert html.status_code == 200
    assert "http://" not in html.text and "https://" not in html.text  # no CDN, no validator, no font service
    assets = ASSET.findall(html.text)
    assert assets, html.text
    for url in assets:
        assert url.startswith("/static-offline-docs/"), url
        answer = client.get(url)
        assert answer.status_code == 200 and len(answer.content) > 500, url
    assert "/openapi.json" in html.text and client.get("/openapi.json").status_code == 200


@contextmanager
def serving(app: FastAPI) -> Iterator[str]:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    server = uvicorn.Server(uvicorn.Config(app, host="127.0.0.1", port=port, lifespan="off", log_level="warning"))
    loop = asyncio.new_event_loop()
    thread = threading.Thread(target=loop.run_until_complete, args=(server.serve(),), daemon=True)
    thread.start()
    try:
        while not server.started:
            thread.join(0.05)
            assert thread.is_alive(), "the docs server did not start"
        yield f"http://127.0.0.1:{port}"
    finally:
        server.should_exit = True
        thread.join(10)


async def test_swagger_ui_renders_every_operation_with_the_internet_blocked() -> None:
    from playwright.async_api import Route, async_playwright

    app = service_app("tracker")
    operations = sum(len(methods) for methods in app.openapi()["paths"].values())
    with serving(app) as base:
        async with async_playwright() as pw:
            browser = await pw.chromium.launch(executable_path=CHROMIUM, args=["--no-sandbox"])
            try:
                page = await browser.new_page()
                outside: list[str] = []

                async def only_local(route: Route) -> None:
                    if route.request.url.startswith(base):
                        await route.continue_()
                    else:
                        outside.append(route.request.url)
                        await route.abort()

                await page.route("**/*", only_local)
                await page.goto(f"{base}/docs")
                await page.wait_for_selector(".opblock-summary", timeout=20_000)
                assert await page.locator(".opblock-summary").count() == operations
                assert outside == []
            finally:
                await browser.close()
