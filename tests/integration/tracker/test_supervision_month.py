"""Issue 15 done-when, on Kafka and PostgreSQL with two tracker replicas: a generated month of 3,000 reports over
300 subjects. The month's reports arrive on routed.v1 (the router's subject keys on each decision, as
router.domain.subjects names them), departments give their feedback, more reports come; then

- every trigger fired exactly once per subject and window (the tracker_inspections rows, the inspection cases,
  and the inspection notices on case-events.v1 all match the windows counted here by hand);
- every subject's tier is the one computed here from the script (and a literal table for six hand-made ones);
- the monthly statement's JSON, XLSX (openpyxl) and PDF (pdftotext) carry /v1/stats, /v1/scorecards and the
  subjects' figures of that month;
- headless Chromium screenshots of the scorecards page, the subjects of tier D and a subject page go to
  tests/artifacts/ (console-scorecards.png, console-subjects.png, console-subject.png).
"""

from __future__ import annotations

import asyncio
import io
import random
import subprocess
from contextlib import AsyncExitStack
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any

import httpx
import pytest
from openpyxl import load_workbook
from sqlalchemy import func, select

from schemas.credit_code import ALPHABET, check_character
from schemas.decision import Decision, DecisionStatus, SubjectRef
from schemas.envelope import Envelope
from schemas.events import CaseRouted, DepartmentReply, EventType, FeedbackOutcome, InspectionOpened
from schemas.report import Hazard, Report
from services.bus.base import OutgoingMessage
from services.bus.kafka import KafkaBus
from services.envelopes import envelope, headers_for
from tests.conftest import kafka_settings
from tests.integration.harness import TopicReader, running, serving
from tests.support.browser import ARTIFACTS, console_page
from tests.support.credentials import auth_headers
from tests.support.service_apps import tracker as build
from tracker.handlers import Deps, handle_reply
from tracker.store.models import Case, JointInspection, Subject
from tracker.subjects import subject_id_of

pytestmark = [pytest.mark.kafka, pytest.mark.postgres, pytest.mark.timeout(240)]
CST = timedelta(hours=8)
MONTH = "2026-11"
CLOCK = datetime(2026, 11, 28, 12, 0, tzinfo=UTC) - CST  # the trackers' clock while the month's reports arrive
PHASE_1 = (datetime(2026, 11, 1, tzinfo=UTC) - CST, datetime(2026, 11, 21, tzinfo=UTC) - CST)
PHASE_3 = (PHASE_1[1], CLOCK - timedelta(hours=1))
REPORTS, SUBJECTS = 3000, 300
UNITS = ["nanmen", "jiangxia", "ximen", "yuehu", "gulou", "baiyun", "duantang", "wangchun", "shiqi", "gaoqiao"]
DEPARTMENTS = ["amr", "ecology", "urban-mgmt", "housing", "transport", "emergency"]
SHOPS = ["面馆", "超市", "小吃店", "网吧", "汽修店", "五金店", "足浴店", "烧烤店", "药房", "旅馆"]
OVERSEER = auth_headers("operator", "supervision-tests")
# The default catalogue's scoring and triggers (catalogue/data/haishu.yaml, supervision:), written out by hand.
POINTS = {"rectification_ordered": 2, "penalised": 3, "shut_down": 4}
EPOCH = date(1970, 1, 1)


def tier_of(score: float) -> str:
    return "D" if score >= 9 else "C" if score >= 5 else "B" if score >= 2 else "A"


def window(at: datetime, days: int) -> int:
    return ((at + CST).date() - EPOCH).days // days


@dataclass
class Plan:
    """One subject as the generator makes it: its keys, reports (phase 1 or 3) and the feedback on them."""

    index: int
    keys: list[str]
    name: str | None
    address: str
    unit: str
    department: str
    credit_code: str | None = None
    reports: list[tuple[str, datetime, bool, int]] = field(default_factory=list)  # case id, at, hazard, phase
    outcomes: list[str] = field(default_factory=list)  # given in phase 2 on its first cases, in this order

    @property
    def id(self) -> str:
        return subject_id_of(self.keys[0])

    def score(self, phases: tuple[int, ...] = (1, 3)) -> float:
        counted = [r for r in self.reports if r[3] in phases]
        founded = len(counted) - self.outcomes.count("not_found")
        return sum(POINTS.get(o, 0) for o in self.outcomes) + max(0, founded - 1)


