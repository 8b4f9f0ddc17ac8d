"""A catalogue compiled once per version: Aho-Corasick automata over UTF-8 bytes of every word, plus indexes."""

from __future__ import annotations

from dataclasses import dataclass, field
from threading import Lock
from typing import Final

from catalogue.binding import bindings, fallbacks
from catalogue.model import Alias, Catalogue, Industry, Matter, Rules, Settings
from router.domain.lexicon import (
    CUE_KINDS,
    GOODS,
    HAZARD_KINDS,
    LICENCE_KINDS,
    Builder,
    CueHit,
    K,
    LexiconValue,
    Payload,
    SubjectHit,
    WordValue,
    bits,
)
from router.domain.passes import Passes
from router.domain.rescue import RescueModel
from router.domain.rulings import CompiledRuling, compile_rulings

__all__ = [
    "CUE_KINDS",
    "HAZARD_KINDS",
    "LICENCE_KINDS",
    "CompiledCatalogue",
    "CueHit",
    "K",
    "LexiconValue",
    "Payload",
    "SubjectHit",
    "WordValue",
    "bits",
    "compile_catalogue",
    "compile_uncached",
]


@dataclass(frozen=True, slots=True)
class CompiledCatalogue:
    """Everything decide() needs, precomputed; immutable so replicas can share it across threads."""

    catalogue: Catalogue
    # The passes of the three automata, in C when it is built (passes.Passes); each keeps its pyahocorasick
    # automaton too, for what else asks it (suggest: whether a word is known).
    words: Passes
    place_names: Passes
    venue_names: Passes  # scanned with overlaps: 楼道 still counts inside 楼道堆放
    unit_names: dict[str, str]
    # The catalogue's parts a decision reads most, held here: compiled, reading a field of this class is a load,
    # and reading one of a pydantic model goes through its __getattr__ hook (sixty of them made a decision).
    rules: Rules
    settings: Settings
    matters: dict[str, Matter]
    industries: dict[str, Industry]
    industry_departments: dict[str, tuple[str, ...]] = field(default_factory=dict)
    fallbacks: dict[str, str] = field(default_factory=dict)  # per-unit template -> district fallback
    bindings: dict[str, dict[str, str]] = field(default_factory=dict)  # unit -> template -> bound code
    rulings: tuple[CompiledRuling, ...] = ()  # newest first
    rescue: RescueModel | None = None  # the catalogue's learnt second opinion, if it has one

    @property
    def version(self) -> str:
        return self.catalogue.version




