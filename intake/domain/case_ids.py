"""Case ids: sortable by acceptance time, unguessable, short enough to read out on the phone."""

from __future__ import annotations

import secrets
from datetime import datetime
from zoneinfo import ZoneInfo

SHANGHAI = ZoneInfo("Asia/Shanghai")


def new_case_id(now: datetime) -> str:
    """E.g. C20261127-7F3A9C21D0: the local date of acceptance and 40 random bits."""
    return f"C{now.astimezone(SHANGHAI):%Y%m%d}-{secrets.token_hex(5).upper()}"