def credit_code(rng: random.Random) -> str:
    first = "91330203" + "".join(rng.choice(ALPHABET) for _ in range(9))
    return first + check_character(first)


def plan_month(seed: int = 15) -> list[Plan]:
    rng = random.Random(seed)
    plans: list[Plan] = []
    for i in range(SUBJECTS):
        unit, shop = rng.choice(UNITS), rng.choice(SHOPS)
        address = f"{['解放南路', '中山西路', '药行街', '开明街', '望春路'][i % 5]}{i + 1}号"
        kind = "place" if i % 6 == 5 else "uscc" if i % 3 == 0 else "name"
        name = None if kind == "place" else f"{'张王李赵陈'[i % 5]}记{shop}"
        code = credit_code(rng) if kind == "uscc" else None
        keys = ([f"uscc:{code}"] if code else []) + ([f"name:{unit}:{address}:{name}"] if name else
                                                    [f"place:{unit}:{address}"])
        plans.append(Plan(i, keys, name, address, unit, rng.choice(DEPARTMENTS), code))
    seq = iter(range(10**6))

    def report(plan: Plan, at: datetime, phase: int, hazard: bool = False) -> None:
        plan.reports.append((f"M{next(seq):05d}", at, hazard, phase))

    nov = lambda day, hour=10: datetime(2026, 11, day, hour, tzinfo=UTC) - CST  # noqa: E731
    # Six made by hand (H1–H6: subjects 0–5), their reports from 3 November: one 30-day window.
    h1, h2, h3, h4, h5, h6 = plans[:6]
    h5.credit_code = credit_code(rng)  # known by its credit code too: the code is its first key
    h5.keys = [f"uscc:{h5.credit_code}", *h5.keys]
    report(h1, nov(5), 1)
    for day in (4, 9, 15):
        report(h2, nov(day), 1)
    for day in (3, 6, 8, 12):
        report(h3, nov(day), 1)
    h3.outcomes = ["not_found"] * 4
    report(h4, nov(5), 1), report(h4, nov(10), 1), report(h4, nov(24), 3)
    h4.outcomes = ["penalised"]
    report(h5, nov(6), 1), report(h5, nov(7), 1), report(h5, nov(11), 1), report(h5, nov(23), 3, hazard=True)
    h5.outcomes = ["shut_down", "penalised"]
    report(h6, nov(8), 1), report(h6, nov(25), 3, hazard=True)
    # The rest: 3,000 reports in all, a few busy subjects and many quiet ones, two thirds before the feedback.
    rest = plans[6:]
    weights = [1 / (rank + 1) ** 0.7 for rank in range(len(rest))]
    left = REPORTS - sum(len(p.reports) for p in plans) - len(rest)
    phase_1 = left * 2 // 3 + len(rest)
    for n, plan in enumerate(rest + rng.choices(rest, weights, k=left)):  # each subject at least once
        span = PHASE_1 if n < phase_1 else PHASE_3
        report(plan, span[0] + (span[1] - span[0]) * rng.random(), 1 if n < phase_1 else 3)
    for plan in rest:
        firsts = [r for r in plan.reports if r[3] == 1]
        draw = rng.random()
        if draw < 0.12 and firsts:
            plan.outcomes = ["penalised"]
        elif draw < 0.18 and firsts:
            plan.outcomes = ["rectification_ordered"]
        elif draw < 0.22 and len(firsts) >= 2:
            plan.outcomes = ["shut_down", "penalised"]
        elif draw < 0.28 and firsts and len(firsts) <= 12:
            plan.outcomes = ["not_found"] * len(firsts)
    # Hazard reports (phase 3) only where the hand count is sure of the tier when they come: subjects already C
    # or D after the feedback (the tier only rises as reports come), and subjects that end below C.
    for plan in rest:
        eligible = plan.score((1,)) >= 5 or plan.score() < 5
        plan.reports = [(c, at, phase == 3 and eligible and rng.random() < 0.2, phase)
                        for c, at, _, phase in plan.reports]
    return plans


