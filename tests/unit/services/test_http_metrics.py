"""Request metrics name the route template, also for routes of included routers, so latency is per endpoint."""

from __future__ import annotations

import httpx
from fastapi import APIRouter
from prometheus_client import REGISTRY

from services.http import create_app


def _count(service: str, route: str) -> float:
    value = REGISTRY.get_sample_value("http_request_seconds_count",
                                      {"service": service, "route": route, "method": "GET"})
    return value or 0.0


async def test_requests_are_measured_by_route_template() -> None:
    items = APIRouter()

    @items.get("/v1/items/{item_id}")
    async def item(item_id: str) -> dict[str, str]:
        return {"id": item_id}

    app = create_app(service="metrics-test", routers=[items], readiness=[], max_body_bytes=1000)
    before = _count("metrics-test", "/v1/items/{item_id}"), _count("metrics-test", "unmatched")
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://t") as client:
        assert (await client.get("/v1/items/a")).status_code == 200
        assert (await client.get("/v1/items/b")).status_code == 200
        assert (await client.get("/nowhere")).status_code == 404
    assert _count("metrics-test", "/v1/items/{item_id}") == before[0] + 2
    assert _count("metrics-test", "unmatched") == before[1] + 1
