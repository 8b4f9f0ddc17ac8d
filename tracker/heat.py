"""The heat map of a window: the catalogue's places, the reports of the window and the one before, counted.

One function for GET /v1/stats/heat and the console's 风险热力 page, so the two always show the same figures.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

from tracker.domain.heat import HeatBy, HeatMap, Places, community_places, heat
from tracker.handlers import Deps
from tracker.store import catalogue as versions
from tracker.store.heat import HeatFilter, heat_records

_PLACES: dict[str, Places] = {}  # by catalogue version: a version's places never change


@dataclass(frozen=True)
class HeatView:
    """The map with what a reader needs to name its keys."""

    map: HeatMap
    since: datetime
    until: datetime
    previous_since: datetime
    unit_names: dict[str, str]
    catalogue_version: str


async def heat_view(deps: Deps, *, window: timedelta, by: HeatBy, f: HeatFilter, cell: float) -> HeatView:
    """Reports received in the last `window` (to now) against the `window` before, counted by `by`."""
    now = deps.now()
    until = now + timedelta(seconds=1)  # a report received this second counts
    since, previous_since = until - window, until - 2 * window
    async with deps.db.transaction() as s:
        cat = versions.parsed(await versions.in_force(s, deps.settings))
    places = _PLACES.get(cat.version)
    if places is None:
        places = community_places(cat.divisions.units if cat.divisions else {}, cat.gazetteer)
        _PLACES.clear()  # one catalogue is in force at a time
        _PLACES[cat.version] = places
    async with deps.db.sessions() as s:
        records = await heat_records(s, previous_since, until, f)
    return HeatView(heat(records, since, until, previous_since, by, places, cell), since, until, previous_since,
                    {code: u.name for code, u in cat.units.items()}, cat.version)
