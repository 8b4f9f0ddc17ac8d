"""The monthly statement and the scorecards on PostgreSQL: a generated month of cases (routed, acknowledged,
returned, rerouted, disputed and ruled, escalated by the SLA clock), then /v1/stats?month=, /v1/scorecards, the
statement's JSON, its XLSX (read back with openpyxl) and its PDF (read back with pdftotext) must all say the same;
and the monthly job sends the statement once with two replicas, to safety-office's webhook through Kafka."""

from __future__ import annotations

import asyncio
import heapq
import io
import random
import subprocess
from collections import Counter
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import httpx
import pytest
from openpyxl import load_workbook
from sqlalchemy import func, select

from schemas.decision import Candidate, Decision, DecisionStatus
from schemas.events import CaseRouted, DepartmentReply, EventType, FeedbackOutcome, ReturnReason
from schemas.report import Hazard, Report
from services.db import Database
from services.envelopes import envelope
from services.migrate import upgrade
from services.principal import Caller
from services.settings import KafkaSettings, Settings
from tests.conftest import dev_reports
from tests.integration.harness import running
from tests.support.credentials import auth_headers
from tests.support.service_apps import tracker as build
from tracker import adjudication as adj
from tracker.domain.commands import Principle
from tracker.domain.sla import CALENDAR_DAYS
from tracker.handlers import Deps, escalate_due, handle_reply, record_routing
from tracker.monthly import send_statement
from tracker.statement_files import on_time
from tracker.store.models import Case, StatementSent, TrackerOutbox

pytestmark = [pytest.mark.postgres, pytest.mark.timeout(240)]
MIGRATIONS = Path(__file__).resolve().parents[3] / "tracker" / "migrations"
CST = timedelta(hours=8)
MONTH_START = datetime(2026, 11, 1, tzinfo=UTC) - CST  # 2026-11-01 00:00 in Asia/Shanghai
MONTH_END = datetime(2026, 12, 1, tzinfo=UTC) - CST
PRODUCED = MONTH_END + timedelta(minutes=5)
DEPARTMENTS = ["amr", "ecology", "urban-mgmt", "housing", "transport", "emergency"]
OVERSEER = auth_headers("operator", "statement-tests")
QUIET = {"sla_scan_s": 3600.0, "figures_refresh_s": 3600.0, "statement_check_s": 3600.0}


@dataclass
class ClockDeps(Deps):
    """The tracker's dependencies with a clock the generator moves through the month."""

    at: datetime = MONTH_START

    def now(self) -> datetime:
        return self.at


@dataclass
class Script:
    """What the generator did, counted independently of the code under test."""

    dispatched_in_month: int = 0
    reopened: Counter[str] | None = None
    overturned: Counter[str] | None = None
    upheld: Counter[str] | None = None


def _decision(primary: str, alternatives: list[str], hazard: bool) -> Decision:
    return Decision(external_id="x", status=DecisionStatus.routed, rule="R1" if hazard else "R9", primary=primary,
                    feedback_to=["street-nanmen"], cc=[], deadline_days=20, ack_hours=2 if hazard else 24,
                    hazard=Hazard.fire if hazard else Hazard.none, unit="nanmen", confidence=0.9,
                    alternatives=[Candidate(department=d, rule="R9", score=0.5) for d in alternatives],
                    catalogue_version="test")


