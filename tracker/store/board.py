"""The dispatch board's query: cases by unit, department, status, rule and overdue, searched, a page at a time."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from sqlalchemy import ColumnElement, Select, func, or_, select, true
from sqlalchemy.ext.asyncio import AsyncSession

from schemas.decision import Rule
from tracker.store.models import Case

# What the board shows unless asked otherwise: the cases a department holds now (a ruled case is about to be).
OPEN = ("dispatched", "acknowledged", "adjudicated")


@dataclass(frozen=True)
class BoardFilter:
    """The board's filters as the operator set them; empty means "any"."""

    unit: str = ""
    department: str = ""
    status: str = "open"  # "open" (held by a department), "all", or one status
    rule: str = ""
    overdue: bool = False
    q: str = ""  # a case id, an external id, words of the address, the title or the description


def _text(*path: str) -> ColumnElement[Any]:
    # A field of the report document as text: JSON_EXTRACT on SQLite, #>> on PostgreSQL. Not the whole document
    # cast to text: SQLite keeps it with \uXXXX escapes, so 烧烤 would never match there.
    return Case.report[path].as_string()


def conditions(f: BoardFilter) -> list[ColumnElement[bool]]:
    """The WHERE clauses of a filter."""
    where: list[ColumnElement[bool]] = []
    if f.status == "open":
        where.append(Case.status.in_(OPEN))
    elif f.status != "all":
        where.append(Case.status == f.status)
    for column, value in ((Case.unit, f.unit), (Case.department, f.department), (Case.rule, f.rule)):
        if value:
            where.append(column == value)
    if f.overdue:
        where.append(Case.overdue.is_(True))
    q = f.q.strip()
    if q:
        # autoescape: an operator searching for "50%" or "a_b" means those characters, not wildcards.
        fields = (_text("external_id"), _text("location", "address"), _text("location", "grid"),
                  _text("title"), _text("description"))
        where.append(or_(Case.case_id == q, *(field.icontains(q, autoescape=True) for field in fields)))
    return where


def _query(f: BoardFilter) -> Select[Case]:
    return select(Case).where(*conditions(f) or [true()])


async def page_of(session: AsyncSession, f: BoardFilter, page: int, size: int) -> tuple[list[Case], int]:
    """One page of the matching cases, overdue first then oldest first, and how many match in all."""
    total = int(await session.scalar(select(func.count()).select_from(_query(f).subquery())) or 0)
    rows = (await session.execute(_query(f).order_by(Case.overdue.desc(), Case.received_at, Case.case_id)
                                  .offset((page - 1) * size).limit(size))).scalars().all()
    return list(rows), total


async def by_department(session: AsyncSession, f: BoardFilter) -> list[tuple[str, int, int]]:
    """(department, cases, overdue cases) over everything the filter matches, most overdue first."""
    overdue = func.count().filter(Case.overdue.is_(True))
    query = (select(Case.department, func.count(), overdue).where(*conditions(f) or [true()])
             .group_by(Case.department))
    rows = [(d or "—", int(n), int(late)) for d, n, late in (await session.execute(query)).all()]
    return sorted(rows, key=lambda r: (-r[2], -r[1], r[0]))


# The decision rules a case can carry (ROUTING.md §5, and RULING for a saved ruling), for the rule filter.
# Joint inspections (联合检查, opened by a trigger: tracker.subjects) are on the board but not on the heat map.
BOARD_RULES = tuple(rule.value for rule in Rule)
RULES = tuple(r for r in BOARD_RULES if r != Rule.JOINT)
