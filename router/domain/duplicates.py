"""Duplicate detection: the same matter at the same place within the catalogue's window."""

from __future__ import annotations

import math
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Final

from catalogue.model import DuplicateSettings
from router.domain.text import normalise_address
from schemas.decision import Decision

EARTH_RADIUS_M: Final = 6_371_000.0
METRES_PER_DEGREE_OF_LATITUDE: Final = math.pi * EARTH_RADIUS_M / 180


@dataclass(frozen=True, slots=True)
class OpenCase:
    """What the tracker knows of a recent open case, enough to compare places and subjects."""

    case_id: str
    unit: str | None
    address: str  # normalised with normalise_address
    lat: float | None
    lon: float | None
    subject: str | None  # matter, else industry
    opened_at: datetime


def subject_of(decision: Decision) -> str | None:
    """The subject two reports must share to be duplicates: the matter, else the industry."""
    return decision.matter or decision.industry


def distance_m(lat1: float, lon1: float, lat2: float, lon2: float) -> float:
    """Great-circle distance in metres (haversine)."""
    p1, p2 = math.radians(lat1), math.radians(lat2)
    dp, dl = p2 - p1, math.radians(lon2 - lon1)
    a = math.sin(dp / 2) ** 2 + math.cos(p1) * math.cos(p2) * math.sin(dl / 2) ** 2
    return 2 * EARTH_RADIUS_M * math.asin(math.sqrt(a))


def find_duplicate(
    decision: Decision,
    *,
    address: str | None,
    lat: float | None,
    lon: float | None,
    reported_at: datetime,
    recent: Iterable[OpenCase],
    settings: DuplicateSettings,
) -> str | None:
    """The id of the newest open case this report duplicates, or None."""
    subject = subject_of(decision)
    if subject is None:
        return None  # a gap has no subject to compare; let the adjudicator see each one
    place = normalise_address(address)
    earliest = reported_at - timedelta(days=settings.window_days)
    best: OpenCase | None = None
    for case in recent:
        if case.subject != subject or not (earliest <= case.opened_at <= reported_at):
            continue
        if best is not None and case.opened_at <= best.opened_at:
            continue  # it could not replace the newest match: spare the place test
        same_address = bool(place) and case.address == place and case.unit == decision.unit
        if same_address or _near(lat, lon, case.lat, case.lon, settings.distance_m):
            best = case
    return best.case_id if best else None


def _near(lat: float | None, lon: float | None, lat2: float | None, lon2: float | None, within_m: float) -> bool:
    if lat is None or lon is None or lat2 is None or lon2 is None:
        return False
    # A great circle is never shorter than its north-south part: most places fail this before the haversine.
    if abs(lat - lat2) * METRES_PER_DEGREE_OF_LATITUDE > within_m:
        return False
    return distance_m(lat, lon, lat2, lon2) <= within_m


@dataclass(frozen=True, slots=True)
class Box:
    """A latitude/longitude rectangle, in degrees; south > north makes it hold nothing."""

    south: float
    north: float
    west: float
    east: float


NO_BOX: Final = Box(1.0, 0.0, 1.0, 0.0)
_SLACK: Final = 1.000001  # float rounding must not cut off a place exactly at the distance


def search_boxes(points: Sequence[tuple[float, float]], within_m: float, count: int = 8) -> list[Box]:
    """Exactly `count` boxes (padded with NO_BOX) that together hold every place within `within_m` of any
    (lat, lon) point: a fixed number, so the query that uses them is one statement whatever the batch.

    Points are grouped by latitude; each group's box is widened by the distance: in latitude by its
    north-south part (a great circle is never shorter), in longitude by the widest angle `within_m` can span
    at the group's most poleward latitude (hav d >= cos φ1 cos φ2 hav Δλ)."""
    ordered = sorted(points)
    size = -(-len(ordered) // count) if ordered else 0
    groups = [ordered[i:i + size] for i in range(0, len(ordered), size)] if size else []
    boxes = []
    dlat = within_m / METRES_PER_DEGREE_OF_LATITUDE * _SLACK
    for group in groups:
        south, north = group[0][0] - dlat, group[-1][0] + dlat
        west, east = min(lon for _, lon in group), max(lon for _, lon in group)
        cos_poleward = math.cos(math.radians(min(90.0, max(abs(south), abs(north)))))
        ratio = math.sin(within_m / (2 * EARTH_RADIUS_M)) / cos_poleward if cos_poleward > 0 else 2.0
        if ratio >= 1 or east - west + 2 * math.degrees(2 * math.asin(ratio)) >= 360:
            boxes.append(Box(south, north, -180.0, 180.0))  # near a pole, or all the way round
            continue
        dlon = math.degrees(2 * math.asin(ratio)) * _SLACK
        west, east = west - dlon, east + dlon
        if west < -180 or east > 180:  # across the antimeridian: the whole band, rather than two boxes
            west, east = -180.0, 180.0
        boxes.append(Box(south, north, west, east))
    return boxes + [NO_BOX] * (count - len(boxes))
