"""The unit gazetteer from the official division codes (统计用区划代码): pure, so a district regenerates it."""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable
from dataclasses import dataclass

# What the code list appends to the place a committee serves: 郎官社区, 东方社区居委会, 新联村村委会, 横街居委会.
_COMMITTEE_SUFFIXES = ("村民委员会", "居民委员会", "村委会", "居委会")


@dataclass(frozen=True)
class DivisionRow:
    """One line of the code list: a street-level unit (街道/镇/乡) or a community/village below it."""

    code: str
    name: str
    parent: str


def committee_place(name: str) -> str:
    """The place a committee serves, as people write it: 东方社区居委会 → 东方社区, 新联村村委会 → 新联村."""
    for suffix in _COMMITTEE_SUFFIXES:
        if name.endswith(suffix) and len(name) > len(suffix):
            stem = name[: -len(suffix)]
            if stem.endswith(("社区", "村")):
                return stem
            # 横街居委会 serves 横街社区; a 村委会 whose stem lacks 村 serves that 村.
            return stem + ("村" if suffix.startswith("村") else "社区")
    return name


@dataclass(frozen=True)
class Gazetteer:
    """Places per catalogue unit, and the district's places that lie in none of its units."""

    division: str
    by_unit: dict[str, list[str]]
    outside: list[str]


def build_gazetteer(
    division: str, streets: Iterable[DivisionRow], committees: Iterable[DivisionRow], unit_names: dict[str, str]
) -> Gazetteer:
    """Every community and village of district `division` by its full name, sorted into the catalogue's units.

    `unit_names` maps catalogue unit codes to their official names (南门街道); a street-level unit of the
    district that the catalogue does not list is outside, and so are its communities. Short names are the
    hand-kept part's business: many are everyday words (车站, 朝阳).
    """
    by_name = {name: code for code, name in unit_names.items()}
    unit_of: dict[str, str | None] = {}  # street code -> catalogue unit, None when outside the catalogue
    by_unit: dict[str, list[str]] = {code: [] for code in unit_names}
    outside: list[str] = []
    for row in streets:
        if row.parent == division:
            unit_of[row.code] = by_name.get(row.name)
            if unit_of[row.code] is None:
                outside.append(row.name)
    for row in committees:
        if row.parent in unit_of:
            unit = unit_of[row.parent]
            target = outside if unit is None else by_unit[unit]
            place = committee_place(row.name)
            if place not in target:
                target.append(place)
    # A name that two units share decides nothing on its own (ROUTING §8).
    ambiguous = {p for p, n in Counter(p for ps in (*by_unit.values(), outside) for p in ps).items() if n > 1}
    return Gazetteer(
        division=division,
        by_unit={code: [p for p in ps if p not in ambiguous] for code, ps in by_unit.items()},
        outside=[p for p in outside if p not in ambiguous],
    )
