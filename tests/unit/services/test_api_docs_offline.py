"""Every service's /docs and /redoc work without internet access: their scripts, styles and icon are served by the
service itself (tests/e2e/test_api_docs_browser.py renders them in a browser cut off from every other host)."""

from __future__ import annotations

import re

import pytest
from fastapi.testclient import TestClient

from services.apidocs import SERVICES
from tests.support.service_apps import service_app

ASSET = re.compile(r"""(?:src|href)\s*=\s*["']([^"']+)["']""")


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