def _lexicon(cat: Catalogue) -> Passes:
    b = Builder(cat.spelling)
    owners: dict[str, int] = {}
    for ind in cat.industries.values():
        for p in ind.prerequisites:
            owners[p.name] = owners.get(p.name, 0) + 1
    for code, ind in cat.industries.items():
        b.add(ind.aliases, K.INDUSTRY, code)
        b.add(ind.goods, K.INDUSTRY, code, ctx=GOODS)
        # Licence names are licence nouns too, and hint at the trade: fully when only one trade needs that
        # licence (办学许可 is a school's), weakly when several share it (公共场所卫生许可).
        names = [Alias(w=p.name, weight=1.0 if owners[p.name] == 1 else 0.4) for p in ind.prerequisites]
        b.add(names, K.INDUSTRY, code)
        b.add(names, K.NOUN)
    for code, matter in cat.matters.items():
        b.add(matter.aliases, K.MATTER, code)
        for ind_code, words in matter.context.items():
            b.add(words, K.CONTEXT, code, ctx=ind_code)
    cues = cat.cues
    groups: list[tuple[list[Alias], K]] = [
        (cues.fire.words, K.FIRE),
        (cues.fire.equipment, K.FIRE_EQUIP),
        (cues.fire.weak, K.WEAK),
        (cues.fire.exclusions, K.FIRE_VETO),
        (cues.fire.blocking, K.BLOCKING),
        (cues.fire.egress, K.EGRESS),
        (cues.safety.words, K.SAFETY),
        (cues.safety.equipment, K.SAFETY_EQUIP),
        (cues.safety.weak, K.WEAK),
        (cues.safety.exclusions, K.SAFETY_VETO),
        (cues.licence.unlicensed, K.UNLICENSED),
        (cues.licence.licensed, K.LICENSED),
        (cues.licence.nouns, K.NOUN),
        (cues.licence.negations_before, K.NEG_BEFORE),
        (cues.licence.negations_after, K.NEG_AFTER),
        (cues.licence.possession, K.HOLD),
        (cues.licence.persons, K.PERSON),
        (cues.licence.anomalous, K.ANOMALOUS),
        (cues.ignition, K.IGNITION),
        (cues.fuel, K.FUEL),
        (cues.negations, K.NEG),
        (cues.neutral, K.NEUTRAL),
        (cues.background, K.BACKGROUND),
        (cues.background_turn, K.TURN),
        (cues.in_order, K.IN_ORDER),
        (cues.exposure, K.EXPOSURE),
        (cues.unseen, K.UNSEEN),
        (cues.construction.ongoing, K.ONGOING),
        (cues.construction.finished, K.FINISHED),
    ]
    for aliases, kind in groups:
        b.add(aliases, kind)
    _after_adverbs(b)
    _joined_across_cues(b)
    # Venue words shadow the aliases inside them (自建房 is not 建房) in the exclusive scan.
    venue = cues.venue
    b.add((a for a in [*venue.large, *venue.public, *venue.small, *venue.residential] if a.w not in b.words), K.NEUTRAL)
    return b.lexicon_automaton()


# 绳子都没系, 也没办: an adverb before a negated cue would otherwise match as the negation 都没 (the scan takes the
# longest word at each place, so the cue inside would be lost). Each negated cue is also known after them.
_ADVERBS: Final = ("都", "也", "还", "都还", "并", "根本", "从来")
_NEGATION_STARTS: Final = ("没", "未", "不", "无")
_ADVERB_KINDS: Final = frozenset({K.FIRE, K.SAFETY, K.WEAK, K.UNLICENSED, K.UNSEEN, K.ONGOING, K.FINISHED})


def _after_adverbs(b: Builder) -> None:
    for word, payloads in list(b.words.items()):
        if word.startswith(_NEGATION_STARTS) and any(p[0] in _ADVERB_KINDS for p in payloads):
            for adverb in _ADVERBS:
                bucket = b.words.setdefault(adverb + word, [])
                bucket += [p for p in payloads if p not in bucket]


# 瓶装液化气供应点: the scan takes the longest word at each place, so a trade or matter word that starts inside a
# hazard or licence word and runs past it would be lost. Each such overlap is also known as one word carrying
# both. Only strong subject words are joined: a vague one (孩子, 包装) lost this way is no loss.
JOIN_MIN_WEIGHT: Final = 0.8
_SUBJECT_KINDS: Final = frozenset({K.INDUSTRY, K.MATTER})
_STAGE_KINDS: Final = frozenset({K.ONGOING, K.FINISHED})


def _joined_across_cues(b: Builder) -> None:
    by_head: dict[str, list[str]] = {}
    for word, payloads in b.words.items():
        if len(word) >= 2 and any(p[0] in _SUBJECT_KINDS and p[2] >= JOIN_MIN_WEIGHT for p in payloads):
            for k in range(1, len(word)):
                by_head.setdefault(word[:k], []).append(word)
    for word, payloads in list(b.words.items()):
        if any(p[0] in _SUBJECT_KINDS for p in payloads):
            continue
        # One shared character is a coincidence between most words, but not after a word of work going on
        # (在砌|砌墙, 正在浇|浇水泥): there the verb it ends with starts the trade word.
        shortest = 1 if any(p[0] in _STAGE_KINDS for p in payloads) else 2
        for k in range(shortest, len(word)):
            for subject in by_head.get(word[-k:], ()):
                joined = word + subject[k:]
                if joined not in b.words:
                    b.words[joined] = [*payloads, *b.words[subject]]


