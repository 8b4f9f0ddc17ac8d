"""Trigger-based supervision (触发式监管): which of the catalogue's triggers a new report on a subject fires. Pure.

A trigger fires at most once per subject and window: the window (for `repeat_reports` also what is counted) is
the `within_days`-long period (counted in Asia/Shanghai days from 1970-01-01) holding the report's day, so every
replica that sees the same record names the same window, and the database's unique key on (trigger, subject,
window) lets only one inspection open.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date, datetime, timedelta

from catalogue.model import Tier, Trigger
from tracker.domain.credit import SubjectCase
from tracker.domain.sla import TZ

EPOCH = date(1970, 1, 1)
# The firing's `why` is read by departments on the inspection notice, in the catalogue's language.
OUTCOME_NAMES = {"rectification_ordered": "责令整改", "penalised": "行政处罚", "shut_down": "关停取缔"}


@dataclass(frozen=True, slots=True)
class Firing:
    """A trigger fired by a case: the key of its window (the claim) and what it saw, for the notice."""

    trigger: Trigger
    subject_id: str
    window: int
    case_id: str
    why: str

    @property
    def key(self) -> str:
        return f"{self.trigger.id}:{self.subject_id}:{self.window}"


def window_of(at: datetime, days: int) -> int:
    """The index of the `days`-long period holding `at`'s Asia/Shanghai day."""
    return (at.astimezone(TZ).date() - EPOCH).days // days


def fired(triggers: Sequence[Trigger], subject_id: str, record: Sequence[SubjectCase], case: SubjectCase,
          tier: Tier) -> list[Firing]:
    """The triggers the report `case` (already in `record`) fires on its subject, whose tier is now `tier`."""
    firings: list[Firing] = []
    for trigger in triggers:
        why = _why(trigger, record, case, tier)
        if why is not None:
            firings.append(Firing(trigger, subject_id, window_of(case.reported_at, trigger.within_days),
                                  case.case_id, why))
    return firings


def _why(trigger: Trigger, record: Sequence[SubjectCase], case: SubjectCase, tier: Tier) -> str | None:
    span = timedelta(days=trigger.within_days)
    if trigger.kind == "repeat_reports":
        # Counted in the report's window, not back from it: reports arrive out of order (a hotline backlog, a
        # replayed topic), and whichever arrives third fires, the same one on every replica.
        window = window_of(case.reported_at, trigger.within_days)
        count = sum(1 for c in record if window_of(c.reported_at, trigger.within_days) == window)
        if count >= trigger.reports:
            return f"{trigger.within_days}日窗口内举报 {count} 次"
        return None
    if trigger.kind == "recurrence":
        answered = [c for c in record if c.case_id != case.case_id and c.feedback_at is not None]
        if not answered:
            return None
        last = max(answered, key=lambda c: (c.feedback_at, c.case_id))
        assert last.feedback_at is not None
        if last.outcome in trigger.outcomes and abs(case.reported_at - last.feedback_at) <= span:
            return f"{last.case_id} 反馈{OUTCOME_NAMES.get(last.outcome, last.outcome)}后再次被举报"
        return None
    if case.hazard and tier in trigger.tiers:
        return f"{tier} 级主体的隐患案件"
    return None
