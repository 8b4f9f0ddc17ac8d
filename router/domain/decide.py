"""decide(report, compiled catalogue) -> Decision: classification, rules, unit binding, alternatives."""

from __future__ import annotations

from typing import Final

from catalogue.binding import bound
from catalogue.rulings import RULING, ruling_evidence
from router.domain.build import check_trusted, trusted
from router.domain.classify import STRUCTURED, Classification, classify
from router.domain.compiled import CompiledCatalogue
from router.domain.rescue import STRONG, Opinion, backs, department_of, doubts, label_of, sends
from router.domain.rounding import round3
from router.domain.rules import HAZARD_RULES, Route, first_match, gap_route, prerequisite_route, route
from router.domain.rulings import RulingMatch, matching_ruling
from schemas.decision import Candidate, Decision, DecisionStatus, Evidence, Rule
from schemas.report import Facts, Hazard, Report

ALT_DISCOUNT: Final = 0.6  # an alternative view is less likely than the one chosen
for _model in (Decision, Evidence, Candidate):
    check_trusted(_model)

# Enum members as globals: Enum attribute lookups are slow.
_NONE: Final = Hazard.none
_FIRE: Final = Hazard.fire
_SAFETY: Final = Hazard.safety
_GAP: Final = DecisionStatus.gap
_ROUTED: Final = DecisionStatus.routed
_R10: Final = Rule.R10
_LICENCE_RULES: Final = frozenset({Rule.R6, Rule.R7, Rule.R8})  # with the hazard rules, feedback goes wider too


class _Binder:
    """Replaces {unit} in department codes, or the template's district fallback when no unit is known."""

    __slots__ = ("fell_back", "table", "unknown")

    def __init__(self, unit: str | None, compiled: CompiledCatalogue) -> None:
        # Bound codes are precomputed per unit at compile time: binding is one dict lookup.
        self.unknown = unit is None
        self.table = compiled.fallbacks if unit is None else compiled.bindings.get(unit) or _bind_table(unit, compiled)
        self.fell_back = False

    def one(self, code: str) -> str:  # not __call__: compiled, calling an instance is a call through Python
        bound = self.table.get(code)
        if bound is None:
            return code
        if self.unknown:
            self.fell_back = True
        return bound

    def many(self, codes: list[str], exclude: set[str]) -> list[str]:
        out: list[str] = []
        for code in codes:
            bound = self.one(code)
            if bound not in exclude and bound not in out:
                out.append(bound)
        return out


def _bind_table(unit: str, compiled: CompiledCatalogue) -> dict[str, str]:
    return {template: bound(template, unit) for template in compiled.fallbacks}


def _alternative_routes(c: Classification, compiled: CompiledCatalogue, keep: str | None = None,
                        given: Facts | None = None, drop_hazard: bool = True) -> list[Route | None]:
    """Routes under the other readings of the report, each differing from `c` in a field or two. With `keep` (a
    rescue-model label), stops at the first reading whose route it names and leaves `c` read that way, or gives
    none; a reading against what the report's structured `given` facts or category say is never kept, nor one
    without the hazard the rules found unless `drop_hazard`."""
    # Each reading is applied to `c` in place and undone (c is this call's own): cloning the
    # classification for every reading cost more than the rules themselves.
    hazard, residential, size, matter = c.hazard, c.residential, c.size, c.matter
    main, industry, licensed = c.licence_is_main, c.industry, c.licensed
    out: list[Route | None] = []
    kept = False
    try:
        if hazard is _FIRE:
            c.residential, c.size = not residential, "small" if size == "large" else "large"
            out.append(first_match(c, compiled))
            if kept := _names(out[-1], keep) and (given is None or given.venue_size is None):
                return out
            c.residential, c.size = residential, size
        if hazard is not _NONE:
            c.hazard = _NONE
            out.append(first_match(c, compiled))
            if kept := _names(out[-1], keep) and (given is None or given.hazard is None) and drop_hazard:
                return out
            c.hazard = hazard
        elif c.near_hazard:
            # A safety concern or a cue short of a hazard (怕出事, 晃): the same report with a safety hazard is a
            # reading the rules came close to.
            c.hazard = _SAFETY
            out.append(first_match(c, compiled))
            if kept := _names(out[-1], keep) and (given is None or given.hazard is None):
                return out
            c.hazard = hazard
        if c.runner_up_matter:
            c.matter, c.hazard, c.licence_is_main = c.runner_up_matter, _NONE, False
            out.append(first_match(c, compiled))
            # A matter or trade at full confidence came from the report's category or facts.
            if kept := _names(out[-1], keep) and (given is None or given.hazard is None) and c.matter_conf < 1.0:
                return out
            c.matter, c.hazard, c.licence_is_main = matter, hazard, main
        if c.runner_up_industry:
            c.industry = c.runner_up_industry
            out.append(first_match(c, compiled))
            if kept := _names(out[-1], keep) and c.industry_conf < 1.0:
                return out
            c.industry = industry
        if licensed is False:
            c.licensed = None
            out.append(first_match(c, compiled))
            kept = _names(out[-1], keep) and (given is None or given.licensed is None)
    finally:
        if not kept:
            c.hazard, c.residential, c.size, c.matter = hazard, residential, size, matter
            c.licence_is_main, c.industry, c.licensed = main, industry, licensed
    return out if keep is None or kept else []


