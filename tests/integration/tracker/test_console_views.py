"""The console an operator expects and the heat map, on PostgreSQL and on SQLite (the embedded mode), with the
tracker in process: dispatch success over cases whose first dispatch has an outcome (/v1/stats, the gauges, the
分拨成效 page); the dispatch board's filters, search and pages; GET /v1/stats/heat and the 风险热力 page."""

from __future__ import annotations

import re
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import httpx
import pytest
from fastapi import FastAPI
from prometheus_client import REGISTRY

from services.settings import KafkaSettings, Settings
from tests.integration.harness import running
from tests.integration.tracker.test_console_security import client_of, log_in
from tests.support.credentials import auth_headers, credential_for
from tests.support.service_apps import tracker
from tracker.clock import refresh_gauges
from tracker.store.models import Case, DispatchAttempt

pytestmark = [pytest.mark.timeout(120)]
OPERATOR = auth_headers("operator", "li")
NOW = datetime.now(UTC)


@pytest.fixture(params=[pytest.param("postgres", marks=pytest.mark.postgres), "sqlite"])
def database_url(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    if request.param == "sqlite":
        return f"sqlite+aiosqlite:///{tmp_path / 'tracker.db'}"
    url: str = request.getfixturevalue("fresh_postgres")
    return url


@asynccontextmanager
async def tracker_app(url: str, **settings: Any) -> AsyncIterator[FastAPI]:
    config = Settings(database_url=url, kafka=KafkaSettings(bootstrap=None), console_secret="views-secret",
                      **settings)  # type: ignore[arg-type]
    async with running(config, [tracker]) as app:
        yield app


@pytest.fixture
async def app(database_url: str) -> AsyncIterator[FastAPI]:
    async with tracker_app(database_url) as application:
        yield application


def case(case_id: str, *, ago: timedelta, status: str = "dispatched", unit: str | None = "nanmen",
         department: str | None = "amr", rule: str = "R3", hazard: str = "none", source: str = "grid",
         overdue: bool = False, report: dict[str, Any] | None = None, decision: dict[str, Any] | None = None,
         attempt: int = 1, ack_due_in: timedelta | None = None) -> Case:
    at = NOW - ago
    return Case(case_id=case_id, status=status, source=source, unit=unit, department=department, rule=rule,
                hazard=hazard, attempt=attempt, state={}, received_at=at, updated_at=at, dispatched_at=at,
                overdue=overdue, ack_due_at=at + (ack_due_in or timedelta(hours=24)),
                feedback_due_at=at + timedelta(days=20),
                report={"external_id": f"X-{case_id}", "source": source, "title": "噪音扰民", **(report or {})},
                decision=decision)


async def seed(app: FastAPI, cases: list[Case], attempts: list[DispatchAttempt] = ()) -> None:  # type: ignore[assignment]
    async with app.state.runtime.db.transaction() as session:
        session.add_all(cases)
        await session.flush()
        session.add_all(attempts)


def api(app: FastAPI) -> httpx.AsyncClient:
    return httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://tracker", headers=OPERATOR)


def gauge(name: str, window: str) -> float | None:
    return REGISTRY.get_sample_value(name, {"window": window})


# -- dispatch success -------------------------------------------------------------------------------------------

async def test_dispatch_success_counts_outcomes_and_shows_fresh_cases_apart(app: FastAPI) -> None:
    fresh = [case(f"F{i}", ago=timedelta(minutes=30 + i)) for i in range(30)]  # inside their 24 h ack window
    old = timedelta(days=3)
    decided = [case(f"D{i}", ago=old + timedelta(minutes=i), status="acknowledged") for i in range(3)]
    decided += [case("D-ret", ago=old, status="returned", department=None, attempt=1)]
    decided += [case(f"D-late{i}", ago=old, ack_due_in=timedelta(hours=2)) for i in range(2)]  # window passed
    attempts = [DispatchAttempt(case_id=c.case_id, attempt=1, department="amr", dispatched_at=c.dispatched_at,
                                acked_at=c.dispatched_at + timedelta(hours=1) if c.status == "acknowledged" else None,
                                returned_at=c.dispatched_at + timedelta(hours=1) if c.status == "returned" else None,
                                return_reason="not_our_remit" if c.status == "returned" else None)
                for c in fresh + decided]
    await seed(app, fresh + decided, attempts)
    async with api(app) as client:
        day = (await client.get("/v1/stats", params={"window": "24h"})).json()["dispatch_success"]
        week = (await client.get("/v1/stats", params={"window": "7d"})).json()["dispatch_success"]
    # The 30 fresh cases read "0.0% (0/30, 待定 30)": no outcome yet, so no ratio, 30 pending.
    assert day == {"value": None, "numerator": 0, "denominator": 0, "pending": 30}
    # 3 acked of 6 with an outcome (3 acked, 1 returned, 2 past their ack window unacknowledged).
    assert week == {"value": 0.5, "numerator": 3, "denominator": 6, "pending": 30}

    await refresh_gauges(_deps(app))
    assert gauge("dispatch_success_ratio", "24h") is None and gauge("dispatch_pending", "24h") == 30
    assert gauge("dispatch_success_ratio", "7d") == 0.5 and gauge("dispatch_pending", "7d") == 30

    async with client_of(app) as browser:
        await log_in(browser, credential_for("operator", "li"))
        # The page counts whole days from midnight in Shanghai, so "days=1" holds no fresh case in the first hour
        # after that midnight; two days hold the last 24 hours at any hour and none of the 3-day-old cases.
        recent = (await browser.get("/console/figures", params={"days": 2})).text
        week_page = (await browser.get("/console/figures", params={"days": 7})).text
    assert re.search(r'id="success">—</strong>（0/0）', recent) and "另有 30 件仍在报到时限内" in recent
    assert re.search(r'id="success">50.0%</strong>（3/6）', week_page)


def _deps(app: FastAPI) -> Any:
    from tracker.domain.sla import CALENDAR_DAYS
    from tracker.handlers import Deps

    runtime = app.state.runtime
    return Deps(db=runtime.db, settings=runtime.settings, calendar=CALENDAR_DAYS)


# -- the dispatch board ------------------------------------------------------------------------------------------

def rows(html: str) -> list[str]:
    return re.findall(r'<tr class="[^"]*" data-case="([^"]+)"', html)


async def test_the_board_filters_searches_and_pages(app: FastAPI) -> None:
    many = [case(f"B{i:03d}", ago=timedelta(hours=60 - i), overdue=i < 3) for i in range(55)]
    others = [
        case("E1", ago=timedelta(hours=5), unit="baiyun", department="ecology", rule="R4",
             report={"external_id": "HX-2026-777", "description": "楼下烧烤油烟很大，优惠50%吸引人排队",
                     "location": {"address": "白云庄社区12幢", "grid": "白云第3网格"}}),
        case("E2", ago=timedelta(hours=4), unit="baiyun", department="ecology", rule="R4",
             report={"description": "另一家5折的店"}),
        case("C1", ago=timedelta(days=2), status="closed"),
    ]
    await seed(app, many + others)
    async with client_of(app) as browser:
        await log_in(browser, credential_for("operator", "li"))

        async def board(**params: Any) -> str:
            answer = await browser.get("/console", params=params)
            assert answer.status_code == 200, answer.text[:300]
            return answer.text

        first = await board()
        assert "符合条件 <strong>57</strong>" in first and len(rows(first)) == 50
        assert rows(first)[:3] == ["B000", "B001", "B002"]  # overdue first
        assert "第 1 / 2 页" in first and 'href="/console?page=2"' in first
        second = rows(await board(page=2))
        assert len(second) == 7 and set(second) == {*(f"B{i:03d}" for i in range(50, 55)), "E1", "E2"}

        assert rows(await board(department="ecology")) == ["E1", "E2"]
        assert rows(await board(overdue="true")) == ["B000", "B001", "B002"]
        assert rows(await board(rule="R4", unit="baiyun")) == ["E1", "E2"]
        assert rows(await board(unit="baiyun", department="amr")) == []
        assert "C1" not in rows(await board(q="C1")) and rows(await board(q="C1", status="all")) == ["C1"]
        assert rows(await board(status="closed")) == ["C1"]
        # Search: case id, external id, address, grid, text (Chinese on SQLite too), a literal "%".
        assert rows(await board(q="E1")) == ["E1"]
        assert rows(await board(q="hx-2026-777")) == ["E1"]
        assert rows(await board(q="白云庄社区")) == ["E1"]
        assert rows(await board(q="白云第3网格")) == ["E1"]
        assert rows(await board(q="烧烤油烟")) == ["E1"]
        assert rows(await board(q="50%")) == ["E1"]
        # Filters survive paging.
        paged = await board(department="amr", q="噪音")
        assert "符合条件 <strong>55</strong>" in paged and 'href="/console?department=amr&amp;q=' in paged
        assert (await browser.get("/console", params={"status": "bogus"})).status_code == 422


# -- the heat map -------------------------------------------------------------------------------------------------

def where(address: str | None = None, grid: str | None = None, lat: float | None = None,
          lon: float | None = None) -> dict[str, Any]:
    return {"location": {k: v for k, v in (("address", address), ("grid", grid), ("lat", lat), ("lon", lon))
                         if v is not None}}


def decided(matter: str | None = None, words: list[str] | None = None, unit: str = "nanmen") -> dict[str, Any]:
    evidence = [{"kind": "gazetteer", "what": f"unit={unit}", "source": "location.address", "words": words}] \
        if words else []
    return {"matter": matter, "evidence": evidence}


HEAT_CASES: list[Callable[[], Case]] = [
    # 柳锦社区: 4 now (two named by the router's evidence only, a road address), 1 in the window before.
    lambda: case("H1", ago=timedelta(days=1), report=where("解放南路8号", lat=29.8681, lon=121.5482),
                 decision=decided("noise", ["柳锦社区"])),
    lambda: case("H2", ago=timedelta(days=2), report=where("解放南路10号", lat=29.8683, lon=121.5484),
                 decision=decided("noise", ["柳锦"])),
    lambda: case("H3", ago=timedelta(days=3), hazard="fire", report=where("柳锦社区3幢", lat=29.8685, lon=121.5486),
                 decision=decided("fire-exits")),
    lambda: case("H4", ago=timedelta(days=4), source="hotline", report=where("柳锦社区5幢"), decision=decided()),
    lambda: case("H5", ago=timedelta(days=40), report=where("柳锦社区"), decision=decided()),
    # 白云庄社区: 1 now, 3 before (falling), by grid.
    lambda: case("H6", ago=timedelta(days=5), unit="baiyun", rule="R4",
                 report=where(grid="白云庄社区第2网格", lat=29.8702, lon=121.5201), decision=decided("noise")),
    *(lambda i=i: case(f"H7{i}", ago=timedelta(days=35 + i), unit="baiyun",
                       report=where(grid="白云庄社区第2网格"), decision=decided()) for i in range(3)),
    # Names no community: unplaced.
    lambda: case("H8", ago=timedelta(days=6), report=where("海曙区某路1号", lat=29.85, lon=121.50), decision=None),
    # Before both windows: not counted.
    lambda: case("H9", ago=timedelta(days=70), report=where("柳锦社区"), decision=None),
]


async def test_the_heat_map_counts_communities_grids_units_and_cells_with_the_trend(app: FastAPI) -> None:
    await seed(app, [make() for make in HEAT_CASES])
    async with api(app) as client:
        answer = await client.get("/v1/stats/heat", params={"window": "30d"})
        assert answer.status_code == 200, answer.text
        body = answer.json()
        by_unit = (await client.get("/v1/stats/heat", params={"by": "unit"})).json()
        by_grid = (await client.get("/v1/stats/heat", params={"by": "grid"})).json()
        fire = (await client.get("/v1/stats/heat", params={"hazard": "fire"})).json()
        noise = (await client.get("/v1/stats/heat", params={"matter": "noise"})).json()
        hotline = (await client.get("/v1/stats/heat", params={"source": "hotline"})).json()
        r4 = (await client.get("/v1/stats/heat", params={"rule": "R4"})).json()
        refused = await client.get("/v1/stats/heat", headers=auth_headers("department", "amr"))
        bad = [await client.get("/v1/stats/heat", params=p)
               for p in ({"by": "street"}, {"window": "forever"}, {"window": "400d"}, {"hazard": "flood"})]
    assert (body["total"], body["previous_total"], body["unplaced"], body["located"]) == (6, 4, 1, 5)
    assert [(g["key"], g["unit"], g["count"], g["previous"], g["trend"]) for g in body["groups"]] == [
        ("柳锦社区", "nanmen", 4, 1, "up"), ("白云庄社区", "baiyun", 1, 3, "down")]
    assert body["groups"][0]["change"] == 3 and body["groups"][0]["change_ratio"] == 3.0
    assert body["cell_size"] == 0.005 and sum(c["count"] for c in body["cells"]) == 5
    assert body["cells"][0] == {"lat": 29.865, "lon": 121.545, "count": 3}  # H1–H3 in one cell
    assert [(g["key"], g["name"], g["count"], g["previous"]) for g in by_unit["groups"]] == [
        ("nanmen", "南门街道", 5, 1), ("baiyun", "白云街道", 1, 3)]
    assert [(g["key"], g["count"], g["previous"]) for g in by_grid["groups"]] == [("白云庄社区第2网格", 1, 3)]
    assert [g["key"] for g in fire["groups"]] == ["柳锦社区"] and fire["total"] == 1
    assert (noise["total"], [g["count"] for g in noise["groups"]]) == (3, [2, 1])
    assert hotline["total"] == 1 and fire["filters"] == {"hazard": "fire"}
    assert r4["total"] == 1 and [g["key"] for g in r4["groups"]] == ["白云庄社区"]
    assert refused.status_code == 403 and refused.headers["content-type"] == "application/problem+json"
    assert [b.status_code for b in bad] == [422, 422, 422, 422]

    async with client_of(app) as browser:
        await log_in(browser, credential_for("operator", "li"))
        page = await browser.get("/console/heat")
        filtered = await browser.get("/console/heat", params={"hazard": "fire", "window": "7d"})
        grids = await browser.get("/console/heat", params={"by": "grid"})
    assert page.status_code == 200 and 'class="heatmap"' in page.text and "<image" not in page.text
    assert "img-src 'self' data:;" in page.headers["content-security-policy"]
    assert re.findall(r'<tr data-key="([^"]+)">', page.text) == ["柳锦社区", "白云庄社区"]
    assert "新增" not in page.text and "↑ 3（+300%）" in page.text and "↓ 2（-67%）" in page.text
    assert re.findall(r'<tr data-key="([^"]+)">', filtered.text) == ["柳锦社区"]
    assert re.findall(r'<tr data-key="([^"]+)">', grids.text) == ["白云庄社区第2网格"]
    assert "<script>" not in page.text  # the console's CSP allows no inline script: the picture is plain SVG


async def test_a_configured_tile_layer_is_drawn_and_allowed_on_the_heat_page_only(tmp_path: Path) -> None:
    tiles = "https://tiles.example.org/{z}/{x}/{y}.png"
    async with tracker_app(f"sqlite+aiosqlite:///{tmp_path / 't.db'}", console_tile_url=tiles) as application:
        await seed(application, [HEAT_CASES[0]()])
        async with client_of(application) as browser:
            await log_in(browser, credential_for("operator", "li"))
            page = await browser.get("/console/heat")
            board = await browser.get("/console")
    assert '<image href="https://tiles.example.org/' in page.text
    assert "img-src 'self' data: https://tiles.example.org;" in page.headers["content-security-policy"]
    assert "tiles.example.org" not in board.headers["content-security-policy"]
