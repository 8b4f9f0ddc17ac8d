"""Subjects, tiers and joint inspections through the tracker's handlers on SQLite (the embedded mode's database,
its migrations applied): linking by key, tiers from feedback, a trigger's inspection once, a merge audited."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path

import orjson
import pytest
from prometheus_client import REGISTRY
from sqlalchemy import func, select

from schemas.decision import Decision, DecisionStatus, Rule, SubjectRef
from schemas.envelope import Envelope
from schemas.events import CaseRouted, CaseRuled, DepartmentReply, EventType, FeedbackOutcome
from schemas.report import Hazard, Report
from services.caller import Caller
from services.db import Database
from services.envelopes import envelope
from services.migrate import upgrade
from services.settings import KafkaSettings, Settings
from tracker.domain.sla import CALENDAR_DAYS
from tracker.handlers import Deps, escalate_due, handle_reply, record_routings
from tracker.store.heat import HeatFilter, heat_records
from tracker.store.models import Case, Escalation, JointInspection, Subject, TrackerAudit, TrackerOutbox
from tracker.subjects import merge, subject_id_of

pytestmark = pytest.mark.timeout(60)
MIGRATIONS = Path(__file__).resolve().parents[3] / "tracker" / "migrations"
T0 = datetime(2026, 11, 10, 2, 0, tzinfo=UTC)


@dataclass
class ClockDeps(Deps):
    at: datetime = T0

    def now(self) -> datetime:
        return self.at


def routed(n: int, keys: list[str], *, hazard: bool = False, department: str = "amr",
           at: datetime = T0) -> CaseRouted:
    report = Report.model_validate({"external_id": f"E{n}", "source": "grid", "reported_at": at.isoformat(),
                                    "location": {"unit": "nanmen", "address": "解放南路88号"},
                                    "description": "张记面馆油烟扰民"})
    decision = Decision(external_id=f"E{n}", status=DecisionStatus.routed, rule="R1" if hazard else "R9",
                        primary=department, feedback_to=["street-nanmen"], deadline_days=20,
                        ack_hours=2 if hazard else 24, hazard=Hazard.fire if hazard else Hazard.none, unit="nanmen",
                        confidence=0.9, catalogue_version="test",
                        subject=SubjectRef(keys=keys, name="张记面馆", address="解放南路88号"))
    return CaseRouted(case_id=f"C{n:04d}", decision=decision, report=report, accepted_at=at)


async def route(deps: ClockDeps, *cases: CaseRouted) -> None:
    await record_routings([envelope(source="test", event_type=EventType.case_routed, subject=c.case_id, payload=c)
                           for c in cases], deps)


@pytest.fixture
async def deps(tmp_path: Path):  # type: ignore[no-untyped-def]
    url = f"sqlite+aiosqlite:///{tmp_path / 'tracker.db'}"
    db = Database(url)
    await upgrade(db, "tracker", MIGRATIONS)
    yield ClockDeps(db=db, settings=Settings(database_url=url, kafka=KafkaSettings(bootstrap=None)),
                    calendar=CALENDAR_DAYS)
    await db.dispose()


NAME = "name:nanmen:解放南路88号:张记面馆"
CODE = "uscc:91350100M000100Y43"


def opened(trigger: str) -> float:
    return REGISTRY.get_sample_value("joint_inspections_total", {"trigger": trigger}) or 0.0


async def test_cases_link_by_key_and_the_third_report_opens_one_inspection(deps: ClockDeps) -> None:
    before = opened("repeat-reports")
    await route(deps, routed(1, [NAME]), routed(2, [NAME], department="ecology"))
    deps.at += timedelta(hours=1)
    await route(deps, routed(3, [NAME], at=T0 + timedelta(hours=1)), routed(4, [NAME], at=T0 + timedelta(hours=1)))
    async with deps.db.sessions() as session:
        subject = await session.get(Subject, subject_id_of(NAME))
        linked = (await session.execute(select(Case.case_id).where(Case.subject_id == subject_id_of(NAME)))
                  ).scalars().all()
        inspections = (await session.execute(select(JointInspection))).scalars().all()
        joint = await session.get(Case, inspections[0].case_id)
        staged = (await session.execute(select(TrackerOutbox.topic, TrackerOutbox.value).where(
            TrackerOutbox.key == inspections[0].case_id))).all()
    assert subject is not None and sorted(linked) == ["C0001", "C0002", "C0003", "C0004"]
    assert subject.cases == 4 and subject.tier == "B"  # three repeat reports: +3
    assert [i.trigger for i in inspections] == ["repeat-reports"]  # the 4th report is in the same window
    assert opened("repeat-reports") == before + 1
    assert joint is not None and joint.rule == "JOINT" and joint.status == "dispatched"
    assert joint.department == "amr" and joint.decision["cooperating"] == ["ecology"]
    # The tracker writes no dispatch: the inspection goes to the router (the one producer of dispatches).
    assert all(topic == "caseroute.case-events.v1" for topic, _ in staged)
    events = [orjson.loads(value) for _, value in staged]
    (notice,) = [e["data"] for e in events if e["type"] == "caseroute.inspection.opened"]
    assert (notice["lead"], notice["cooperating"], notice["cc"]) == ("amr", ["ecology"], ["street-nanmen",
                                                                                         "safety-office"])
    assert notice["rule"] == "JOINT" and notice["subject"] == subject.id and "联合检查" in notice["notice"]["title"]


async def test_feedback_changes_the_tier_as_a_case_event_and_an_audit_row(deps: ClockDeps) -> None:
    await route(deps, routed(1, [CODE, NAME]))
    for kind, extra in (("ack", {}), ("feedback", {"outcome": FeedbackOutcome.penalised, "text": "罚款"})):
        await handle_reply(DepartmentReply(case_id="C0001", department="amr", kind=kind, **extra), deps,
                           actor="department:amr")
    deps.at += timedelta(days=1)
    await route(deps, routed(2, [CODE], at=deps.at))  # a recurrence after a penalty
    async with deps.db.sessions() as session:
        subject = await session.get(Subject, subject_id_of(CODE))
        audits = (await session.execute(select(TrackerAudit.action, TrackerAudit.detail)
                                        .where(TrackerAudit.target == subject_id_of(CODE)))).all()
        inspections = (await session.execute(select(JointInspection.trigger))).scalars().all()
        events = [m.value for m in (await session.execute(select(TrackerOutbox).where(
            TrackerOutbox.topic == "caseroute.case-events.v1", TrackerOutbox.key == "C0001"))).scalars().all()]
    assert subject is not None and subject.tier == "B" and subject.score == 4  # penalised 3 + one repeat 1
    # Its first tier (A) is announced, so the router rates its next reports, but is no change to audit; then B
    # after the penalty; the repeat kept it at B: no change, no event.
    assert [(a.action, a.detail["from"], a.detail["to"], a.detail["case"]) for a in audits] == [
        ("subject.tier", "A", "B", "C0001")]
    changed = [e for e in events if b'"tier_changed"' in e]
    assert len(changed) == 2 and b'"keys":["name:nanmen:' in changed[1] and b'"tier":"B"' in changed[1]
    assert inspections == ["recurrence"]


async def test_an_operator_merges_two_subjects(deps: ClockDeps) -> None:
    other = "name:nanmen:解放南路88号:张记小吃店"
    await route(deps, routed(1, [NAME]), routed(2, [other]))
    async with deps.db.transaction() as session:
        await merge(session, deps, subject_id_of(other), subject_id_of(NAME),
                    caller=Caller("operator", "ops"), reason="同一家店两个店名", now=deps.at)
    await route(deps, routed(3, [other]))  # the merged subject's key now leads to the surviving one
    async with deps.db.sessions() as session:
        merged = await session.get(Subject, subject_id_of(other))
        cases = await session.scalar(select(func.count()).select_from(Case)
                                     .where(Case.subject_id == subject_id_of(NAME)))
        audit = (await session.execute(select(TrackerAudit).where(TrackerAudit.action == "subject.merge"))
                 ).scalar_one()
    assert merged is not None and merged.merged_into == subject_id_of(NAME)
    assert cases == 3 and audit.actor == "operator:ops" and audit.detail["reason"] == "同一家店两个店名"


async def test_a_joint_inspection_is_tracked_like_a_case(deps: ClockDeps) -> None:
    await route(deps, *(routed(n, [NAME]) for n in (1, 2, 3)))
    async with deps.db.sessions() as session:
        (inspection,) = (await session.execute(select(JointInspection))).scalars().all()
    joint = inspection.case_id
    # Not acknowledged within its window (24 h): escalated to safety-office once (督办), like any case (the three
    # reports, not acknowledged either, are escalated too).
    assert await escalate_due(deps, now=deps.at + timedelta(hours=25)) == 4
    assert await escalate_due(deps, now=deps.at + timedelta(hours=26)) == 0
    async with deps.db.sessions() as session:
        kinds = (await session.execute(select(Escalation.kind).where(Escalation.case_id == joint))).scalars().all()
    assert kinds == ["ack_overdue"]
    deps.at += timedelta(hours=27)
    for kind, extra in (("ack", {}), ("feedback", {"outcome": FeedbackOutcome.rectification_ordered,
                                                     "text": "联合检查：责令整改"})):
        await handle_reply(DepartmentReply(case_id=joint, department="amr", kind=kind, **extra), deps,
                           actor="department:amr")
    async with deps.db.sessions() as session:
        row = await session.get(Case, joint)
        notices = (await session.execute(select(TrackerOutbox.topic).where(TrackerOutbox.key == joint))
                   ).scalars().all()
    assert row is not None and row.status == "feedback" and row.source == "inspection"
    assert row.feedback_due_at is not None and row.overdue  # its ack was escalated
    # The 督办 and the feedback (the tracker's own notices); the inspection's notice is the router's dispatch.
    assert notices.count("caseroute.dispatch.safety-office.v1") >= 2
    async with deps.db.sessions() as session:  # the heat map counts reports: an inspection is not one more
        heat = await heat_records(session, T0 - timedelta(days=1), deps.at + timedelta(days=1), HeatFilter())
    assert sorted(r.case_id for r in heat) == ["C0001", "C0002", "C0003"]


async def test_a_ruled_case_is_dispatched_with_its_subjects_tier(deps: ClockDeps) -> None:
    from tracker import adjudication as adj
    from tracker.domain.commands import Principle

    gap = routed(1, [NAME])
    gap = gap.model_copy(update={"decision": gap.decision.model_copy(update={
        "status": DecisionStatus.gap, "rule": Rule.R10, "primary": "establishment-office", "deadline_days": 5})})
    await route(deps, gap, routed(2, [NAME]))
    await adj.rule(deps, "C0001", adj.RulingInput(lead="amr", principle=Principle.competent),
                   Caller("adjudicator", "zhang"))
    async with deps.db.sessions() as session:
        values = (await session.execute(select(TrackerOutbox.value).where(
            TrackerOutbox.topic == "caseroute.case-events.v1", TrackerOutbox.key == "C0001"))).scalars().all()
    # The ruling goes to the router, which dispatches it with these terms (router/handlers.dispatch_ruling).
    (ruled,) = [CaseRuled.model_validate(e.data) for e in map(Envelope.from_bytes, values)
                if e.type == EventType.case_ruled]
    assert (ruled.rule, ruled.tier, ruled.subject, ruled.ack_hours) == ("RULING", "A", subject_id_of(NAME), 24)


async def test_a_tier_d_subjects_ruled_case_gets_the_hazard_ack_window(deps: ClockDeps) -> None:
    from tracker import adjudication as adj
    from tracker.domain.commands import Principle

    gap = routed(1, [NAME])
    gap = gap.model_copy(update={"decision": gap.decision.model_copy(update={
        "status": DecisionStatus.gap, "rule": Rule.R10, "primary": "establishment-office", "deadline_days": 5})})
    await route(deps, gap, *(routed(n, [NAME]) for n in range(2, 12)))  # ten repeats: +10, tier D
    await adj.rule(deps, "C0001", adj.RulingInput(lead="amr", principle=Principle.competent),
                   Caller("adjudicator", "zhang"))
    async with deps.db.sessions() as session:
        row = await session.get(Case, "C0001")
    assert row is not None and row.state["ack_hours"] == 2
