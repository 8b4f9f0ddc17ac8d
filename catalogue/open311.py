"""The catalogue as Open311 GeoReport v2 services: its matters and industries, read by intake (codes a public
report may name) and the tracker (the service list); the wire format is services.open311."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from catalogue.model import Catalogue


def _department_label(cat: Catalogue, code: str | None) -> str:
    """A department's name; a per-unit template (street-{unit}) by its name with the unit left out."""
    if code is None:
        return ""
    if code in cat.departments:
        return cat.departments[code].name
    for template in cat.unit_departments.values():
        if template.template == code:
            return template.name.replace("{unit_name}", "").strip() or code
    return code


def _keywords(words: Iterable[Any], limit: int = 8) -> str:
    return ", ".join([alias.w for alias in words][:limit])


def services(cat: Catalogue) -> list[dict[str, Any]]:
    """The catalogue's matters and industries as GeoReport services, in the catalogue's own language.

    A matter's group is `matter`, an industry's `industry`; the description names who handles it (a matter's
    department, an industry's competent department). No service has attributes yet, so `metadata` is false.
    """
    rows: list[dict[str, Any]] = []
    for code, matter in cat.matters.items():
        rows.append({"service_code": code, "service_name": matter.name,
                     "description": f"{matter.name}：{_department_label(cat, matter.department)}",
                     "metadata": False, "type": "realtime", "keywords": _keywords(matter.aliases),
                     "group": "matter"})
    for code, industry in cat.industries.items():
        handler = _department_label(cat, industry.competent) if industry.competent else ""
        rows.append({"service_code": code, "service_name": industry.name,
                     "description": f"{industry.name}：{handler}" if handler else industry.name,
                     "metadata": False, "type": "realtime", "keywords": _keywords([*industry.aliases, *industry.goods]),
                     "group": "industry"})
    return rows


def service_codes(cat: Catalogue) -> frozenset[str]:
    return frozenset(cat.matters) | frozenset(cat.industries)


def service_name(cat: Catalogue, code: str | None) -> str | None:
    if code in cat.matters:
        return cat.matters[code].name
    if code in cat.industries:
        return cat.industries[code].name
    return None


def definition(code: str) -> dict[str, Any]:
    """A service definition: no attributes (metadata is false for every service)."""
    return {"service_code": code, "attributes": []}


def jurisdiction(configured: str | None, cat: Catalogue) -> str:
    """The jurisdiction this endpoint serves: the configured id, else the catalogue version's prefix
    (haishu-2026.01.1 → haishu)."""
    return configured or cat.version.split("-", 1)[0]