def _names(route: Route | None, label: str | None) -> bool:
    return label is not None and route is not None and label_of(route.rule, route.primary) == label


def _alternatives(
    c: Classification,
    compiled: CompiledCatalogue,
    chosen: Route,
    replaced: Route | None,
    bind: _Binder,
    primary: str,
) -> list[Candidate]:
    found: dict[str, tuple[float, Rule]] = {}  # department -> (score, rule); models built once at the end
    offers: list[tuple[Route | None, float]] = [(replaced, 1.0)] if replaced is not None else []
    offers += [(r, ALT_DISCOUNT) for r in _alternative_routes(c, compiled)]
    for r, factor in offers:
        if r is None:
            continue
        base = r.confidence * factor
        rank = 0
        for dept in (r.primary, *r.cooperating):
            code = bind.one(dept)
            score = round3(base if rank == 0 else base * 0.5)
            rank = 1
            if code != primary and (code not in found or found[code][0] < score):
                found[code] = (score, r.rule)
    gap = compiled.rules.gap_adjudicator  # R10 is always the last resort, at a fifth of the weight
    gap_score = round3(chosen.confidence * 0.2)
    code = bind.one(gap)
    if code != primary and (code not in found or found[code][0] < gap_score):
        found[code] = (gap_score, _R10)
    ranked = sorted(found.items(), key=lambda kv: -kv[1][0])
    return [trusted(Candidate, {"department": d, "rule": rule, "score": score}) for d, (score, rule) in ranked]


def _ruled(text: str, c: Classification, compiled: CompiledCatalogue) -> tuple[Route, RulingMatch] | None:
    """A saved ruling that covers a report R1-R9 left to R10 (only then: rulings close gaps, nothing else)."""
    if not compiled.rulings:
        return None
    found = matching_ruling(text, c.unit, compiled.rulings)
    if found is None:
        return None
    ruling = found.ruling
    confidence = round3(0.5 + 0.5 * len(found.words) / len(ruling.match.terms))
    route_ = Route(RULING, ruling.id, ruling.lead, confidence, list(ruling.cooperating), joint=bool(ruling.cooperating))
    return route_, found


_NAMED: Final = {Rule.R1: "fire-small", Rule.R2: "fire", Rule.R3: "safety-unlicensed", Rule.R4: "safety-regulated",
                  Rule.R5: "safety", Rule.R6: "unlicensed-construction", Rule.R7: "unlicensed-prereq",
                  Rule.R8: "unlicensed-plain", Rule.R9: "matter", Rule.R10: "gap"}


LICENCE_PLAIN: Final = 0.75  # two licence cues, or one that weighs double: the text plainly says it


