"""The console in headless Chromium (Debian's, driven by Playwright) against intake, router and tracker processes:
log in, rule on a gap case with save_as_rule, post a new report of the same kind and see it routed by the new rule
without the gap queue; a rollback auto-submitted by a page on another port is refused while the console's own
form works; after logout the old cookie is refused. A screenshot of each console page goes to tests/artifacts/
(kept by CI)."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import httpx
import pytest

from tests.e2e.stack import ServiceProcess, running, wait_status
from tests.support.browser import ARTIFACTS, CHROMIUM
from tests.support.credentials import auth_headers, credential_for

pytestmark = [pytest.mark.e2e, pytest.mark.kafka, pytest.mark.postgres, pytest.mark.timeout(300)]


def report(external_id: str, description: str, unit: str, title: str | None = None) -> dict[str, Any]:
    return {"external_id": external_id, "source": "grid", "reported_at": datetime.now(UTC).isoformat(),
            "location": {"unit": unit, "address": "华兴社区"}, "title": title, "description": description}


GAP = report("E2E-1", "华兴社区多家商户反映，共享充电宝运营商单方面撤走店内机柜，要求恢复或赔偿，"
             "分成也没结清。", "baiyun", "共享充电宝运营商与商户合作纠纷")
ALSO_PENDING = report("E2E-3", "江厦街道开明街文具店反映：共享充电宝公司撤走店里的机柜，几个月的分成一分钱没给。",
                      "jiangxia")
SAME_KIND = report("E2E-2", "我店里的共享充电宝机柜被运营商撤走了，说好的分成一直没给，这事找谁管？", "nanmen")
DRONES = [  # two gap reports of another kind, for the gap clusters page
    report("E2E-D0", "高桥村附近空地有一家无人机表演公司每晚组织数百架无人机编队表演，村民询问该类经营活动由哪个部门"
           "监管。", "gaoqiao"),
    report("E2E-D1", "喂，最近西门街道西河街那边的空地上，每天晚上都有人在放无人机，好几百架在天上排队形、拼字，"
           "说是一个表演公司在练习。我就想知道这种是不是要报批的？到底是谁在管？", "ximen"),
]


@asynccontextmanager
async def attacker_page(target: str) -> AsyncIterator[str]:
    """A page on another port of 127.0.0.1 that auto-submits a form to `target`: the probe's CSRF attack."""
    html = (f'<!doctype html><form method="post" action="{target}"><input name="reason" value="csrf">'
            '</form><script>document.forms[0].submit()</script>').encode()

    async def answer(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        await reader.readuntil(b"\r\n\r\n")
        writer.write(b"HTTP/1.1 200 OK\r\nContent-Type: text/html\r\nConnection: close\r\n"
                     b"Content-Length: %d\r\n\r\n%s" % (len(html), html))
        await writer.drain()
        writer.close()

    server = await asyncio.start_server(answer, "127.0.0.1", 0)
    async with server:
        yield f"http://127.0.0.1:{server.sockets[0].getsockname()[1]}/"


async def test_rule_in_the_console_then_a_new_report_is_routed_by_the_rule(
        tmp_path: Path, kafka_bootstrap: str, fresh_postgres: str, topic_prefix: str) -> None:
    from playwright.async_api import async_playwright

    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    env = {"CASEROUTE_KAFKA_BOOTSTRAP": kafka_bootstrap, "CASEROUTE_DATABASE_URL": fresh_postgres,
           "CASEROUTE_TOPIC_PREFIX": topic_prefix, "CASEROUTE_KAFKA__PARTITIONS": "2",
           "CASEROUTE_CONSOLE_SECRET": "e2e-console-secret"}
    services = {n: ServiceProcess(n, env, tmp_path / f"{n}.log") for n in ("intake", "router", "tracker")}
    with running(list(services.values())):
        await asyncio.gather(*(s.wait_ready() for s in services.values()))
        tracker = httpx.AsyncClient(base_url=services["tracker"].url, timeout=10)
        async with httpx.AsyncClient(base_url=services["intake"].url, timeout=10,
                               headers=auth_headers("grid-app", "e2e-grid")) as intake:
            gap_id = (await intake.post("/v1/reports", json=GAP)).json()["case_id"]
            pending_id = (await intake.post("/v1/reports", json=ALSO_PENDING)).json()["case_id"]
            drone_ids = [(await intake.post("/v1/reports", json=d)).json()["case_id"] for d in DRONES]
            for cid in (gap_id, pending_id, *drone_ids):
                assert (await wait_status(tracker, cid, {"gap"}))["rule"] == "R10"

            async with async_playwright() as pw:
                browser = await pw.chromium.launch(executable_path=CHROMIUM, args=["--no-sandbox"])
                page = await browser.new_page(viewport={"width": 1280, "height": 900}, locale="zh-CN")
                base = services["tracker"].url
                csp_violations: list[str] = []
                page.on("console", lambda m: csp_violations.append(m.text)
                        if "Content Security Policy" in m.text else None)

                async def shot(name: str) -> None:
                    await page.screenshot(path=str(ARTIFACTS / f"console-{name}.png"), full_page=True)

                await page.goto(f"{base}/console")
                assert page.url.endswith("/console/login")
                await shot("login")
                await page.fill("input[name=credential]", credential_for("adjudicator", "wang"))
                await page.click("button[type=submit]")
                await page.wait_for_url(f"{base}/console")
                assert "调度看板" in await page.inner_text("h1")
                await shot("board")

                await page.click("text=空白发现")
                await page.wait_for_url(f"{base}/console/clusters")  # count() does not wait for the navigation
                assert "2 件" in await page.inner_text(".cluster h3")  # the two drone-show reports
                await shot("clusters")

                await page.click("text=裁决队列")
                await page.wait_for_url(f"{base}/console/adjudications")
                assert await page.locator(f".queue-item[data-case='{gap_id}']").count() == 1
                await shot("queue")
                await page.click(f".queue-item[data-case='{gap_id}'] a.rule-link")
                await page.select_option("select[name=lead]", "amr")
                await page.check("input[name=principle][value=competent]")
                await page.check("input[name=save_as_rule]")
                await page.fill("input[name=terms]", "共享充电宝, 机柜, 分成")
                await page.fill("textarea[name=note]", "共享充电宝合作纠纷属合同行为监管，由市场监管牵头")
                await shot("ruling-form")
                await page.click("#ruling-form button[type=submit]")
                published = await page.inner_text("#published")
                assert "+r1" in published and "ruling-" in published
                await shot("ruled")
                # The pending gap case of the same kind is offered; re-routed in bulk (htmx swaps the answer in).
                assert await page.locator(f"#reroute-form input[value='{pending_id}']").count() == 1
                await page.click("#reroute-form button[type=submit]")
                await page.wait_for_selector("#rerouted")
                assert "已改派 1 件" in await page.inner_text("#rerouted")
                assert page.url.endswith("/ruling")  # swapped in place, no navigation
                await shot("rerouted")
                assert (await wait_status(tracker, pending_id, {"dispatched"}))["rule"] == "RULING"

                ruled = await wait_status(tracker, gap_id, {"dispatched"})
                assert ruled["department"] == "amr"

                # A new report of the same kind: routed by the rule, never through the gap queue.
                await asyncio.sleep(1.5)  # the router replica takes catalogue.v1
                new_id = (await intake.post("/v1/reports", json=SAME_KIND)).json()["case_id"]
                routed = await wait_status(tracker, new_id, {"dispatched", "gap"})
                assert routed["status"] == "dispatched" and routed["rule"] == "RULING"
                assert routed["department"] == "amr"
                assert "gap" not in [t["to_status"] for t in routed["timeline"]]
                queue = (await tracker.get("/v1/adjudications",
                                           headers=auth_headers("adjudicator", "wang"))).json()
                assert new_id not in {i["case_id"] for i in queue}

                await page.goto(f"{base}/console/cases/{new_id}")
                trace = await page.inner_text("body")
                assert "RULING" in trace and "ruling-" in trace and gap_id in trace
                await shot("case")
                await page.goto(f"{base}/console/catalogue")
                assert "+r1" in await page.inner_text("table")
                await shot("catalogue")

                # A page on another port of this host (same site, so the SameSite=Strict cookie goes along)
                # auto-submits a rollback as the logged-in adjudicator: refused, nothing published.
                adjudicator = auth_headers("adjudicator", "wang")
                before = (await tracker.get("/v1/catalogue/versions", headers=adjudicator)).json()
                original = next(v["version"] for v in before if v["parent"] is None)
                async with attacker_page(f"{base}/console/catalogue/{original}/rollback") as evil:
                    await page.goto(evil)
                    await page.wait_for_url(f"{base}/console/catalogue/{original}/rollback")
                    assert "Cross-site request refused" in await page.inner_text("body")
                after = (await tracker.get("/v1/catalogue/versions", headers=adjudicator)).json()
                assert len(after) == len(before)
                # The console's own form (with the session's CSRF token) rolls back.
                await page.goto(f"{base}/console/catalogue")
                form = page.locator(f"form[action='/console/catalogue/{original}/rollback']")
                await form.locator("input[name=reason]").fill("演练：回滚到初始目录")
                await form.locator("button[type=submit]").click()
                await page.wait_for_selector("p.card")
                assert f"已回滚：{original}" in await page.inner_text("p.card")
                await shot("rollback")
                assert len((await tracker.get("/v1/catalogue/versions", headers=adjudicator)).json()) == \
                    len(before) + 1
                await page.click("text=与上一版比较")
                assert "rulings.ruling-" in await page.inner_text("ul.diff")
                await shot("diff")
                await page.goto(f"{base}/console/figures")
                assert await page.locator("svg.chart").count() == 1
                await shot("figures")
                await page.click("text=目录建议")  # suggestions from the loop: from the navigation, under the CSP
                await page.wait_for_url(f"{base}/console/suggestions")
                assert "目录建议" in await page.inner_text("h1")
                await shot("suggestions")
                await page.goto(f"{base}/console")
                assert await page.locator("[data-department='amr']").count() == 1
                await shot("board-after")
                assert csp_violations == []  # the pages (htmx included) work under the console's CSP

                # Logout ends the session on the server: the cookie it had, put back, is refused.
                cookies = await page.context.cookies()
                await page.click("nav button[type=submit]")
                await page.wait_for_url(f"{base}/console/login")
                replay = await browser.new_context()
                await replay.add_cookies([c for c in cookies if c["name"] == "caseroute_console"])
                again = await replay.new_page()
                await again.goto(f"{base}/console/cases/{gap_id}")
                assert again.url.endswith("/console/login")
                await browser.close()
        await tracker.aclose()
    for name in ("login", "board", "clusters", "queue", "ruling-form", "ruled", "rerouted", "case", "catalogue",
                 "rollback", "diff", "figures", "suggestions"):
        assert (ARTIFACTS / f"console-{name}.png").stat().st_size > 1000
