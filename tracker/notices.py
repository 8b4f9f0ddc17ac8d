"""What a case change tells others: timeline rows, case events (rulings among them), feedback and supervision
notices.

A case's transitions in one transaction make one case.changed event (case-events.v1, payload version 2): its
transitions in order and the case's state after them, staged in the place of its first transition and built at
commit, so the state is the one the transaction saved. A ruling or a joint inspection staged after a case's
transitions follows its case.changed event, as it followed its transitions."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime

from sqlalchemy.ext.asyncio import AsyncSession

from schemas.envelope import Envelope, TraceContext
from schemas.events import (
    CaseChanged,
    CaseRuled,
    CaseSnapshot,
    CaseTransition,
    DepartmentReply,
    EscalationNotice,
    EventType,
    FeedbackNotice,
    InspectionOpened,
)
from services.db import insert_at_commit, table_of
from services.envelopes import envelope
from services.logctx import current_trace
from services.outbox import stage, stage_collected
from services.pii import mask_json, mask_phone_numbers
from services.settings import Settings
from tracker.domain.commands import Transition
from tracker.domain.sla import Breach
from tracker.store.models import Case, TimelineEntry, TrackerOutbox

SOURCE = "caseroute/tracker"
TIMELINE = table_of(TimelineEntry)
SUPERVISOR = "safety-office"


@dataclass
class CaseChanges:
    """A case's transitions in one transaction, for its one case.changed event."""

    row: Case
    trace: TraceContext  # the first transition's: the event continues the trace that changed the case
    transitions: list[CaseTransition] = field(default_factory=list)

    def envelope(self) -> Envelope:
        """The case.changed event, with the case's state as the transaction leaves it (built at commit)."""
        row = self.row
        state = CaseSnapshot(status=row.status, department=row.department, attempt=row.attempt or 0, unit=row.unit,
                             ack_due_at=row.ack_due_at, feedback_due_at=row.feedback_due_at,
                             overdue=bool(row.overdue))
        changed = CaseChanged(case_id=row.case_id, transitions=self.transitions, state=state)
        return envelope(source=SOURCE, event_type=EventType.case_changed, subject=row.case_id, payload=changed,
                        trace=self.trace)


def stage_transition(session: AsyncSession, settings: Settings, row: Case, transition: Transition, *,
                     actor: str, extra: dict[str, object] | None = None,
                     unmasked: dict[str, object] | None = None) -> None:
    """A timeline row, and the transition in its case's case.changed event, in the caller's transaction.

    `unmasked` detail goes out as it is: no free text of a person's, only what the event is about (a subject's
    keys, whose digits the phone-number masking would otherwise take for a number)."""
    detail = {**transition.detail, **(extra or {}), **(unmasked or {})}
    if transition.kind == "returned":
        detail["excluded"] = [r["department"] for r in row.state.get("returns", [])] + [transition.department]
    insert_at_commit(session, TIMELINE, {
        "case_id": row.case_id, "at": transition.at, "kind": transition.kind,
        "from_status": transition.from_status or None, "to_status": transition.to_status, "actor": actor,
        "department": transition.department, "detail": detail})
    # case-events.v1 is read by anyone (and webhooks): the free text departments write (a return's, a
    # feedback's) goes out with phone numbers masked; the timeline keeps it whole for overseers.
    changes = stage_collected(session, TrackerOutbox, settings.topic("case-events.v1"), row.case_id,
                              lambda: CaseChanges(row, current_trace()))
    changes.transitions.append(CaseTransition(
        case_id=row.case_id, kind=transition.kind, from_status=transition.from_status or None,
        to_status=transition.to_status, actor=actor, at=transition.at, department=transition.department,
        detail={**mask_json(detail), **(unmasked or {})}))


def feedback_recipients(row: Case) -> list[str]:
    """street-{unit} and (R1–R8) safety-office as the decision's feedback_to says, plus its cc departments."""
    decision = row.decision or {}
    recipients = list(decision.get("feedback_to") or []) + list(decision.get("cc") or [])
    return list(dict.fromkeys(d for d in recipients if d))


def stage_feedback(session: AsyncSession, settings: Settings, row: Case, reply: DepartmentReply,
                   now: datetime) -> None:
    """The outcome goes to each recipient's department topic (流转反馈), phone numbers in its text masked."""
    assert reply.outcome is not None
    for to in feedback_recipients(row):
        notice = FeedbackNotice(case_id=row.case_id, to=to, department=reply.department, outcome=reply.outcome,
                                text=mask_phone_numbers(reply.text), attachments=[str(a) for a in reply.attachments],
                                at=now)
        stage(session, TrackerOutbox, settings.dispatch_topic(to),
              envelope(source=SOURCE, event_type=EventType.case_feedback, subject=row.case_id, payload=notice))


def stage_escalation(session: AsyncSession, settings: Settings, row: Case, breach: Breach, now: datetime) -> None:
    """A supervision notice (督办) on safety-office's topic; the case stays with its department."""
    notice = EscalationNotice(case_id=row.case_id, kind=breach.kind.value, department=row.department or "",
                              attempt=breach.attempt, due_at=breach.due_at,
                              overdue_seconds=breach.overdue_by.total_seconds(), at=now)
    stage(session, TrackerOutbox, settings.dispatch_topic(SUPERVISOR),
          envelope(source=SOURCE, event_type=EventType.case_escalated, subject=row.case_id, payload=notice))


def stage_ruling(session: AsyncSession, settings: Settings, ruled: CaseRuled) -> None:
    """The ruling on case-events.v1, after its transitions: the router dispatches it (the one producer of
    dispatches, which masks the report as for any decision)."""
    stage(session, TrackerOutbox, settings.topic("case-events.v1"),
          envelope(source=SOURCE, event_type=EventType.case_ruled, subject=ruled.case_id, payload=ruled))


def stage_inspection(session: AsyncSession, settings: Settings, opened: InspectionOpened) -> None:
    """A joint inspection on case-events.v1, after its transitions: the router dispatches its notice."""
    stage(session, TrackerOutbox, settings.topic("case-events.v1"),
          envelope(source=SOURCE, event_type=EventType.inspection_opened, subject=opened.case_id, payload=opened))