async def generate(deps: ClockDeps, cases: int, seed: int = 15) -> Script:
    """Cases over the month (and a few either side of it), each with a scripted life, applied in time order."""
    rng = random.Random(seed)
    report = Report.model_validate(dev_reports()[0])
    script = Script(reopened=Counter(), overturned=Counter(), upheld=Counter())
    queue: list[tuple[datetime, int, Callable[[], Awaitable[None]]]] = []
    seq = iter(range(10**9))

    def at(when: datetime, action: Callable[[], Awaitable[None]]) -> None:
        heapq.heappush(queue, (when, next(seq), action))

    async def reply(case_id: str, department: str, kind: str, **extra: Any) -> None:
        await handle_reply(DepartmentReply(case_id=case_id, department=department, kind=kind, **extra), deps,
                           actor=f"department:{department}")

    def life(case_id: str, department: str, t: datetime, hazard: bool, may_return: bool) -> None:
        """After a dispatch at t: an ack (mostly in time), feedback (mostly in time), or a return."""
        window = timedelta(hours=2 if hazard else 24)
        if may_return and rng.random() < 0.2:
            reason = rng.choice(list(ReturnReason))
            at(t + timedelta(minutes=rng.uniform(10, 90)),
               lambda: reply(case_id, department, "return", reason=reason, text="非本部门"))
            return
        if rng.random() < 0.08:
            return  # never answers: escalated by the clock, pending ack for nobody
        ack_at = t + (window * rng.uniform(0.05, 0.8) if rng.random() < 0.85 else window + timedelta(hours=6))
        at(ack_at, lambda: reply(case_id, department, "ack"))
        if rng.random() < 0.85:
            days = rng.uniform(1, 12) if rng.random() < 0.85 else rng.uniform(22, 26)
            at(ack_at + timedelta(days=days), lambda: reply(case_id, department, "feedback",
                                                           outcome=FeedbackOutcome.resolved, text="已处理"))

    def open_case(i: int, t: datetime) -> None:
        case_id = f"M{i:05d}"
        hazard = rng.random() < 0.25
        primary, *rest = rng.sample(DEPARTMENTS, 3)
        alternatives = rest[:1] if rng.random() < 0.5 else []

        async def route() -> None:
            await record_routing(envelope(source="test", event_type=EventType.case_routed, subject=case_id,
                                          payload=CaseRouted(case_id=case_id, decision=_decision(
                                              primary, alternatives, hazard), report=report)), deps)
            await after_dispatch(case_id, primary, hazard, alternatives, attempt=1)

        at(t, route)

    async def after_dispatch(case_id: str, department: str, hazard: bool, alternatives: list[str],
                             attempt: int) -> None:
        life(case_id, department, deps.at, hazard, may_return=attempt == 1)

    first_at: dict[str, datetime] = {}
    for i in range(cases):
        # A few cases on the last day of October and the first of December: they are not November's.
        t = MONTH_START + timedelta(seconds=rng.uniform(-86400, 30 * 86400 + 86400 * 0.9))
        script.dispatched_in_month += MONTH_START <= t < MONTH_END
        first_at[f"M{i:05d}"] = t
        open_case(i, t)
    scan = MONTH_START - timedelta(days=1)
    while scan < PRODUCED:
        at(scan, lambda: _scan(deps))
        scan += timedelta(hours=4)
    at(PRODUCED, lambda: _scan(deps))
    adjudicator = Caller("adjudicator", "statement-tests")
    while queue:
        when, _, action = heapq.heappop(queue)
        if when > PRODUCED:
            continue
        deps.at = when
        await action()
        # After a return: the router's next candidate (rerouted) or, with none left, a ruling a day later.
        async with deps.db.sessions() as session:
            returned = (await session.execute(select(Case).where(Case.status.in_(("returned", "disputed")),
                                                                 Case.updated_at == when))).scalars().all()
        for row in returned:
            state = row.state
            department = state["returns"][-1]["department"]
            hazard = row.hazard == Hazard.fire.value
            alternatives = [a["department"] for a in (row.decision or {}).get("alternatives", [])
                            if a["department"] != department]
            if row.status == "returned" and alternatives:
                nxt = alternatives[0]

                async def reroute(case_id: str = row.case_id, nxt: str = nxt, hazard: bool = hazard) -> None:
                    await record_routing(envelope(source="test", event_type=EventType.case_routed, subject=case_id,
                                                  payload=CaseRouted(case_id=case_id, attempt=2, decision=_decision(
                                                      nxt, [], hazard), report=report)), deps)
                    await after_dispatch(case_id, nxt, hazard, [], attempt=2)

                at(when + timedelta(hours=1), reroute)
            elif row.status == "disputed":
                back = rng.random() < 0.4  # the ruling sends it back: the return is overturned
                lead = department if back else rng.choice([d for d in DEPARTMENTS if d != department])
                ruled_at = when + timedelta(days=rng.uniform(0.5, 2))
                if ruled_at < MONTH_END and MONTH_START <= first_at[row.case_id]:  # November's, ruled in it
                    (script.overturned if back else script.upheld)[department] += 1  # type: ignore[index]
                    if back:
                        script.reopened[lead] += 1  # type: ignore[index]

                async def ruling(case_id: str = row.case_id, lead: str = lead, hazard: bool = hazard) -> None:
                    await adj.rule(deps, case_id, adj.RulingInput(lead=lead, principle=Principle.competent,
                                                                  basis="职责清单"), adjudicator)
                    await after_dispatch(case_id, lead, hazard, [], attempt=3)

                at(ruled_at, ruling)
    return script


