"""Every service's /docs and /redoc work without internet access: their scripts, styles and icon are served by the
service itself (tests/e2e/test_api_docs_browser.py renders them in a browser cut off from every other host)."""

from __future__ import annotations

import re

import httpx
import pytest

from caseroute.apidocs import SERVICES
from tests.support.service_apps import service_app

ASSET = re.compile(r"""(?:src|href)\s*=\s*["']([^"']+)["']""")


@pytest.mark.parametrize("service", SERVICES)
@pytest.mark.parametrize("page", ["/docs", "/redoc"])
async def test_api_document_pages_load_only_assets_the_service_serves(service: str, page: str) -> None:
    transport = httpx.ASGITransport(app=service_app(service))  # no lifespan: nothing starts, nothing connects
    async with httpx.AsyncClient(transport=transport, base_url="http://service") as client:
        await _only_local_assets(client, page)


async def _only_local_assets(client: httpx.AsyncClient, page: str) -> None:
    html = await client.get(page)
    assert html.status_code == 200
    assert "http://" not in html.text and "https://" not in html.text  # no CDN, no validator, no font service
    assets = ASSET.findall(html.text)
    assert assets, html.text
    for url in assets:
        assert url.startswith("/static-offline-docs/"), url
        answer = await client.get(url)
        assert answer.status_code == 200 and len(answer.content) > 500, url
    assert "/openapi.json" in html.text and (await client.get("/openapi.json")).status_code == 200
