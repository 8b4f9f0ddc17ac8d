"""Personal data: the reporter's name and phone number, masked wherever a role does not need them.

Logs, department topics (dispatch.<department>.v1), department API views and webhooks carry the masked forms;
adjudicators, operators and admins may read them whole (audited). Retention purges them from closed cases.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from typing import Any

PERSONAL_FIELDS = ("reporter_name", "reporter_phone")
_MOBILE = re.compile(r"(?<!\d)(1[3-9]\d)\d{4}(\d{4})(?!\d)")
_LANDLINE = re.compile(r"(?<!\d)(0\d{2,3})-?\d{3,4}(\d{4})(?!\d)")


def mask_phone_numbers(text: str) -> str:
    """Mobile and landline numbers in a text keep their area/operator prefix and last four digits only."""
    return _LANDLINE.sub(r"\1-****\2", _MOBILE.sub(r"\1****\2", text))


def mask_name(name: str) -> str:
    """张三丰 → 张**; a name keeps its first character (the family name, or an initial)."""
    name = name.strip()
    return name[:1] + "*" * max(1, len(name) - 1) if name else name


def mask_text(text: str, names: Iterable[str | None] = ()) -> str:
    """A free text with phone numbers and the given personal names masked."""
    for name in names:
        if name and len(name.strip()) >= 2:
            text = text.replace(name.strip(), mask_name(name))
    return mask_phone_numbers(text)


def masked_report(report: dict[str, Any]) -> dict[str, Any]:
    """A stored report (JSON) as a department may see it."""
    masked = dict(report)
    name = report.get("reporter_name")
    if isinstance(name, str):
        masked["reporter_name"] = mask_name(name)
    phone = report.get("reporter_phone")
    if isinstance(phone, str):
        masked["reporter_phone"] = mask_phone_numbers(phone) if _has_number(phone) else "****"
    for field in ("title", "description"):
        if isinstance(report.get(field), str):
            masked[field] = mask_text(report[field], [name if isinstance(name, str) else None])
    return masked


def has_personal_data(report: dict[str, Any] | None) -> bool:
    return bool(report) and any(report.get(field) for field in PERSONAL_FIELDS)  # type: ignore[union-attr]


def purged_report(report: dict[str, Any]) -> dict[str, Any]:
    """A stored report after retention: personal fields gone, names and numbers masked in its text."""
    purged = masked_report(report)
    for field in PERSONAL_FIELDS:
        purged[field] = None
    return purged


def _has_number(phone: str) -> bool:
    return bool(_MOBILE.search(phone) or _LANDLINE.search(phone))
