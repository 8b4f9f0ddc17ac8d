"""Cross-reference checks a schema cannot express; every problem is reported with its path."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass

from catalogue.model import Alias, Catalogue

SIZES = frozenset({"small", "large"})
HAZARDS = frozenset({"fire", "safety"})


@dataclass(frozen=True, slots=True)
class Problem:
    """One thing wrong in a catalogue, at a dotted path."""

    path: str
    message: str

    def __str__(self) -> str:
        return f"{self.path}: {self.message}"


def department_exists(cat: Catalogue, code: str) -> bool:
    """A department code is a district department or one of the per-unit templates."""
    return code in cat.departments or any(t.template == code for t in cat.unit_departments.values())


def check_catalogue(cat: Catalogue) -> list[Problem]:
    """All cross-reference problems of a parsed catalogue, in document order."""
    return [*_departments(cat), *_units(cat), *_aliases(cat), *_industries(cat), *_matters(cat), *_rulings(cat)]


def _dept(cat: Catalogue, path: str, code: str | None) -> Iterator[Problem]:
    if code is None:
        yield Problem(path, "names no department")
    elif not department_exists(cat, code):
        yield Problem(path, f"unknown department {code!r}")


def _departments(cat: Catalogue) -> Iterator[Problem]:
    for key, tpl in cat.unit_departments.items():
        if "{unit}" not in tpl.template:
            yield Problem(f"unit_departments.{key}.template", "a per-unit template needs '{unit}'")
        yield from _dept(cat, f"unit_departments.{key}.fallback", tpl.fallback)
        if "{unit}" in tpl.fallback:
            yield Problem(f"unit_departments.{key}.fallback", "a fallback must be a district department")
    rules = cat.rules
    for name in (
        "local_team",
        "fire_brigade",
        "residential_fire",
        "safety_office",
        "business_licensing",
        "gap_adjudicator",
        "gap_safety",
        "construction_primary",
    ):
        yield from _dept(cat, f"rules.{name}", getattr(rules, name))
    for i, code in enumerate(rules.construction_cooperating):
        yield from _dept(cat, f"rules.construction_cooperating[{i}]", code)
    for i, code in enumerate(rules.feedback_also):
        yield from _dept(cat, f"rules.feedback_also[{i}]", code)
    if rules.construction_finished is not None and rules.construction_finished not in cat.matters:
        yield Problem("rules.construction_finished", f"unknown matter {rules.construction_finished!r}")
    if rules.licence_anomaly is not None and rules.licence_anomaly not in cat.matters:
        yield Problem("rules.licence_anomaly", f"unknown matter {rules.licence_anomaly!r}")
    if rules.construction_industry not in cat.industries:
        yield Problem("rules.construction_industry", f"unknown industry {rules.construction_industry!r}")


def _units(cat: Catalogue) -> Iterator[Problem]:
    for unit in cat.gazetteer:
        if unit not in cat.units:
            yield Problem(f"gazetteer.{unit}", f"unknown unit {unit!r}")
    seen: dict[str, str] = {}
    if cat.divisions is not None:
        for unit, places in cat.divisions.units.items():
            if unit not in cat.units:
                yield Problem(f"divisions.units.{unit}", f"unknown unit {unit!r}")
            seen.update((place, unit) for place in places)
        seen.update((place, "outside") for place in cat.divisions.outside)
    for unit, places in cat.gazetteer.items():
        for i, place in enumerate(places):
            other = seen.setdefault(place, unit)
            if other != unit:
                yield Problem(
                    f"gazetteer.{unit}[{i}]", f"place {place!r} is already mapped to unit {other!r}"
                )


def _aliases(cat: Catalogue) -> Iterator[Problem]:
    # An alias naming two subjects would make classification depend on dictionary order.
    owner: dict[str, str] = {}
    listed = [(f"industries.{c}", i.aliases) for c, i in cat.industries.items()]
    listed += [(f"industries.{c}.goods", i.goods) for c, i in cat.industries.items()]
    listed += [(f"matters.{c}", m.aliases) for c, m in cat.matters.items()]
    for base, aliases in listed:
        for i, alias in enumerate(aliases):
            path = f"{base}.aliases[{i}]"
            prev = owner.setdefault(alias.w, path)
            if prev != path:
                yield Problem(path, f"alias {alias.w!r} is already used at {prev}")
            yield from _alias_flags(path, alias)


def _alias_flags(path: str, alias: Alias) -> Iterator[Problem]:
    if alias.size is not None and alias.size not in SIZES:
        yield Problem(f"{path}.size", f"size must be one of {sorted(SIZES)}")


def _industries(cat: Catalogue) -> Iterator[Problem]:
    for code, ind in cat.industries.items():
        base = f"industries.{code}"
        for i, step in enumerate(ind.prerequisites):
            yield from _dept(cat, f"{base}.prerequisites[{i}].department", step.department)
        if not ind.fire:
            yield Problem(f"{base}.fire", "names no fire supervisor")
        for size, dept in ind.fire.items():
            if size not in SIZES:
                yield Problem(f"{base}.fire.{size}", f"venue size must be one of {sorted(SIZES)}")
            yield from _dept(cat, f"{base}.fire.{size}", dept)
        for key in ind.hazard_factor:
            if key not in HAZARDS:
                yield Problem(f"{base}.hazard_factor.{key}", f"must be one of {sorted(HAZARDS)}")
        if ind.competent is not None:
            yield from _dept(cat, f"{base}.competent", ind.competent)
        if ind.licensed_safety_regulator is not None:
            yield from _dept(cat, f"{base}.licensed_safety_regulator", ind.licensed_safety_regulator)


def _matters(cat: Catalogue) -> Iterator[Problem]:
    for code, matter in cat.matters.items():
        base = f"matters.{code}"
        yield from _dept(cat, f"{base}.department", matter.department)
        for ind, dept in matter.by_industry.items():
            if ind not in cat.industries:
                yield Problem(f"{base}.by_industry.{ind}", f"unknown industry {ind!r}")
            yield from _dept(cat, f"{base}.by_industry.{ind}", dept)
        if matter.safety_regulator is not None:
            yield from _dept(cat, f"{base}.safety_regulator", matter.safety_regulator)
        if matter.implies_hazard is not None and matter.implies_hazard not in HAZARDS:
            yield Problem(f"{base}.implies_hazard", f"must be one of {sorted(HAZARDS)}")
        for ind in matter.context:
            if ind not in cat.industries:
                yield Problem(f"{base}.context.{ind}", f"unknown industry {ind!r}")
        for other in matter.absorbs:
            if other not in cat.matters or other == code:
                yield Problem(f"{base}.absorbs", f"unknown matter {other!r}")
        if code in cat.industries:
            yield Problem(base, f"code {code!r} is both an industry and a matter")


def _rulings(cat: Catalogue) -> Iterator[Problem]:
    seen: set[str] = set()
    for i, ruling in enumerate(cat.rulings):
        base = f"rulings[{i}]"
        if ruling.id in seen:
            yield Problem(f"{base}.id", f"ruling id {ruling.id!r} is used twice")
        seen.add(ruling.id)
        yield from _dept(cat, f"{base}.lead", ruling.lead)
        for j, code in enumerate(ruling.cooperating):
            yield from _dept(cat, f"{base}.cooperating[{j}]", code)
        if ruling.lead in ruling.cooperating:
            yield Problem(f"{base}.cooperating", "the lead cannot also be a cooperating department")
        for j, unit in enumerate(ruling.match.units):
            if unit not in cat.units:
                yield Problem(f"{base}.match.units[{j}]", f"unknown unit {unit!r}")