def _venues(cat: Catalogue) -> Passes:
    b = Builder(cat.spelling)
    venue = cat.cues.venue
    b.add(venue.large, K.LARGE)
    b.add(venue.public, K.PUBLIC)
    b.add(venue.small, K.SMALL)
    b.add(venue.residential, K.RESIDENTIAL)
    return b.automaton()


# Words after a unit's short name that make it a place: 南门这边, 我们鼓楼这里.
PLACE_CONTEXT: Final = ("这边", "那边", "这里", "那里", "这块", "那块", "一带", "附近", "片区", "街道")
OUTSIDE: Final = ""  # the unit of a place that lies in the district but in none of the catalogue's units


def _places(cat: Catalogue) -> Passes:
    b = Builder(cat.spelling)
    for code, unit in cat.units.items():
        # The full name outranks aliases and gazetteer places when an address names both.
        b.add([Alias(w=unit.name, weight=3.0)], K.PLACE, code)
        b.add((Alias(w=a.w, weight=2.0) for a in unit.aliases), K.PLACE, code)
        # The short name said as a place (南门这边), not a compass word at a gate (小区南门口): ROUTING §8.
        short = unit.name.removesuffix("街道").removesuffix("镇").removesuffix("乡")
        if len(short) >= 2 and short != unit.name:
            b.add((Alias(w=short + ctx, weight=2.0) for ctx in PLACE_CONTEXT), K.PLACE, code)
    for code, places in cat.gazetteer.items():
        b.add((Alias(w=p) for p in places), K.PLACE, code)
    if cat.divisions is not None:
        for code, places in cat.divisions.units.items():
            b.add((Alias(w=p) for p in places), K.PLACE, code)
        # A place of the district outside the catalogue's units: found, and so no unit (target "").
        b.add((Alias(w=p) for p in cat.divisions.outside), K.PLACE, OUTSIDE)
    return b.automaton()


def _industry_departments(cat: Catalogue) -> dict[str, tuple[str, ...]]:
    out: dict[str, tuple[str, ...]] = {}
    for code, ind in cat.industries.items():
        chain = [p.department for p in ind.prerequisites if p.department]
        out[code] = tuple(dict.fromkeys(chain))
    return out


def compile_uncached(cat: Catalogue, rescue: RescueModel | None = None) -> CompiledCatalogue:
    """Build the compiled form; prefer compile_catalogue, which does this once per version."""
    words, place_names, venue_names = _lexicon(cat), _places(cat), _venues(cat)
    return CompiledCatalogue(
        catalogue=cat,
        words=words,
        place_names=place_names,
        venue_names=venue_names,
        unit_names={code: unit.name for code, unit in cat.units.items()},
        rules=cat.rules,
        settings=cat.settings,
        matters=cat.matters,
        industries=cat.industries,
        industry_departments=_industry_departments(cat),
        fallbacks=fallbacks(cat),
        bindings=bindings(cat),
        rulings=compile_rulings(cat),
        rescue=rescue,
    )


_CACHE: dict[tuple[str, str, int], CompiledCatalogue] = {}
_LOCK: Final = Lock()


def compile_catalogue(cat: Catalogue, rescue: RescueModel | None = None) -> CompiledCatalogue:
    """The compiled form of a catalogue, built once per (district, version, model) and shared afterwards."""
    key = (cat.district, cat.version, id(rescue))
    with _LOCK:
        hit = _CACHE.get(key)
        if hit is None or (hit.catalogue is not cat and hit.catalogue != cat) or hit.rescue is not rescue:
            hit = _CACHE[key] = compile_uncached(cat, rescue)
        return hit
