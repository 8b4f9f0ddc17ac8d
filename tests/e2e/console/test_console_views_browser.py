"""The board with filters and the heat map in headless Chromium against a tracker process on PostgreSQL: the
operator filters the board from its form and reads the heat map from the navigation, under the console's CSP.
Screenshots go to tests/artifacts/ (console-board-filters.png, console-heat.png)."""

from __future__ import annotations

import asyncio
import random
import re
from datetime import timedelta
from pathlib import Path

import pytest

from services.db import Database
from tests.e2e.stack import ServiceProcess, running
from tests.integration.tracker.test_console_views import case
from tests.support.browser import ARTIFACTS, console_page
from tracker.store.models import Case

pytestmark = [pytest.mark.e2e, pytest.mark.postgres, pytest.mark.timeout(180)]
# Where the communities lie (roughly) and how many reports each had in this and the previous 30 days.
COMMUNITIES = [
    ("柳锦社区", "nanmen", 29.862, 121.548, 46, 20), ("车站社区", "nanmen", 29.866, 121.556, 25, 27),
    ("郡庙社区", "jiangxia", 29.876, 121.560, 18, 9), ("天封社区", "jiangxia", 29.873, 121.553, 12, 15),
    ("汪弄社区", "ximen", 29.872, 121.536, 15, 6), ("迎凤社区", "yuehu", 29.868, 121.542, 8, 8),
    ("孝闻社区", "gulou", 29.880, 121.547, 10, 4), ("白云庄社区", "baiyun", 29.866, 121.520, 30, 12),
    ("南苑社区", "duantang", 29.853, 121.535, 9, 14), ("新星社区", "wangchun", 29.888, 121.505, 6, 0),
    ("石碶村", "shiqi", 29.815, 121.520, 12, 10), ("高桥村", "gaoqiao", 29.870, 121.460, 5, 7),
]
DEPARTMENTS = ["amr", "urban-mgmt", "ecology", "fire-brigade", "culture"]
TEXTS = ["楼下烧烤店油烟扰民", "店门口占道经营", "小区消防通道被堵", "KTV 深夜噪音", "工地夜间施工噪音"]


def reports(rng: random.Random) -> list[Case]:
    out = []
    for name, unit, lat, lon, now, before in COMMUNITIES:
        for i in range(now + before):
            days = rng.uniform(0.1, 29.9) if i < now else rng.uniform(30.1, 59.9)
            n = len(out)
            out.append(case(
                f"V{n:04d}", ago=timedelta(days=days), unit=unit, department=rng.choice(DEPARTMENTS),
                rule=rng.choice(["R3", "R4", "R9"]), hazard="fire" if n % 7 == 0 else "none",
                source="hotline" if n % 3 == 0 else "grid", overdue=n % 5 == 1 and days < 20,
                status="acknowledged" if n % 4 == 0 else "dispatched",
                report={"external_id": f"HX-{n:05d}", "title": TEXTS[n % len(TEXTS)],
                        "location": {"address": f"{name}{rng.randint(1, 40)}幢", "grid": f"{name}第{n % 3 + 1}网格",
                                     "lat": rng.gauss(lat, 0.0025), "lon": rng.gauss(lon, 0.0025)}},
                decision={"matter": "noise" if "噪音" in TEXTS[n % len(TEXTS)] else None, "evidence": []}))
    return out


async def test_the_board_with_filters_and_the_heat_map_in_chromium(tmp_path: Path, fresh_postgres: str) -> None:
    from playwright.async_api import async_playwright

    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    env = {"CASEROUTE_DATABASE_URL": fresh_postgres, "CASEROUTE_CONSOLE_SECRET": "e2e-views-secret"}
    tracker = ServiceProcess("tracker", env, tmp_path / "tracker.log")
    with running([tracker]):
        await tracker.wait_ready()  # migrated
        db = Database(fresh_postgres)
        try:
            async with db.transaction() as session:
                session.add_all(reports(random.Random(7)))
        finally:
            await db.dispose()
        async with async_playwright() as pw:
            browser, page, csp = await console_page(pw, tracker.url, "operator", "li")
            assert "第 1 / " in await page.inner_text("#pager")  # more than one page of open cases

            # The operator filters from the form: one department, overdue only; then searches an address.
            await page.select_option("select[name=department]", "amr")
            await page.check("input[name=overdue]")
            await page.click("#board-filters button[type=submit]")
            await page.wait_for_url(re.compile(r".*/console\?.*department=amr.*overdue=true.*"))
            shown = await page.locator("#board-table tr[data-case]").count()
            assert shown > 1 and f"符合条件 {shown} 件" in await page.inner_text("#board-summary")
            for row in await page.locator("#board-table tr[data-case]").all_inner_texts():
                assert "区市场监管局" in row and "超期" in row
            await page.screenshot(path=str(ARTIFACTS / "console-board-filters.png"), full_page=True)
            await page.fill("input[name=q]", "柳锦社区")
            await page.click("#board-filters button[type=submit]")
            await page.wait_for_url(re.compile(r".*/console\?.*q=%E6%9F%B3.*"))
            found = await page.locator("#board-table tr[data-case]").all_inner_texts()
            assert 0 < len(found) < shown and all("柳锦社区" in row and "超期" in row for row in found)

            await page.click("text=风险热力")
            await page.wait_for_url(f"{tracker.url}/console/heat")
            ranked = await page.locator("#heat-ranking tr[data-key]").all_inner_texts()
            assert ranked[0].split("\t")[1] == "柳锦社区" and "↑ 26" in ranked[0]
            assert any(r.split("\t")[1] == "新星社区" and "新增" in r for r in ranked)
            assert await page.locator("svg.heatmap rect").count() > 20
            total = sum(now for *_, now, _ in COMMUNITIES)
            assert f"报告 {total} 件" in await page.inner_text("#heat-summary")
            await page.screenshot(path=str(ARTIFACTS / "console-heat.png"), full_page=True)
            assert csp == []
            await browser.close()
    await asyncio.sleep(0)
    for name in ("board-filters", "heat"):
        assert (ARTIFACTS / f"console-{name}.png").stat().st_size > 10_000
