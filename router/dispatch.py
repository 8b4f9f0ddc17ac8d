"""What a department receives on dispatch.<department>.v1, built and staged in one place.

The router is the only producer of dispatches: a decision (a new report, a re-route), a ruling (the tracker's
case.ruled event) and a joint inspection a trigger opened (inspection.opened) all go out through
stage_dispatches, so a dispatch carries the same fields and the same masking whoever decided it. Departments
act on the problem, not on the person: the report's text goes with the reporter's name and phone numbers masked;
those who need the person read the case (audited).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from sqlalchemy.ext.asyncio import AsyncSession

from router.store.models import RouterOutbox
from schemas.decision import Rule, Tier
from schemas.events import CaseDispatched, EventType
from schemas.report import Report
from services.envelopes import envelope
from services.outbox import stage
from services.pii import mask_text
from services.settings import Settings

SOURCE = "caseroute/router"


@dataclass(frozen=True)
class DispatchTerms:
    """The decision or ruling a case is dispatched by."""

    rule: Rule
    unit: str | None
    deadline_days: int
    ack_hours: float
    tier: Tier | None = None  # the subject's credit tier: travels on every dispatch of its cases
    subject: str | None = None


def masked_text(report: Report) -> tuple[str | None, str]:
    """The report's title and description as departments receive them."""
    names, phones = [report.reporter_name, report.reporter_email], [report.reporter_phone]
    return (mask_text(report.title, names, phones) if report.title else None,
            mask_text(report.description, names, phones))


def dispatches(case_id: str, report: Report, terms: DispatchTerms, *, attempt: int,
               roles: Sequence[tuple[str, str]], reply_url: str) -> list[CaseDispatched]:
    """One dispatch per (department, role: primary | cooperating | cc), each with the report masked."""
    title, description = masked_text(report)
    return [CaseDispatched(case_id=case_id, attempt=attempt, department=department, role=role, rule=terms.rule,
                           deadline_days=terms.deadline_days, ack_hours=terms.ack_hours, unit=terms.unit,
                           title=title, description=description, address=report.location.address,
                           reported_at=report.reported_at, reply_url=reply_url,
                           tier=terms.tier, subject=terms.subject)
            for department, role in roles]


def stage_dispatches(session: AsyncSession, settings: Settings, case_id: str, report: Report, terms: DispatchTerms,
                     *, attempt: int, primary: str, cooperating: Sequence[str] = (), cc: Sequence[str] = ()) -> None:
    """The dispatches to the primary (a ruling's lead), cooperating and cc departments, each on its topic."""
    roles = [(primary, "primary"), *((d, "cooperating") for d in cooperating), *((d, "cc") for d in cc)]
    for dispatched in dispatches(case_id, report, terms, attempt=attempt, roles=roles,
                                 reply_url=f"{settings.public_base_url}/v1/cases/{case_id}"):
        stage(session, RouterOutbox, settings.dispatch_topic(dispatched.department),
              envelope(source=SOURCE, event_type=EventType.case_dispatched, subject=case_id, payload=dispatched))