async def _scan(deps: Deps) -> None:
    while await escalate_due(deps, now=deps.now()) > 0:
        pass


def _pdf_text(body: bytes, tmp: Path) -> str:
    path = tmp / "statement.pdf"
    path.write_bytes(body)
    return subprocess.run(["pdftotext", "-layout", str(path), "-"], check=True, capture_output=True,
                          text=True).stdout


async def test_a_generated_month_reads_the_same_in_stats_scorecards_json_xlsx_and_pdf(fresh_postgres: str,
                                                                                       tmp_path: Path) -> None:
    settings = Settings(database_url=fresh_postgres, kafka=KafkaSettings(bootstrap=None), **QUIET)  # type: ignore[arg-type]
    db = Database(fresh_postgres)
    await upgrade(db, "tracker", MIGRATIONS)
    deps = ClockDeps(db=db, settings=settings, calendar=CALENDAR_DAYS)
    try:
        script = await generate(deps, 240)
    finally:
        await db.dispose()
    async with running(settings, [build]) as app, httpx.AsyncClient(
            transport=httpx.ASGITransport(app=app), base_url="http://tracker", headers=OVERSEER, timeout=60) as http:
        stats = (await http.get("/v1/stats", params={"month": "2026-11"})).json()
        cards = (await http.get("/v1/scorecards", params={"month": "2026-11"})).json()
        statement = (await http.get("/v1/reports/monthly", params={"month": "2026-11"})).json()
        xlsx = await http.get("/v1/reports/monthly.xlsx", params={"month": "2026-11"})
        pdf = await http.get("/v1/reports/monthly.pdf", params={"month": "2026-11"})
        department = await http.get("/v1/scorecards", params={"month": "2026-11"},
                                    headers=auth_headers("department", "amr"))
        bad = await http.get("/v1/stats", params={"month": "2026-13"})
    assert department.status_code == 403 and bad.status_code == 422

    # The generated month, counted by the generator: the month's cohort, the rulings' verdicts, re-dispatches.
    assert stats["dispatched"] == script.dispatched_in_month
    assert stats["since"] == "2026-11-01T00:00:00+08:00" and stats["window"] == "2026-11"
    by_department = {c["department"]: c for c in cards["departments"]}
    for d in DEPARTMENTS:
        assert by_department[d]["returns_upheld"] == script.upheld[d], d  # type: ignore[index]
        assert by_department[d]["returns_overturned"] == script.overturned[d], d  # type: ignore[index]
        assert by_department[d]["reopened"] == script.reopened[d], d  # type: ignore[index]
    assert sum(script.overturned.values()) and sum(script.upheld.values())  # type: ignore[union-attr]
    assert sum(c["returns"] for c in cards["departments"]) == sum(stats["returns_by_reason"].values())
    assert sum(sum(k.values()) for k in stats["overdue_by_department"].values()) > 0
    late = [c for c in cards["departments"] if c["ack_on_time"]["on_time"] < c["ack_on_time"]["decided"]]
    assert late and any(c["feedback_on_time"]["pending"] for c in cards["departments"])
    ranked = [c["ack_on_time"]["value"] for c in cards["departments"]]
    assert ranked == sorted(ranked, reverse=True)

    # One computation: the statement's figures are /v1/stats?month=, its scorecards /v1/scorecards?month=.
    assert statement["figures"] == stats
    assert statement["scorecards"] == cards["departments"]
    assert statement["cases"]["received"] == script.dispatched_in_month  # every case is dispatched at once
    assert statement["subjects"]["available"] is True  # no subjects in this month's generated reports
    assert statement["subjects"]["repeat_subjects"] == [] and statement["subjects"]["inspections"] == []

    # The workbook, read back.
    assert xlsx.status_code == 200 and "spreadsheetml" in xlsx.headers["content-type"]
    book = load_workbook(io.BytesIO(xlsx.content))
    ratios = {row[0]: row[1:] for row in book["分拨成效"].iter_rows(min_row=2, values_only=True)}
    success = stats["dispatch_success"]
    assert ratios["分拨成功率"] == (success["value"], success["numerator"], success["denominator"], success["pending"])
    accuracy = stats["first_dispatch_accuracy"]
    assert ratios["首次分拨准确率"][:3] == (accuracy["value"], accuracy["numerator"], accuracy["denominator"])
    sheet = book["部门考核"]
    head = [c.value for c in sheet[1]]
    rows = [dict(zip(head, r, strict=True)) for r in sheet.iter_rows(min_row=2, values_only=True)]
    assert [r["部门代码"] for r in rows] == [c["department"] for c in cards["departments"]]
    for row, card in zip(rows, cards["departments"], strict=True):
        assert (row["按时报到"], row["已定报到"], row["待报到"]) == (
            card["ack_on_time"]["on_time"], card["ack_on_time"]["decided"], card["ack_on_time"]["pending"])
        assert (row["按时反馈"], row["已定反馈"], row["退单成立"], row["退单被驳回"], row["再次派回"]) == (
            card["feedback_on_time"]["on_time"], card["feedback_on_time"]["decided"], card["returns_upheld"],
            card["returns_overturned"], card["reopened"])
        assert row["报到中位(秒)"] == card["median_ack_seconds"]
    returns = {r[0]: r[2] for r in book["退单"].iter_rows(min_row=2, values_only=True)}
    assert returns == stats["returns_by_reason"]

    # The PDF, read back as text: the headline figures and every department's line.
    assert pdf.status_code == 200 and pdf.content.startswith(b"%PDF")
    text = _pdf_text(pdf.content, tmp_path)
    assert "基层治理事项分拨处置月度通报（2026-11）" in text
    assert f"({success['numerator']}/{success['denominator']}，待定 {success['pending']})" in text
    assert f"({accuracy['numerator']}/{accuracy['denominator']})" in text
    lines = text.splitlines()
    for card in cards["departments"]:
        cells = [str(card["rank"]), card["name"], str(card["dispatched"]), on_time_text(card["ack_on_time"]),
                 str(card["ack_on_time"]["pending"]), on_time_text(card["feedback_on_time"]),
                 str(card["feedback_on_time"]["pending"]), str(card["returns"]), str(card["returns_upheld"]),
                 str(card["returns_overturned"]), str(card["reopened"])]
        line = next(x for x in lines if x.split()[:2] == cells[:2])
        position = 0
        for cell in cells:  # every figure, in the table's order
            position = line.index(cell, position) + len(cell)
    assert "各部门分拨量（件）" in text and "各部门按时报到率（%）" in text  # the charts' titles
    assert "本月无重复举报主体" in text and "本月无联合检查" in text  # said plainly, not left out silently


