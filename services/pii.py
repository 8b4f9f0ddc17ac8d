"""Personal data: the reporter's name and phone number, masked wherever a role does not need them.

Logs, department topics (dispatch.<department>.v1), department API views and webhooks carry the masked forms;
adjudicators, operators and admins may read them whole (audited). Retention purges them from closed cases.

Phone numbers are found in the forms people write them in: with or without +86 / 86 / 0086, grouped by spaces,
hyphens or dots, in full-width digits (１３９…), landlines with their area code. A number keeps its operator or
area prefix and its last four digits (`139****5678`, `0574-****4321`), enough to tell two callers apart.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from typing import Any

PERSONAL_FIELDS = ("reporter_name", "reporter_phone")
# Fields of a report that only its submitter and overseers see: where the submitter wants its callbacks, and
# the attachment links (often pre-signed storage URLs), which are no one else's to follow.
SUBMITTER_FIELDS = ("callback_url", "attachments")

# Full-width digits, signs and spaces (what Chinese input methods type) read as their ASCII forms; one character
# for one, so a match found in the translated text has the same span in the original.
_HALF_WIDTH = str.maketrans("０１２３４５６７８９＋－（）　．", "0123456789+-() .")
_SEP = r"[ .\-\u00a0]?"  # one optional separator between digit groups
_COUNTRY = r"(?:\(?(?:\+|00)?86\)?" + _SEP + r")"
# [0-9], not \d: \d would match any script's digits and let the prefix check below pass over them.
_MOBILE = re.compile(r"(?<![0-9+])(" + _COUNTRY + r"?)(1[3-9][0-9])" + _SEP + r"([0-9]{4})" + _SEP
                     + r"([0-9]{4})(?![0-9])")
_LANDLINE = re.compile(
    r"(?<![0-9+])"
    r"(\(?0[1-9][0-9]{1,2}\)?|\(?(?:\+|00)86\)?" + _SEP + r"\(?[2-9][0-9]{1,2}\)?|\(?(?:\+|00)86\)?" + _SEP
    + r"10)" + _SEP + r"([0-9]{3,4})" + _SEP + r"([0-9]{4})(?![0-9])")


def mask_phone_numbers(text: str) -> str:
    """Mobile and landline numbers in a text keep their area/operator prefix and last four digits only."""
    if not any(c.isdigit() for c in text):
        return text  # the common case for titles and most descriptions: nothing to look for
    plain = text.translate(_HALF_WIDTH)
    spans: list[tuple[int, int, str]] = []
    # The kept parts are taken from the original text, in the characters they were written in.
    for m in _MOBILE.finditer(plain):
        spans.append((m.start(), m.end(), f"{text[m.start(1):m.end(2)]}****{text[m.start(4):m.end(4)]}"))
    taken = [(start, end) for start, end, _ in spans]
    for m in _LANDLINE.finditer(plain):
        if not any(start < m.end() and m.start() < end for start, end in taken):
            spans.append((m.start(), m.end(), f"{text[m.start(1):m.end(1)]}-****{text[m.start(3):m.end(3)]}"))
    for start, end, masked in sorted(spans, reverse=True):  # from the end, so earlier spans keep their places
        text = text[:start] + masked + text[end:]
    return text


def mask_name(name: str) -> str:
    """张三丰 → 张**; a name keeps its first character (the family name, or an initial)."""
    name = name.strip()
    return name[:1] + "*" * max(1, len(name) - 1) if name else name


def mask_text(text: str, names: Iterable[str | None] = (), phones: Iterable[str | None] = ()) -> str:
    """A free text with phone numbers and the given personal names (and the reporter's phone as given, in
    whatever form the patterns would miss) masked."""
    for name in names:
        if name and len(name.strip()) >= 2:
            text = text.replace(name.strip(), mask_name(name))
    for phone in phones:
        if phone and sum(c.isdigit() for c in phone) >= 7 and phone.strip() in text:
            text = text.replace(phone.strip(), _masked_phone(phone.strip()))
    return mask_phone_numbers(text)


def masked_report(report: dict[str, Any]) -> dict[str, Any]:
    """A stored report (JSON) as a department may see it: whether or not it has reporter fields, its text is
    masked (a grid worker may write a resident's number into the description)."""
    masked = dict(report)
    name = report.get("reporter_name")
    if isinstance(name, str):
        masked["reporter_name"] = mask_name(name)
    phone = report.get("reporter_phone")
    if isinstance(phone, str):
        masked["reporter_phone"] = _masked_phone(phone)
    for field in ("title", "description"):
        if isinstance(report.get(field), str):
            masked[field] = mask_text(report[field], [name if isinstance(name, str) else None],
                                      [phone if isinstance(phone, str) else None])
    return masked


def shared_report(report: dict[str, Any], *, submitter: bool) -> dict[str, Any]:
    """A stored report as a non-overseer reads it: masked, and without the submitter's own links unless the
    reader is its submitter."""
    shared = masked_report(report)
    if not submitter:
        shared["callback_url"] = None
        shared["attachments"] = []
    return shared


def personal_fields(report: dict[str, Any] | None) -> list[str]:
    """The fields of a report that carry personal data when shown whole: reporter fields, and a title or
    description with a phone number in it (for the audit record of a read)."""
    if not report:
        return []
    fields = [field for field in PERSONAL_FIELDS if report.get(field)]
    texts = [k for k in ("title", "description")
             if isinstance(report.get(k), str) and mask_phone_numbers(report[k]) != report[k]]
    return sorted(fields + texts)


def purged_report(report: dict[str, Any]) -> dict[str, Any]:
    """A stored report after retention: personal fields gone, names and numbers masked in its text."""
    purged = masked_report(report)
    for field in PERSONAL_FIELDS:
        purged[field] = None
    return purged


def _masked_phone(phone: str) -> str:
    masked = mask_phone_numbers(phone)
    return masked if masked != phone else "****"  # a number the patterns do not know: nothing of it


def mask_json(value: Any) -> Any:
    """A JSON value with phone numbers masked in every string: the free text of replies and returns, where a
    department may quote the number it called back."""
    if isinstance(value, str):
        return mask_phone_numbers(value)
    if isinstance(value, list):
        return [mask_json(v) for v in value]
    if isinstance(value, dict):
        return {k: mask_json(v) for k, v in value.items()}
    return value
