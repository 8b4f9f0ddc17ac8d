"""Reads the heat map needs: the reports received over two windows, as heat records."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import ColumnElement, select
from sqlalchemy.ext.asyncio import AsyncSession

from tracker.domain.heat import HeatRecord
from tracker.store.models import Case


@dataclass(frozen=True)
class HeatFilter:
    """Which reports count; empty means any."""

    matter: str = ""
    hazard: str = ""
    rule: str = ""
    source: str = ""


def _conditions(f: HeatFilter) -> list[ColumnElement[bool]]:
    where: list[ColumnElement[bool]] = []
    for column, value in ((Case.hazard, f.hazard), (Case.rule, f.rule), (Case.source, f.source)):
        if value:
            where.append(column == value)
    if f.matter:  # the router's matter lives in the decision document only
        where.append(Case.decision[("matter",)].as_string() == f.matter)
    return where


def _coordinate(value: Any) -> float | None:
    return float(value) if isinstance(value, int | float) and not isinstance(value, bool) else None


def _place_words(evidence: Any) -> tuple[str, ...]:
    """The words of the router's unit evidence that came from its gazetteer (a code typed in names no place)."""
    if not isinstance(evidence, list):
        return ()
    return tuple(str(w) for e in evidence if isinstance(e, dict) and e.get("kind") == "gazetteer"
                 and str(e.get("what", "")).startswith("unit=") for w in e.get("words") or [])


async def heat_records(session: AsyncSession, since: datetime, until: datetime, f: HeatFilter) -> list[HeatRecord]:
    """Cases received in [since, until) that the filter admits; only the fields the heat map reads."""
    query = (select(Case.case_id, Case.received_at, Case.unit, Case.report[("location",)],
                    Case.decision[("evidence",)])
             # Reports only: a joint inspection (rule JOINT) is the tracker's answer to reports, not one more.
             .where(Case.received_at >= since, Case.received_at < until, Case.rule.is_distinct_from("JOINT"),
                    *_conditions(f)))
    out = []
    for case_id, received_at, unit, location, evidence in (await session.execute(query)).all():
        where = location if isinstance(location, dict) else {}
        out.append(HeatRecord(case_id, received_at, unit, where.get("grid"), where.get("address"),
                              _coordinate(where.get("lat")), _coordinate(where.get("lon")), _place_words(evidence)))
    return out