def on_time_text(o: dict[str, Any]) -> str:
    from tracker.statement import OnTimeRead

    return on_time(OnTimeRead(**o))


async def test_two_replicas_send_the_month_once(fresh_postgres: str) -> None:
    settings = Settings(database_url=fresh_postgres)
    dbs = [Database(fresh_postgres), Database(fresh_postgres)]
    await upgrade(dbs[0], "tracker", MIGRATIONS)
    replicas = [ClockDeps(db=db, settings=settings, calendar=CALENDAR_DAYS, at=PRODUCED) for db in dbs]
    try:
        sent = await asyncio.gather(*(send_statement(d, now=PRODUCED + timedelta(seconds=i))
                                      for i, d in enumerate(replicas * 3)))
        later = await send_statement(replicas[0], now=PRODUCED + timedelta(days=3))  # a tick later in December
        async with dbs[0].sessions() as session:
            events = await session.scalar(select(func.count()).select_from(TrackerOutbox).where(
                TrackerOutbox.topic == "caseroute.statements.v1"))
            months = (await session.execute(select(StatementSent.month))).scalars().all()
    finally:
        for db in dbs:
            await db.dispose()
    assert sorted(m for m in sent if m) == ["2026-11"] and later is None
    assert events == 1 and months == ["2026-11"]
