"""Swagger UI at /docs renders every operation in headless Chromium with every host but the service blocked: its
scripts and styles come from the service (the CDN copy left the page blank without internet)."""

from __future__ import annotations

import asyncio
import socket
import threading
from collections.abc import Iterator
from contextlib import contextmanager

import uvicorn
from fastapi import FastAPI

from tests.support.browser import CHROMIUM
from tests.support.service_apps import service_app


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