def _route_named(label: str, c: Classification, compiled: CompiledCatalogue, given: Facts) -> Route | None:
    """The route a rescue-model label names when no reading of the report gives it: the label's rule to its
    department, with the rule's usual companions, and `c`'s hazard and licence read as that rule has them; none
    when that reading is against the report's structured facts or the matter its category names."""
    rules = compiled.rules
    rule = Rule(label.split(" ", 1)[0])
    hazard = _FIRE if rule in (Rule.R1, Rule.R2) else _SAFETY if rule in HAZARD_RULES else _NONE
    unlicensed = rule in (Rule.R3, Rule.R6, Rule.R7, Rule.R8)
    primary = department_of(label)
    if ((given.hazard is not None and given.hazard is not hazard) or (unlicensed and given.licensed is True)
            or (rule is Rule.R9 and c.matter is not None and c.matter_conf >= STRUCTURED
                and compiled.matters[c.matter].department != primary)):
        return None  # what the report's structured fields say is not second-guessed by a model with no reading
    if (rule is Rule.R4 and c.licensed is False and c.licence_conf >= LICENCE_PLAIN
            and any(ind.licensed_safety_regulator == primary for ind in compiled.industries.values())):
        return None  # a licensed firm's regulator (R4) for a report that plainly says it has no licence (R3 first)
    local = [rules.local_team]
    confidence = compiled.settings.confidence_threshold  # what the rules lacked, the model vouches for: no more
    c.hazard = hazard
    if unlicensed:
        c.licensed = False
    if rule is Rule.R3 or rule is Rule.R5:
        return Route(rule, _NAMED[rule], primary, confidence, local)
    if rule is Rule.R4:
        return Route(rule, _NAMED[rule], primary, confidence, local, [rules.safety_office])
    if rule is Rule.R6:
        return Route(rule, _NAMED[rule], primary, confidence, list(rules.construction_cooperating), joint=True)
    if rule is Rule.R7:
        # The chain of the trade read from the report, or of its runner-up, when it starts at the department named.
        chains = (compiled.industry_departments.get(trade or "", ()) for trade in (c.industry, c.runner_up_industry))
        return prerequisite_route(next((ch for ch in chains if ch and ch[0] == primary), (primary,)), confidence,
                                  compiled)
    return Route(rule, _NAMED[rule], primary, confidence)


def _reading_named(label: str, c: Classification, compiled: CompiledCatalogue, given: Facts,
                   drop_hazard: bool = True) -> Route | None:
    """The route under another reading of the report (the runner-up matter, no hazard...) that `label` names; `c`
    is left read that way, so the decision's hazard and matter agree with its rule. A grid worker's structured
    facts (venue_size, hazard...) are not read otherwise, nor the hazard the rules found unless `drop_hazard`."""
    found = _alternative_routes(c, compiled, keep=label, given=given, drop_hazard=drop_hazard)
    return found[-1] if found else None


def _rescue_evidence(backed: Opinion, chosen: Route) -> Evidence:
    what = (f"learnt from labelled reports: {chosen.rule} at {backed.probability:.2f} "
            f"(the rule alone was at {chosen.confidence:.2f})")
    return trusted(Evidence, {"kind": "model", "what": what, "source": "rescue model", "words": backed.words})


def _sure_evidence(sure: Opinion) -> Evidence:
    what = (f"learnt from labelled reports: {sure.label} at {sure.probability:.2f}, {sure.margin:.0f} ahead of the "
            f"next in log-probability (no rule was sure enough)")
    return trusted(Evidence, {"kind": "model", "what": what, "source": "rescue model", "words": sure.words})


def _doubt_evidence(doubted: Opinion) -> Evidence:
    what = f"learnt from labelled reports: {doubted.label} at {doubted.probability:.2f}, against the rule"
    return trusted(Evidence, {"kind": "model", "what": what, "source": "rescue model", "words": doubted.words})


def _ruling_evidence(found: RulingMatch) -> Evidence:
    what = ruling_evidence(found.ruling)
    return trusted(Evidence, {"kind": "ruling", "what": what, "source": "catalogue", "words": found.words})


