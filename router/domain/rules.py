"""ROUTING.md §5: rules R1-R10, first match wins; department names come from the catalogue."""

from __future__ import annotations

import re
from typing import Final

from router.domain.classify import Classification
from router.domain.compiled import CompiledCatalogue
from router.domain.rounding import round3
from schemas.decision import Rule
from schemas.report import Hazard

HAZARD_RULES: Final = frozenset({Rule.R1, Rule.R2, Rule.R3, Rule.R4, Rule.R5})
NAMED_TRADE: Final = 0.5  # the confidence of one plain word naming a trade: below it the trade is only guessed

# Enum members as globals: Enum attribute lookups are slow.
_NONE: Final = Hazard.none
_FIRE: Final = Hazard.fire
_SAFETY: Final = Hazard.safety
# Rooms let or lived in (租给外地人, 住的都是打工的): people's homes whatever they are built of.
_LIVED_IN: Final = re.compile("租给|租出去|出租|住人|住着|住的|住了")


class Route:
    """A rule's verdict before unit-bound departments are bound to a unit.

    A plain class, not a dataclass: compiled, a dataclass is built by its generated Python __init__, and a
    decision builds a route for every reading of the report."""

    __slots__ = ("cc", "confidence", "cooperating", "joint", "name", "primary", "rule")

    def __init__(self, rule: Rule, name: str, primary: str, confidence: float, cooperating: list[str] | None = None,
                 cc: list[str] | None = None, joint: bool = False) -> None:
        self.rule = rule
        self.name = name
        self.primary = primary
        self.confidence = confidence
        self.cooperating: list[str] = [] if cooperating is None else cooperating
        self.cc: list[str] = [] if cc is None else cc
        self.joint = joint


def fire_supervisor(c: Classification, cc: CompiledCatalogue) -> str:
    """Who supervises fire safety at the reported venue (police for small and residential, else brigade)."""
    rules = cc.rules
    # 楼顶搭了几间铁皮房租给人住: what was built is a home once people live in it (a site where work goes on is not).
    building_homes = (c.industry == rules.construction_industry and c.homes_plainly
                      and _LIVED_IN.search(c.text) is not None)
    # 我们这边厂子多，村里出租房…: a trade guessed from a passing word, or known only by its goods (油漆、稀料 stacked
    # in a stairwell), yields to homes plainly described.
    if c.industry is not None and not building_homes and (
            (c.industry_conf >= 0.5 and c.premises_named) or not c.homes_plainly):
        fire = cc.industries[c.industry].fire
        size = c.size or ("small" if "small" in fire else "large")
        if size == "small" and c.residential and rules.residential_fire in fire.values():
            return rules.residential_fire
        if size in fire:
            return fire[size]
        # A trade the catalogue gives one fire supervisor keeps it whatever the text says of its own premises
        # (ROUTING §8: the size decides only where the table names a supervisor by size), unless the premises
        # sit in a public building, which is the brigade's (ROUTING §2).
        return rules.fire_brigade if c.public_building else next(iter(fire.values()))
    if c.size == "large":
        return rules.fire_brigade
    if c.residential or c.size == "small":
        return rules.residential_fire
    return rules.fire_brigade


def _approvers(c: Classification, cc: CompiledCatalogue) -> list[str]:
    if c.industry is None:
        return [cc.rules.business_licensing]
    chain = list(cc.industry_departments[c.industry])
    competent = cc.industries[c.industry].competent
    if competent and competent not in chain:
        chain.append(competent)
    return chain or [cc.rules.business_licensing]


def _hazard_route(c: Classification, cc: CompiledCatalogue) -> Route | None:
    rules = cc.rules
    conf = c.hazard_conf
    if c.hazard is _FIRE:
        dept = fire_supervisor(c, cc)
        if dept == rules.residential_fire:
            return Route(Rule.R1, "fire-small", dept, conf)
        return Route(Rule.R2, "fire", dept, conf)
    if c.hazard is not _SAFETY:
        return None
    local = [rules.local_team]  # after the returns above: most reports name no safety hazard
    if c.licensed is False:
        conf = min(conf, c.licence_conf)
        return Route(Rule.R3, "safety-unlicensed", rules.safety_office, conf, [*_approvers(c, cc), *local])
    regulator = None
    if c.matter is not None:
        regulator = cc.matters[c.matter].safety_regulator
    if regulator is None and c.industry is not None and c.licensed is True and c.premises_named:
        # A licensed chemicals business is emergency's; a licensed pool or factory that keeps chemicals is not.
        regulator = cc.industries[c.industry].licensed_safety_regulator
    if regulator is not None:
        return Route(Rule.R4, "safety-regulated", regulator, conf, local, [rules.safety_office])
    return Route(Rule.R5, "safety", rules.safety_office, conf, local)


def _licence_route(c: Classification, cc: CompiledCatalogue) -> Route | None:
    if c.licensed is not False or c.industry is None or not c.licence_is_main:
        return None
    rules = cc.rules
    conf = min(c.industry_conf, c.licence_conf)
    if c.industry == rules.construction_industry:
        return Route(
            Rule.R6,
            "unlicensed-construction",
            rules.construction_primary,
            conf,
            list(rules.construction_cooperating),
            joint=True,
        )
    chain = cc.industry_departments[c.industry]
    if not chain:
        return Route(Rule.R8, "unlicensed-plain", rules.business_licensing, conf)
    return prerequisite_route(chain, conf, cc)


def prerequisite_route(chain: tuple[str, ...], confidence: float, cc: CompiledCatalogue) -> Route:
    """R7 along a trade's chain of approvers: the first leads, the others cooperate, with the local team when there
    is more than one (joint enforcement), and business licensing is told."""
    rules = cc.rules
    joint = len(chain) > 1
    coop = list(chain[1:]) + ([rules.local_team] if joint else [])
    cc_list = [rules.business_licensing] if rules.business_licensing not in chain else []
    return Route(Rule.R7, "unlicensed-prereq", chain[0], confidence, coop, cc_list, joint=joint)


def _matter_route(c: Classification, cc: CompiledCatalogue) -> Route | None:
    if c.matter is None:
        return None
    matter = cc.matters[c.matter]
    # 给孩子办的游泳次卡: a trade guessed from a passing word does not move a matter to that trade's department
    trade = c.industry if c.industry_conf >= NAMED_TRADE else None
    dept = matter.by_industry.get(trade or "", matter.department)
    return Route(Rule.R9, "matter", dept, c.matter_conf)


def gap_route(c: Classification, cc: CompiledCatalogue, confidence: float) -> Route:
    """R10: the adjudication queue, or the safety office when any safety cue was seen."""
    rules = cc.rules
    dept = rules.gap_safety if c.safety_cue or c.hazard is not _NONE else rules.gap_adjudicator
    return Route(Rule.R10, "gap", dept, confidence)


def first_match(c: Classification, cc: CompiledCatalogue) -> Route | None:
    """The first of R1-R9 that applies, or None (R10)."""
    return _hazard_route(c, cc) or _licence_route(c, cc) or _matter_route(c, cc)


def route(c: Classification, cc: CompiledCatalogue) -> tuple[Route, Route | None]:
    """(the route, the rule it replaced when confidence fell below the threshold)."""
    found = first_match(c, cc)
    threshold = cc.settings.confidence_threshold
    if found is None:
        return gap_route(c, cc, 0.5), None
    if found.confidence < threshold:
        return gap_route(c, cc, round3(1.0 - found.confidence)), found
    return found, None
