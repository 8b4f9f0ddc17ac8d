"""Instants: aware datetimes within the years caseroute stores and computes with (one type for every API and event).

A naive time ("2026-01-05T14:06:00") names no instant: 14:06 in Shanghai or in UTC are eight hours apart, and
comparing it with an aware time raises. A time near the ends of Python's range (`0001-01-01T00:00:00+14:00`,
`9999-12-31T23:59:59-14:00`) cannot even be converted to UTC, nor moved by a duplicate window. Both are refused
where they come in (422 on an API, a refused event on a topic), so nothing downstream fails on them later.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Annotated

from pydantic import AfterValidator

EARLIEST = datetime(1970, 1, 1, tzinfo=UTC)
LATEST = datetime(2100, 1, 1, tzinfo=UTC)  # exclusive


def check_instant(value: datetime) -> datetime:
    """The value itself (its offset kept), if it is aware and within [EARLIEST, LATEST); else ValueError."""
    if value.tzinfo is None or value.utcoffset() is None:
        raise ValueError("give a UTC offset, e.g. 2026-01-05T14:06:00+08:00 (a time without one names no instant)")
    try:
        utc = value.astimezone(UTC)
    except OverflowError:
        utc = None
    if utc is None or not EARLIEST <= utc < LATEST:
        raise ValueError(f"must be from {EARLIEST:%Y-%m-%d} to before {LATEST:%Y-%m-%d} (UTC)")
    return value


Instant = Annotated[datetime, AfterValidator(check_instant)]
