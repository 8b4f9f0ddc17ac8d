"""GET /v1/stats: dispatch success and the other figures over a window."""

from __future__ import annotations

import re
from datetime import datetime, timedelta
from typing import Annotated

from fastapi import APIRouter, Depends, Query
from pydantic import BaseModel, Field

from schemas.report import Hazard, Source
from services.caller import get_caller, require_roles
from services.principal import Caller
from services.problems import Problem
from tracker.api.deps import DepsDep
from tracker.domain import figures, heat
from tracker.domain.scorecard import Month
from tracker.heat import HeatView, heat_view
from tracker.store.figures import dispatch_records, escalation_records, gaps_since
from tracker.store.heat import HeatFilter

router = APIRouter(tags=["figures"])
WINDOW = re.compile(r"^(\d{1,4})([hd])$")
MAX_HEAT_WINDOW = timedelta(days=366)
Overseer = Annotated[Caller, Depends(require_roles("adjudicator", "operator", "admin"))]


class RatioRead(BaseModel):
    value: float | None = Field(description="numerator ÷ denominator; null when the denominator is 0")
    numerator: int
    denominator: int
    pending: int = Field(description="not in the denominator: for dispatch success, first dispatches still "
                                     "inside their ack window (no outcome yet)")


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
             start: datetime, end: datetime, *, window: str, now: datetime) -> Stats:
    """The figures of [start, end) from the records of the cases first dispatched in it: /v1/stats and the
    monthly statement both answer with this, so they cannot disagree."""
    first_dispatch = {r.case_id: r.dispatched_at for r in records
                      if r.attempt == 1 and start <= r.dispatched_at < end}
    return Stats(
        window=window, since=start, until=end,
        dispatch_success=_ratio(figures.dispatch_success(records, start, end, now=now)),
        first_dispatch_accuracy=_ratio(figures.first_dispatch_accuracy(records, start, end)),
        ack_seconds=_percentiles(figures.ack_latencies(records, start, end)),
        feedback_seconds=_percentiles(figures.feedback_latencies(records, first_dispatch)),
        overdue_by_department={d: {k.value: n for k, n in kinds.items()}
                               for d, kinds in figures.overdue_by_department(escalations, start, end).items()},
        returns_by_reason={k.value: n for k, n in figures.returns_by_reason(records, start, end).items()},
        gaps=gaps,
        dispatched=len(first_dispatch),
    )


class HeatGroup(BaseModel):
    key: str = Field(description="the community (社区/村), grid or unit code counted under")
    name: str = Field(description="what a reader calls it: the unit's name for a unit code, else the key")
    unit: str | None = Field(description="the unit the community or grid lies in")
    count: int = Field(description="reports received in the window")
    previous: int = Field(description="reports received in the window before, of the same length")
    change: int
    change_ratio: float | None = Field(description="count ÷ previous − 1; null when the previous window had none")
    trend: heat.Trend
    centre: tuple[float, float] | None = Field(description="mean [lat, lon] of the window's reports with coordinates")


class HeatCell(BaseModel):
    lat: float = Field(description="south edge of the cell")
    lon: float = Field(description="west edge of the cell")
    count: int


class HeatRead(BaseModel):
    window: str
    by: heat.HeatBy
    since: datetime
    until: datetime
    previous_since: datetime
    filters: dict[str, str]
    catalogue_version: str
    total: int
    previous_total: int
    groups: list[HeatGroup] = Field(description="ranked: most reports first, then the biggest rise")
    unplaced: int = Field(description="reports of the window that name no community / grid / unit")
    unplaced_previous: int
    cell_size: float = Field(description="cell edge in degrees of latitude and longitude")
    cells: list[HeatCell] = Field(description="the window's reports with coordinates, binned; densest first")
    located: int = Field(description="reports of the window with coordinates")
    bounds: tuple[float, float, float, float] | None = Field(description="south, west, north, east of those")


def heat_read(view: HeatView, window: str, f: HeatFilter) -> HeatRead:
    m = view.map
    return HeatRead(
        window=window, by=m.by, since=view.since, until=view.until, previous_since=view.previous_since,
        filters={k: v for k, v in vars(f).items() if v}, catalogue_version=view.catalogue_version,
        total=m.total, previous_total=m.previous_total,
        groups=[HeatGroup(key=g.key, name=view.unit_names.get(g.key, g.key) if m.by is heat.HeatBy.unit else g.key,
                          unit=g.unit, count=g.count, previous=g.previous, change=g.change,
                          change_ratio=g.change_ratio, trend=g.trend, centre=g.centre) for g in m.groups],
        unplaced=m.unplaced, unplaced_previous=m.unplaced_previous, cell_size=m.cell_size,
        cells=[HeatCell(lat=c.lat, lon=c.lon, count=c.count) for c in m.cells], located=m.located, bounds=m.bounds)


Code = Annotated[str, Query(max_length=64, pattern=r"^[A-Za-z0-9_.\-]*$")]


@router.get("/v1/stats/heat", response_model=HeatRead)
async def stats_heat(deps: DepsDep, caller: Overseer, by: heat.HeatBy = heat.HeatBy.community,
                     window: Annotated[str, Query(description="e.g. 7d, 30d (the previous window is as long)")]
                     = "30d",
                     matter: Code = "", hazard: Annotated[Hazard | None, Query()] = None, rule: Code = "",
                     source: Annotated[Source | None, Query()] = None,
                     cell: Annotated[float, Query(ge=0.0005, le=1.0, description="cell edge in degrees")] = 0.005,
                     ) -> HeatRead:
    """热力地图: where reports concentrate over the window, by community (社区/村), grid or unit, with the trend
    against the window before, and the reports' coordinates binned into cells. Overseers only."""
    f = HeatFilter(matter=matter, hazard=hazard.value if hazard else "", rule=rule,
                   source=source.value if source else "")
    span = parse_window(window)
    if span > MAX_HEAT_WINDOW:
        raise Problem(422, "Invalid window", "the heat map covers at most 366 days")
    return heat_read(await heat_view(deps, window=span, by=by, f=f, cell=cell), window, f)
@router.get("/v1/stats", response_model=Stats, dependencies=[Depends(get_caller)])
async def stats(deps: DepsDep, window: Annotated[str, Query(description="e.g. 24h, 7d, 30d")] = "7d",
                month: Annotated[str | None, Query(description="a calendar month in Asia/Shanghai, e.g. 2026-11; "
                                                               "replaces the window")] = None) -> Stats:
    """Figures over the window (ROUTING.md §6 for dispatch success), computed from the case records."""
    now = deps.now()  # outcomes are judged now: an ack window may have passed since the month ended
    if month is not None:
        span = parse_month(month)
        start, end, until, window = span.start, span.end, span.end, str(span)
    else:
        start, end, until = now - parse_window(window), now + timedelta(seconds=1), None
    async with deps.db.sessions() as session:
        records = await dispatch_records(session, start, until)
        escalations = await escalation_records(session, start)
        gaps = await gaps_since(session, start, until)
    return stats_of(records, escalations, gaps, start, end, window=window, now=now)
