"""GET /v1/stats: dispatch success and the other figures over a window."""

from __future__ import annotations

import re
from datetime import datetime, timedelta
from typing import Annotated

from fastapi import APIRouter, Depends, Query
from pydantic import BaseModel

from services.caller import get_caller
from services.problems import Problem
from tracker.api.deps import DepsDep
from tracker.domain import figures
from tracker.domain.scorecard import Month
from tracker.store.figures import dispatch_records, escalation_records, gaps_since

router = APIRouter(tags=["figures"])
WINDOW = re.compile(r"^(\d{1,4})([hd])$")


class RatioRead(BaseModel):
    value: float | None
    numerator: int
    denominator: int
    pending: int


class Stats(BaseModel):
    window: str  # the window asked for, or the month (2026-11)
    since: datetime
    until: datetime
    dispatch_success: RatioRead
    first_dispatch_accuracy: RatioRead
    ack_seconds: dict[str, float]
    feedback_seconds: dict[str, float]
    overdue_by_department: dict[str, dict[str, int]]
    returns_by_reason: dict[str, int]
    gaps: int
    dispatched: int


def parse_window(window: str) -> timedelta:
    match = WINDOW.match(window)
    if not match:
        raise Problem(422, "Invalid window", "use e.g. 24h or 7d")
    amount, unit = int(match.group(1)), match.group(2)
    return timedelta(hours=amount) if unit == "h" else timedelta(days=amount)


def parse_month(month: str) -> Month:
    try:
        return Month.parse(month)
    except ValueError as exc:
        raise Problem(422, "Invalid month", str(exc)) from exc


def _ratio(r: figures.Ratio) -> RatioRead:
    return RatioRead(value=r.value, numerator=r.numerator, denominator=r.denominator, pending=r.pending)


def _percentiles(values: list[timedelta]) -> dict[str, float]:
    return {f"p{int(q)}": v.total_seconds() for q, v in figures.latency_percentiles(values, (50, 90, 99)).items()}


def stats_of(records: list[figures.DispatchRecord], escalations: list[figures.EscalationRecord], gaps: int,
             start: datetime, end: datetime, *, window: str) -> Stats:
    """The figures of [start, end) from the records of the cases first dispatched in it: /v1/stats and the
    monthly statement both answer with this, so they cannot disagree."""
    first_dispatch = {r.case_id: r.dispatched_at for r in records
                      if r.attempt == 1 and start <= r.dispatched_at < end}
    return Stats(
        window=window, since=start, until=end,
        dispatch_success=_ratio(figures.dispatch_success(records, start, end)),
        first_dispatch_accuracy=_ratio(figures.first_dispatch_accuracy(records, start, end)),
        ack_seconds=_percentiles(figures.ack_latencies(records, start, end)),
        feedback_seconds=_percentiles(figures.feedback_latencies(records, first_dispatch)),
        overdue_by_department={d: {k.value: n for k, n in kinds.items()}
                               for d, kinds in figures.overdue_by_department(escalations, start, end).items()},
        returns_by_reason={k.value: n for k, n in figures.returns_by_reason(records, start, end).items()},
        gaps=gaps,
        dispatched=len(first_dispatch),
    )


@router.get("/v1/stats", response_model=Stats, dependencies=[Depends(get_caller)])
async def stats(deps: DepsDep, window: Annotated[str, Query(description="e.g. 24h, 7d, 30d")] = "7d",
                month: Annotated[str | None, Query(description="a calendar month in Asia/Shanghai, e.g. 2026-11; "
                                                               "replaces the window")] = None) -> Stats:
    """Figures over the window (ROUTING.md §6 for dispatch success), computed from the case records."""
    if month is not None:
        span = parse_month(month)
        start, end, until, window = span.start, span.end, span.end, str(span)
    else:
        now = deps.now()
        start, end, until = now - parse_window(window), now + timedelta(seconds=1), None
    async with deps.db.sessions() as session:
        records = await dispatch_records(session, start, until)
        escalations = await escalation_records(session, start)
        gaps = await gaps_since(session, start, until)
    return stats_of(records, escalations, gaps, start, end, window=window)
