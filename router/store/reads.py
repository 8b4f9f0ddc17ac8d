"""The router's reads on its hot path, as Core statements built once with bound parameters.

Building a statement is most of what a read costs in Python: the open-case search alone is eight boxes of
BETWEENs, a few hundred expression objects made and hashed per poll. Built once, a poll binds its values and
SQLAlchemy finds the compiled form in its cache. Core, not ORM selects: the rows are plain tuples either way,
and the ORM's execution layer costs more than the row.
"""

from __future__ import annotations

from collections.abc import Collection, Sequence
from functools import cache

from sqlalchemy import Select, and_, bindparam, or_, select
from sqlalchemy.ext.asyncio import AsyncSession

from router.domain.duplicates import OpenCase
from router.domain.linking import Search
from router.domain.subjects import Rated
from router.store.models import RoutedCase, SubjectTier
from schemas.decision import SubjectRef
from services.db import table_of

_CASES = table_of(RoutedCase)
_TIERS = table_of(SubjectTier)

_DECIDED = select(_CASES.c.case_id).where(_CASES.c.case_id.in_(bindparam("case_ids", expanding=True)))
_TIERS_OF = select(_TIERS.c.key, _TIERS.c.subject_id, _TIERS.c.tier).where(
    _TIERS.c.key.in_(bindparam("keys", expanding=True)))


@cache
def _open_cases_statement(boxes: int) -> Select[tuple[str, str | None, str | None, float | None, float | None,
                                                      str | None, object]]:
    """The open cases of some subjects since a time, at one of some addresses or inside one of `boxes` boxes.

    The search always has the same number of boxes (padded with empty ones), so this is one statement."""
    c = _CASES.c
    at_a_place = [c.address.in_(bindparam("addresses", expanding=True))] + [
        and_(c.lat.between(bindparam(f"south{i}"), bindparam(f"north{i}")),
             c.lon.between(bindparam(f"west{i}"), bindparam(f"east{i}")))
        for i in range(boxes)]
    return (select(c.case_id, c.unit, c.address, c.lat, c.lon, c.subject, c.routed_at)
            .where(c.open.is_(True), c.subject.in_(bindparam("subjects", expanding=True)),
                   c.routed_at >= bindparam("since"), or_(*at_a_place)))


async def open_cases(session: AsyncSession, search: Search) -> list[OpenCase]:
    """The open cases of the search's subjects and windows at one of its places (each report then keeps the
    cases of its own window and place: link_duplicates)."""
    params: dict[str, object] = {"subjects": sorted(search.since), "since": min(search.since.values()),
                                 "addresses": list(search.addresses)}
    for i, box in enumerate(search.boxes):
        params.update({f"south{i}": box.south, f"north{i}": box.north, f"west{i}": box.west, f"east{i}": box.east})
    rows = (await session.execute(_open_cases_statement(len(search.boxes)), params)).all()
    return [OpenCase(r.case_id, r.unit, r.address, r.lat, r.lon, r.subject, r.routed_at) for r in rows]


async def decided(session: AsyncSession, case_ids: Collection[str]) -> set[str]:
    """Which of these cases this router decided already."""
    if not case_ids:
        return set()
    return set((await session.execute(_DECIDED, {"case_ids": sorted(case_ids)})).scalars().all())


async def tiers_of(session: AsyncSession, subjects: Sequence[SubjectRef]) -> dict[str, Rated]:
    """The subjects and tiers the tracker announced for these subjects' keys, in one query."""
    keys = sorted({key for subject in subjects for key in subject.keys})
    if not keys:
        return {}
    rows = (await session.execute(_TIERS_OF, {"keys": keys})).all()
    return {row.key: Rated(row.subject_id, row.tier) for row in rows}