def expected_windows(plans: list[Plan]) -> set[str]:
    """The triggers' windows by hand: 3+ reports in a 30-day window; a report after a penalty or rectification
    (the last feedback) in a 90-day window; a hazard case on a C/D subject in a 30-day window."""
    keys: set[str] = set()
    for plan in plans:
        per_window: dict[int, int] = {}
        for _, at, _, _ in plan.reports:
            per_window[window(at, 30)] = per_window.get(window(at, 30), 0) + 1
        keys |= {f"repeat-reports:{plan.id}:{w}" for w, n in per_window.items() if n >= 3}
        if plan.outcomes and plan.outcomes[-1] in ("penalised", "rectification_ordered"):
            keys |= {f"recurrence:{plan.id}:{window(at, 90)}" for _, at, _, phase in plan.reports if phase == 3}
        if plan.score((1,)) >= 5:
            keys |= {f"hazard-low-tier:{plan.id}:{window(at, 30)}" for _, at, hazard, _ in plan.reports if hazard}
    return keys


def routed(plan: Plan, case_id: str, at: datetime, hazard: bool, topic: str) -> OutgoingMessage:
    report = Report.model_validate({
        "external_id": case_id, "source": "grid", "reported_at": at.isoformat(),
        "location": {"unit": plan.unit, "address": plan.address},
        "title": f"{plan.name or plan.address}{'电线私拉乱接' if hazard else '油烟扰民'}",
        "description": f"{plan.address}{plan.name or ''}{'电线私拉乱接，存在火灾隐患' if hazard else '油烟扰民'}。",
        **({"facts": {"credit_code": plan.credit_code}} if plan.credit_code else {})})
    decision = Decision(
        external_id=case_id, status=DecisionStatus.routed, rule="R1" if hazard else "R9", primary=plan.department,
        feedback_to=[f"street-{plan.unit}", "safety-office"], deadline_days=20, ack_hours=2 if hazard else 24,
        hazard=Hazard.fire if hazard else Hazard.none, unit=plan.unit, confidence=0.9, catalogue_version="test",
        subject=SubjectRef(keys=plan.keys, name=plan.name, address=plan.address, credit_code=plan.credit_code))
    event = envelope(source="router", event_type=EventType.case_routed, subject=case_id,
                     payload=CaseRouted(case_id=case_id, decision=decision, report=report, accepted_at=at))
    value = event.to_bytes()
    return OutgoingMessage(topic, case_id, value, headers_for(event.id, value))


async def until_cases(deps: Deps, count: int, timeout: float = 90) -> None:
    async with asyncio.timeout(timeout):
        while True:
            async with deps.db.sessions() as session:
                if await session.scalar(select(func.count()).select_from(Case).where(Case.subject_id.is_not(None))
                                        ) >= count:
                    return
            await asyncio.sleep(0.3)


def _pdf_text(body: bytes, tmp: Path) -> str:
    path = tmp / "statement.pdf"
    path.write_bytes(body)
    return subprocess.run(["pdftotext", "-layout", str(path), "-"], check=True, capture_output=True,
                          text=True).stdout


