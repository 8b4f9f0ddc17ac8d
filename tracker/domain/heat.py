"""The risk heat map (热力地图): where reports concentrate over a window, against the window before it.

Pure: the reports come in as plain records, the places as the catalogue names them. A report's community
(社区/村) is the one the router's decision evidence named, else the first the report's grid or address names;
the communities are the catalogue's generated gazetteer (the official division list), and the hand-kept
gazetteer's short names (柳锦 for 柳锦社区) where a name is the stem of exactly one community of its unit.
"""

from __future__ import annotations

import math
import re
from collections import Counter, defaultdict
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from enum import StrEnum

_SUFFIXES = ("社区", "村")


class HeatBy(StrEnum):
    community = "community"
    grid = "grid"
    unit = "unit"


@dataclass(frozen=True)
class Community:
    name: str  # the full name, e.g. 柳锦社区
    unit: str  # the catalogue unit it lies in


@dataclass(frozen=True)
class Places:
    """Words that name a community → the community; matched longest first."""

    by_word: Mapping[str, Community]
    pattern: re.Pattern[str] | None

    def find(self, text: str) -> Community | None:
        """The community the text names first (the longest word where two start at one place)."""
        if self.pattern is None or not text:
            return None
        found = self.pattern.search(text)
        return self.by_word[found.group(0)] if found else None


def community_places(divisions: Mapping[str, Sequence[str]], gazetteer: Mapping[str, Sequence[str]]) -> Places:
    """The community index from the catalogue: `divisions` (unit → 社区/村 names from the official list) and the
    hand-kept `gazetteer` (unit → roads, landmarks and short names)."""
    by_word: dict[str, Community] = {}
    for unit, names in divisions.items():
        for name in names:
            by_word.setdefault(name, Community(name, unit))
    for unit, words in gazetteer.items():
        communities = [n for n in divisions.get(unit, ()) if n.endswith(_SUFFIXES)]
        for word in words:
            # 长乐 is the stem of 长乐社区 and 长乐村 in one unit: it names neither for sure, so it names none.
            stems = [n for n in communities if n[: -2 if n.endswith("社区") else -1] == word]
            if len(stems) == 1 and word not in by_word:
                by_word[word] = Community(stems[0], unit)
    if not by_word:
        return Places({}, None)
    words = sorted(by_word, key=lambda w: (-len(w), w))  # alternation tries in order: longest wins at a place
    return Places(by_word, re.compile("|".join(re.escape(w) for w in words)))


@dataclass(frozen=True)
class HeatRecord:
    """One report as the heat map reads it."""

    case_id: str
    received_at: datetime
    unit: str | None = None
    grid: str | None = None
    address: str | None = None
    lat: float | None = None
    lon: float | None = None
    place_words: tuple[str, ...] = ()  # the words the router's unit evidence named (its gazetteer match)


def community_of(record: HeatRecord, places: Places) -> Community | None:
    """The community the report names: the router's evidence first (it placed the report), then grid, address."""
    for text in (*record.place_words, record.grid or "", record.address or ""):
        found = places.find(text)
        if found is not None and (record.unit is None or found.unit == record.unit):
            return found
    return None


def key_of(record: HeatRecord, by: HeatBy, places: Places) -> tuple[str, str | None] | None:
    """What the report is counted under and the unit that lies in, or None when it names nothing to count by."""
    if by is HeatBy.unit:
        return (record.unit, record.unit) if record.unit else None
    if by is HeatBy.grid:
        grid = (record.grid or "").strip()
        return (grid, record.unit) if grid else None
    found = community_of(record, places)
    return (found.name, found.unit) if found else None


class Trend(StrEnum):
    up = "up"
    down = "down"
    flat = "flat"
    new = "new"  # none in the previous window


@dataclass(frozen=True)
class Group:
    key: str
    count: int
    previous: int
    unit: str | None = None  # the community's unit (by community) or the key itself (by unit)
    centre: tuple[float, float] | None = None  # mean (lat, lon) of the window's reports that have coordinates

    @property
    def change(self) -> int:
        return self.count - self.previous

    @property
    def trend(self) -> Trend:
        if self.previous == 0:
            return Trend.new if self.count else Trend.flat
        return Trend.up if self.count > self.previous else Trend.down if self.count < self.previous else Trend.flat

    @property
    def change_ratio(self) -> float | None:
        """count ÷ previous − 1; None when the previous window had none."""
        return self.count / self.previous - 1 if self.previous else None


@dataclass(frozen=True)
class Cell:
    """A lat/lon grid cell of `size` degrees; (lat, lon) is its south-west corner."""

    lat: float
    lon: float
    count: int


@dataclass(frozen=True)
class HeatMap:
    by: HeatBy
    total: int
    previous_total: int
    groups: list[Group]  # ranked: most reports first, then the biggest rise, then by key
    unplaced: int  # reports of the window that name no key
    unplaced_previous: int
    cell_size: float
    cells: list[Cell]  # the window's reports with coordinates, binned; densest first
    located: int  # reports of the window with coordinates
    bounds: tuple[float, float, float, float] | None = field(default=None)  # south, west, north, east


def _cell(value: float, size: float) -> int:
    # Rounded before flooring, so 29.87 with 0.01 cells lands in 29.87's cell and not 29.86's (binary fractions).
    return math.floor(round(value / size, 9))


def heat(records: Iterable[HeatRecord], start: datetime, end: datetime, previous_start: datetime, by: HeatBy,
         places: Places, cell_size: float) -> HeatMap:
    """Counts of [start, end) per key against [previous_start, start), and the window's coordinates binned."""
    if cell_size <= 0:
        raise ValueError("cell_size must be positive")
    now: Counter[str] = Counter()
    before: Counter[str] = Counter()
    units: dict[str, str | None] = {}
    points: dict[str, list[tuple[float, float]]] = defaultdict(list)
    bins: Counter[tuple[int, int]] = Counter()
    unplaced = unplaced_previous = total = previous_total = located = 0
    south = west = math.inf
    north = east = -math.inf
    for r in records:
        current = start <= r.received_at < end
        if not current and not previous_start <= r.received_at < start:
            continue
        keyed = key_of(r, by, places)
        key = keyed[0] if keyed else None
        if current:
            total += 1
        else:
            previous_total += 1
        if keyed is None:
            unplaced += current
            unplaced_previous += not current
        else:
            (now if current else before)[keyed[0]] += 1
            units.setdefault(keyed[0], keyed[1])
        if current and r.lat is not None and r.lon is not None:
            located += 1
            bins[(_cell(r.lat, cell_size), _cell(r.lon, cell_size))] += 1
            south, north, west, east = min(south, r.lat), max(north, r.lat), min(west, r.lon), max(east, r.lon)
            if key is not None:
                points[key].append((r.lat, r.lon))
    groups = [Group(k, now[k], before[k], units.get(k), _centre(points.get(k, [])))
              for k in set(now) | set(before)]
    groups.sort(key=lambda g: (-g.count, -g.change, g.key))
    cells = sorted((Cell(round(i * cell_size, 9), round(j * cell_size, 9), n) for (i, j), n in bins.items()),
                   key=lambda c: (-c.count, c.lat, c.lon))
    return HeatMap(by, total, previous_total, groups, unplaced, unplaced_previous, cell_size, cells, located,
                   (south, west, north, east) if located else None)


def _centre(points: list[tuple[float, float]]) -> tuple[float, float] | None:
    if not points:
        return None
    return (sum(p[0] for p in points) / len(points), sum(p[1] for p in points) / len(points))
