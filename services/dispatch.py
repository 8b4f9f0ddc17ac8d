"""What a department receives on dispatch.<department>.v1: the one builder of the dispatch and its masked report.

The router (a decision) and the tracker (a ruling) both dispatch; both build here, so a dispatch carries the same
fields and the same masking whoever sent it. Departments act on the problem, not on the person: the report's text
goes with the reporter's name and phone numbers masked; those who need the person read the case (audited).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from schemas.decision import Tier
from schemas.events import CaseDispatched
from schemas.report import Report
from services.pii import mask_text


@dataclass(frozen=True)
class DispatchTerms:
    """The decision or ruling a case is dispatched by."""

    rule: str
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