async def test_a_month_of_subjects_tiers_and_triggers_with_two_replicas(
        kafka_bootstrap: str, fresh_postgres: str, topic_prefix: str, tmp_path: Path) -> None:
    plans = plan_month()
    by_case = {case_id: (plan, at, hazard) for plan in plans for case_id, at, hazard, _ in plan.reports}
    assert len(by_case) == REPORTS and len({p.id for p in plans}) == SUBJECTS
    offset = (CLOCK - datetime.now(UTC)).total_seconds()
    settings = kafka_settings(kafka_bootstrap, topic_prefix, fresh_postgres, sla_clock_offset_s=offset,
                              sla_scan_s=3600.0, figures_refresh_s=3600.0, statement_enabled=False,
                              scorecard_refresh_s=3600.0)
    producer = KafkaBus(settings.kafka).producer()
    expected = expected_windows(plans)
    async with AsyncExitStack() as stack:
        replicas = [await stack.enter_async_context(running(settings, [build])) for _ in range(2)]
        deps: Deps = replicas[0].state.tracker.state.deps
        topic = settings.topic("routed.v1")
        try:
            phase_1 = [(p, c, at, h) for p in plans for c, at, h, phase in p.reports if phase == 1]
            await producer.send_batch([routed(p, c, at, h, topic) for p, c, at, h in phase_1])
            await until_cases(deps, len(phase_1))
            # Phase 2: the departments' feedback, on each subject's first cases, alternately through each replica.
            for n, plan in enumerate(p for p in plans if p.outcomes):
                replica: Deps = replicas[n % 2].state.tracker.state.deps
                for (case_id, *_), outcome in zip(plan.reports, plan.outcomes, strict=False):
                    for kind, extra in (("ack", {}), ("feedback", {"outcome": FeedbackOutcome(outcome)})):
                        await handle_reply(DepartmentReply(case_id=case_id, department=plan.department, kind=kind,
                                                           text="已查处", **extra), replica,
                                           actor=f"department:{plan.department}")
            phase_3 = [(p, c, at, h) for p in plans for c, at, h, phase in p.reports if phase == 3]
            await producer.send_batch([routed(p, c, at, h, topic) for p, c, at, h in phase_3])
            await until_cases(deps, REPORTS)
        finally:
            await producer.stop()

        # Every trigger once per subject and window: the claims, the inspection cases, the notices on Kafka.
        async with deps.db.sessions() as session:
            claims = (await session.execute(select(JointInspection))).scalars().all()
            joint = await session.scalar(select(func.count()).select_from(Case).where(Case.rule == "JOINT"))
            subjects = {s.id: s for s in (await session.execute(select(Subject))).scalars().all()}
        assert {c.window_key for c in claims} == expected
        assert joint == len(expected) and {c.trigger for c in claims} == {"repeat-reports", "recurrence",
                                                                          "hazard-low-tier"}
        # The tracker hands each inspection to the router (the one producer of dispatches) on case-events.v1.
        async with TopicReader(kafka_bootstrap, [settings.topic("case-events.v1")]) as reader:
            def notices(messages: list[Any]) -> list[InspectionOpened]:
                events = [Envelope.from_bytes(m.value) for m in messages]
                return [InspectionOpened.model_validate(e.data) for e in events
                        if e.type == EventType.inspection_opened]

            read = await reader.until(lambda ms: len(notices(ms)) >= len(expected), timeout=60)
            await asyncio.sleep(1)  # anything more would be a second notice for a window
            read = reader.messages + await reader.consumer.poll(0.5, 5000)
        sent = notices(read)
        assert sorted(d.case_id for d in sent) == sorted(c.case_id for c in claims)  # one notice per inspection
        assert all("safety-office" in (d.lead, *d.cc) and d.tier in "ABCD" and d.subject in subjects for d in sent)

        # Tiers: the literal table of the six hand-made subjects, then every subject by the hand count.
        assert [subjects[p.id].tier for p in plans[:6]] == ["A", "B", "A", "C", "D", "A"]
        assert [subjects[p.id].score for p in plans[:6]] == [0, 2, 0, 5, 10, 1]
        wrong = {p.id: (subjects[p.id].tier, tier_of(p.score())) for p in plans
                 if subjects[p.id].tier != tier_of(p.score())}
        assert wrong == {}
        assert {t for t in (s.tier for s in subjects.values())} == {"A", "B", "C", "D"}

        app = replicas[1]
        async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://tracker",
                                     headers=OVERSEER, timeout=60) as http:
            h5 = (await http.get(f"/v1/subjects/{plans[4].id}")).json()
            listed = (await http.get("/v1/subjects", params={"tier": "D", "limit": 500})).json()
            stats = (await http.get("/v1/stats", params={"month": MONTH})).json()
            cards = (await http.get("/v1/scorecards", params={"month": MONTH})).json()
            statement = (await http.get("/v1/reports/monthly", params={"month": MONTH})).json()
            xlsx = await http.get("/v1/reports/monthly.xlsx", params={"month": MONTH})
            pdf = await http.get("/v1/reports/monthly.pdf", params={"month": MONTH})
        assert h5["credit_code"] == plans[4].credit_code and h5["tier"] == "D" and h5["kind"] == "uscc"
        assert [r["label"] for r in h5["reasons"]] == [
            "行政处罚 ×1 +3", "关停取缔 ×1 +4", "重复举报（不含查无实据） ×3 +3"]
        assert {i["trigger"] for i in h5["inspections"]} == {"repeat-reports", "recurrence", "hazard-low-tier"}
        assert h5["outcomes"] == {"shut_down": 1, "penalised": 1}
        assert {s["id"] for s in listed} == {i for i, s in subjects.items() if s.tier == "D"}

        # The statement: its figures are /v1/stats and /v1/scorecards; its subjects section is the record's.
        assert statement["figures"] == stats and statement["scorecards"] == cards["departments"]
        assert stats["dispatched"] == REPORTS + len(expected)  # every report, and every inspection, dispatched
        section = statement["subjects"]
        repeats = {p.id: len(p.reports) for p in plans if len(p.reports) >= 2}
        assert {r["subject_id"]: r["reports"] for r in section["repeat_subjects"]} == repeats
        assert sorted(i["case_id"] for i in section["inspections"]) == sorted(c.case_id for c in claims)
        book = load_workbook(io.BytesIO(xlsx.content))
        ratios = {row[0]: row[1:] for row in book["分拨成效"].iter_rows(min_row=2, values_only=True)}
        success = stats["dispatch_success"]
        assert ratios["分拨成功率"] == (success["value"], success["numerator"], success["denominator"],
                                   success["pending"])
        head = [c.value for c in book["部门考核"][1]]
        rows = [dict(zip(head, r, strict=True)) for r in book["部门考核"].iter_rows(min_row=2, values_only=True)]
        assert [(r["部门代码"], r["分拨"], r["按时报到"]) for r in rows] == [
            (c["department"], c["dispatched"], c["ack_on_time"]["on_time"]) for c in cards["departments"]]
        sheet = {r[0]: r for r in book["重复举报主体"].iter_rows(min_row=2, values_only=True)}
        assert {k: (v[4], v[5]) for k, v in sheet.items()} == {i: (subjects[i].tier, n) for i, n in repeats.items()}
        inspected = [r for r in book["联合检查"].iter_rows(min_row=2, values_only=True)]
        assert sorted(r[0] for r in inspected) == sorted(c.case_id for c in claims)
        assert pdf.status_code == 200
        text = _pdf_text(pdf.content, tmp_path)
        assert f"({success['numerator']}/{success['denominator']}，待定 {success['pending']})" in text
        assert f"重复举报主体（{len(repeats)} 个）与联合检查（{len(expected)} 次）" in text
        top = section["repeat_subjects"][0]
        assert any(top["subject_id"] in line and f" {top['reports']}" in line for line in text.splitlines())
        for card in cards["departments"]:
            assert any(card["name"] in line and str(card["dispatched"]) in line for line in text.splitlines())

        # The scorecards page and a subject page, in Chromium, for a person to look at.
        await screenshots(app, plans[4].id)


async def screenshots(app: Any, subject_id: str) -> None:
    from playwright.async_api import async_playwright

    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    async with serving(app) as url, async_playwright() as pw:
        browser, page, csp = await console_page(pw, url, "operator", "li")
        await page.goto(f"{url}/console/scorecards?month={MONTH}")
        assert "部门考核" in await page.inner_text("main")
        await page.screenshot(path=str(ARTIFACTS / "console-scorecards.png"), full_page=True)
        await page.goto(f"{url}/console/subjects?tier=D")
        await page.screenshot(path=str(ARTIFACTS / "console-subjects.png"))
        await page.click(f"a[href='/console/subjects/{subject_id}']")
        await page.wait_for_url(f"{url}/console/subjects/{subject_id}")
        tier = await page.inner_text("#tier")
        assert "D 严重失信" in tier and "行政处罚" in tier and "关停取缔" in tier
        await page.screenshot(path=str(ARTIFACTS / "console-subject.png"), full_page=True)
        assert csp == []
        await browser.close()
    for name in ("scorecards", "subjects", "subject"):
        assert (ARTIFACTS / f"console-{name}.png").stat().st_size > 10_000
