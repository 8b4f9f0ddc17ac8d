"""Unit-bound departments (police-{unit}): binding a template to a unit and back, written once for every service."""

from __future__ import annotations

from catalogue.model import UNIT_PLACEHOLDER, Catalogue


def bound(template: str, unit: str) -> str:
    """police-{unit} bound to ximen: police-ximen."""
    return template.replace(UNIT_PLACEHOLDER, unit)


def fallbacks(cat: Catalogue) -> dict[str, str]:
    """Per-unit template → the district department that serves a case whose unit is unknown."""
    return {t.template: t.fallback for t in cat.unit_departments.values()}


def bindings(cat: Catalogue) -> dict[str, dict[str, str]]:
    """Unit → per-unit template → its bound code, for every unit of the catalogue."""
    return {unit: {t.template: bound(t.template, unit) for t in cat.unit_departments.values()} for unit in cat.units}


def bind(code: str, unit: str | None, cat: Catalogue) -> str:
    """street-{unit} for the case's unit (or the template's district fallback); other codes unchanged."""
    for template in cat.unit_departments.values():
        if template.template == code:
            return bound(code, unit) if unit is not None and unit in cat.units else template.fallback
    return code


def unit_of(department: str, cat: Catalogue) -> str | None:
    """The unit a bound department serves (police-ximen → ximen), or None for a district department."""
    for template in cat.unit_departments.values():
        head, _, tail = template.template.partition(UNIT_PLACEHOLDER)
        if department.startswith(head) and department.endswith(tail):
            unit = department[len(head): len(department) - len(tail)]
            if unit in cat.units:
                return unit
    return None


def unbind(code: str, unit: str | None, cat: Catalogue) -> str:
    """street-nanmen on a nanmen case is street-{unit} in a rule, so the rule serves every unit."""
    for template in cat.unit_departments.values():
        if unit is not None and bound(template.template, unit) == code:
            return template.template
    return code


def template_of(department: str, cat: Catalogue) -> str:
    """police-ximen → police-{unit}; a district department is its own code."""
    return unbind(department, unit_of(department, cat), cat)


def bound_to_a_unit(code: str, cat: Catalogue) -> bool:
    """police-ximen: a per-unit department bound to a unit of the district."""
    return any(bound(t.template, u) == code for t in cat.unit_departments.values() for u in cat.units)


def department_names(cat: Catalogue) -> dict[str, str]:
    """Every department a case can go to → its name: the district's, each template bound to every unit
    (police-nanmen → 南门派出所)."""
    names = {code: d.name for code, d in cat.departments.items()}
    for template in cat.unit_departments.values():
        for unit, u in cat.units.items():
            names[bound(template.template, unit)] = template.name.replace("{unit_name}", u.name)
    return names