def decide(report: Report, compiled: CompiledCatalogue) -> Decision:
    """Route one report: which department, by which rule, how sure, and why (pure). (`compiled` is the catalogue;
    the departments in copy are a route's `cc`.)"""
    c = classify(report, compiled)
    chosen, replaced = route(c, compiled)
    bind = _Binder(c.unit, compiled)
    ruled = backed = doubted = sure = None
    if chosen.rule is not _R10 and compiled.rescue is not None:
        # The model learnt some reports without a unit: R1 police-{unit} is then R1 to the district's fire-brigade.
        fallback = compiled.fallbacks.get(chosen.primary, chosen.primary)
        primary = bind.one(chosen.primary)
        doubted = doubts(compiled.rescue, c.text, chosen.confidence, (chosen.primary, primary), chosen.rule, fallback)
        if doubted is not None and bind.table.get(department_of(doubted.label)) == primary:
            doubted = None  # R1 police-{unit} and R2 fire-brigade, no unit known: the same brigade receives it
        if doubted is not None:
            # Reading away a hazard the rules found takes a sure model: short of it, the model was as often wrong
            # as right (13 right, 11 wrong on 6,700 reports, read and unread, in the eighth session).
            other = _reading_named(doubted.label, c, compiled, report.facts, doubted.margin >= STRONG)
            if other is None and doubted.margin >= STRONG:  # no reading names it, but the model is sure
                other = _route_named(doubted.label, c, compiled, report.facts)
                sure = doubted if other is not None else None
            if sure is not None and other is not None:
                doubted, chosen = None, other
            elif other is not None:  # a half-sure rule, and the learnt model backs another reading of the report
                backed, doubted, chosen = doubted, None, other
            else:  # a half-sure rule the learnt model contradicts with no reading of its own: a human decides
                chosen, replaced = gap_route(c, compiled, chosen.confidence), chosen
    elif chosen.rule is _R10:
        text = c.text
        ruled = _ruled(text, c, compiled)
        if ruled is not None:  # a ruling that covers the report comes before any model
            chosen = ruled[0]
        elif compiled.rescue is not None:
            if replaced is not None:
                backed = backs(compiled.rescue, text, replaced.rule, replaced.primary)
            if backed is not None and replaced is not None:  # the model backs the rule that was not sure enough
                chosen, replaced = replaced, None
            else:
                sure = sends(compiled.rescue, text)
                sent = None if sure is None else (_reading_named(sure.label, c, compiled, report.facts)
                                                  or _route_named(sure.label, c, compiled, report.facts))
                if sent is not None:  # left to a human by the rules, sent by a model that is sure of it
                    chosen, replaced = sent, None
                else:
                    sure = None
    primary = bind.one(chosen.primary)
    cooperating = bind.many(chosen.cooperating, {primary})
    copied = bind.many(chosen.cc, {primary, *cooperating})
    feedback = [compiled.rules.local_team]
    if chosen.rule in HAZARD_RULES or chosen.rule in _LICENCE_RULES:
        feedback += compiled.rules.feedback_also
    feedback_to = bind.many(feedback, set())
    settings = compiled.settings
    if chosen.rule is _R10:
        deadline = settings.deadlines.gap
    else:
        deadline = settings.deadlines.joint if chosen.joint else settings.deadlines.standard
    evidence = [
        *c.evidence,
        *([_ruling_evidence(ruled[1])] if ruled is not None else []),
        *([_rescue_evidence(backed, chosen)] if backed is not None else []),
        *([_sure_evidence(sure)] if sure is not None else []),
        *([_doubt_evidence(doubted)] if doubted is not None else []),
        trusted(Evidence, {"kind": "rule", "what": f"{chosen.rule} {chosen.name}", "source": "router", "words": []}),
    ]
    alternatives = _alternatives(c, compiled, chosen, replaced, bind, primary)
    if replaced is not None:
        # Held for a human rather than sent where it would likely come back: the adjudicator sees the two
        # departments the router hesitated between.
        best = [f"{a.department} ({a.rule} {a.score:.2f})" for a in alternatives[:2]]
        evidence.append(trusted(Evidence, {
            "kind": "rule", "what": f"low confidence: {replaced.rule} at {replaced.confidence:.2f}",
            "source": "router", "words": best}))
    return trusted(
        Decision,
        {
            "external_id": report.external_id,
            "status": _GAP if chosen.rule is _R10 else _ROUTED,
            "rule": chosen.rule,
            "primary": primary,
            "cooperating": cooperating,
            "cc": copied,
            "feedback_to": feedback_to,
            "deadline_days": deadline,
            "ack_hours": settings.ack_hours.hazard if chosen.rule in HAZARD_RULES else settings.ack_hours.default,
            "hazard": c.hazard,
            "industry": c.industry,
            "matter": c.matter,
            "licensed": c.licensed,
            "unit": c.unit,
            "unit_fallback": bind.fell_back,
            "confidence": round3(min(max(chosen.confidence, 0.0), 1.0)),
            "evidence": evidence,
            "alternatives": alternatives,
            "related": c.related,
            "duplicate_of": None,
            "catalogue_version": compiled.catalogue.version,
            "subject": None,  # the router's handler names it (router.domain.subjects), with its tier
        },
    )
