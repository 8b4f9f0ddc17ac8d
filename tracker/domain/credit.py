"""Credit tiers (分级式信用监管): a subject's tier A–D from its record, by the catalogue's scoring. Pure.

The record is what departments found, not what was said: a violation counts when a department's feedback
substantiated it (the catalogue's `violation_points`), more when the rectification came late (its feedback
deadline was escalated), and reports count beyond the first, except those found unfounded (`not_found`): a
neighbour's grudge does not lower a shop's tier.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime, timedelta

from catalogue.model import TIERS, Tier, TierScoring

UNFOUNDED = "not_found"


@dataclass(frozen=True, slots=True)
class SubjectCase:
    """What the tiers and the triggers read of one case on a subject."""

    case_id: str
    reported_at: datetime
    hazard: bool = False
    outcome: str | None = None  # the department's feedback outcome, once given
    feedback_at: datetime | None = None
    feedback_late: bool = False  # its feedback deadline was escalated (督办)


@dataclass(frozen=True, slots=True)
class Reason:
    """One line of why a subject has its tier: `what` (violation:<outcome>, late_rectification, repeat_reports),
    how many cases, and the points they added."""

    what: str
    count: int
    points: float


@dataclass(frozen=True, slots=True)
class Assessment:
    tier: Tier
    score: float
    reasons: tuple[Reason, ...]


def tier_for(score: float, scoring: TierScoring) -> Tier:
    """The tier of a score: the highest tier whose threshold it reaches, else A."""
    thresholds = scoring.thresholds
    for tier, least in (("D", thresholds.D), ("C", thresholds.C), ("B", thresholds.B)):
        if score >= least:
            return tier  # type: ignore[return-value]  # one of TIERS
    return TIERS[0]


def assess(record: Iterable[SubjectCase], scoring: TierScoring, *, now: datetime) -> Assessment:
    """The subject's tier over the cases reported in the scoring's window before `now`, with its reasons."""
    since = now - timedelta(days=scoring.window_days)
    cases = [c for c in record if since <= c.reported_at <= now]
    reasons: list[Reason] = []
    for outcome, points in scoring.violation_points.items():
        count = sum(1 for c in cases if c.outcome == outcome)
        if count and points:
            reasons.append(Reason(f"violation:{outcome}", count, count * points))
    late = sum(1 for c in cases if c.feedback_late and c.outcome in scoring.violation_points)
    if late and scoring.late_rectification_points:
        reasons.append(Reason("late_rectification", late, late * scoring.late_rectification_points))
    founded = sum(1 for c in cases if c.outcome != UNFOUNDED)
    if founded > 1 and scoring.repeat_report_points:
        reasons.append(Reason("repeat_reports", founded - 1, (founded - 1) * scoring.repeat_report_points))
    score = sum(r.points for r in reasons)
    return Assessment(tier_for(score, scoring), score, tuple(reasons))


REASON_LABELS = {
    "violation:rectification_ordered": "责令整改",
    "violation:penalised": "行政处罚",
    "violation:shut_down": "关停取缔",
    "violation:resolved": "已解决",
    "violation:referred": "移送",
    "violation:not_found": "查无实据",
    "late_rectification": "整改超期（反馈督办）",
    "repeat_reports": "重复举报（不含查无实据）",
}


def reason_label(reason: Reason) -> str:
    """A reason as the console and the statement print it: 行政处罚 ×2 +6."""
    return f"{REASON_LABELS.get(reason.what, reason.what)} ×{reason.count} +{reason.points:g}"
