"""A catalogue compiled once per version: one Aho-Corasick automaton over every word, plus indexes."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from enum import IntEnum
from threading import Lock

import ahocorasick

from router.domain.catalogue import Alias, Catalogue
from router.domain.text import COMMON_CHARS, normalise


class K(IntEnum):
    """What a matched word tells the classifier."""

    INDUSTRY = 1
    MATTER = 2
    CONTEXT = 3  # a matter word that counts only with one industry
    FIRE = 4
    FIRE_EQUIP = 5
    SAFETY = 6
    SAFETY_EQUIP = 7
    WEAK = 8
    FIRE_VETO = 9
    SAFETY_VETO = 10
    UNLICENSED = 11
    LICENSED = 12
    NOUN = 13
    NEG_BEFORE = 14
    NEG_AFTER = 15
    NEG = 16
    NEUTRAL = 17
    LARGE = 18
    SMALL = 19
    RESIDENTIAL = 20
    BACKGROUND = 21
    TURN = 22
    PLACE = 23


# (kind, target, weight, licensed flag, size flag, context industry)
Payload = tuple[K, str, float, bool | None, str | None, str | None]
# A lexicon word's subjects, pre-sorted for the scan: (bucket, key, weight, licensed flag, size flag),
# bucket 0 = industry, 1 = matter, 2 = context with key (matter, industry).
SubjectHit = tuple[int, "str | tuple[str, str]", float, bool | None, str | None]
CueHit = tuple[K, float]
# Main automaton value: (length, subjects, cues, kind bits); cues are the hazard and licence kinds.
LexiconValue = tuple[int, tuple[SubjectHit, ...], tuple[CueHit, ...], int]


def bits(*kinds: K) -> int:
    """The bitmask of some kinds, as stored with each word."""
    return sum(1 << k for k in kinds)


HAZARD_KINDS = bits(K.FIRE, K.FIRE_EQUIP, K.SAFETY, K.SAFETY_EQUIP, K.WEAK, K.FIRE_VETO, K.SAFETY_VETO)
LICENCE_KINDS = bits(K.UNLICENSED, K.LICENSED, K.NOUN, K.NEG_BEFORE, K.NEG_AFTER)
CUE_KINDS = HAZARD_KINDS | LICENCE_KINDS


@dataclass(frozen=True, slots=True)
class CompiledCatalogue:
    """Everything decide() needs, precomputed; immutable so replicas can share it across threads."""

    catalogue: Catalogue
    automaton: ahocorasick.Automaton
    places: ahocorasick.Automaton
    venues: ahocorasick.Automaton  # scanned with overlaps: 楼道 still counts inside 楼道堆放
    unit_names: dict[str, str]
    industry_departments: dict[str, tuple[str, ...]] = field(default_factory=dict)
    fallbacks: dict[str, str] = field(default_factory=dict)  # per-unit template -> district fallback
    bindings: dict[str, dict[str, str]] = field(default_factory=dict)  # unit -> template -> bound code

    @property
    def version(self) -> str:
        return self.catalogue.version


def _variants(word: str, spelling: dict[str, list[str]]) -> Iterable[str]:
    yield word
    for canonical, heard in spelling.items():
        if canonical in word:
            for variant in heard:
                yield word.replace(canonical, variant)


class _Builder:
    def __init__(self, spelling: dict[str, list[str]]) -> None:
        self.words: dict[str, list[Payload]] = {}
        self.spelling = spelling

    def add(self, aliases: Iterable[Alias], kind: K, target: str = "", ctx: str | None = None) -> None:
        for alias in aliases:
            payload: Payload = (kind, target, alias.weight, alias.licensed, alias.size, ctx)
            for word in _variants(normalise(alias.w), self.spelling):
                bucket = self.words.setdefault(word, [])
                if payload not in bucket:
                    bucket.append(payload)

    def automaton(self) -> ahocorasick.Automaton:
        auto = ahocorasick.Automaton()
        for word, payloads in self.words.items():
            # The bitmask of kinds lets the scanner skip a word's payloads without looking at them.
            flags = sum({1 << p[0] for p in payloads})
            auto.add_word(word, (len(word), tuple(payloads), flags))
        auto.make_automaton()
        return auto

    def lexicon_automaton(self) -> ahocorasick.Automaton:
        """The main automaton: each word's payloads split ahead of time so the scan does no filtering."""
        auto = ahocorasick.Automaton()
        buckets = {K.INDUSTRY: 0, K.MATTER: 1, K.CONTEXT: 2}
        # pyahocorasick finds a child by a linear scan in insertion order, and the root has hundreds of
        # children: inserting words by how common their first character is in Chinese text makes the
        # root lookup for most characters short (~20% off the scan). Order changes no match.
        rank = {char: i for i, char in enumerate(COMMON_CHARS)}
        for word, payloads in sorted(self.words.items(), key=lambda kv: rank.get(kv[0][0], len(rank))):
            subjects = tuple(
                (buckets[k], (t, ctx or "") if k is K.CONTEXT else t, w, lic, size)
                for k, t, w, lic, size, ctx in payloads
                if k in buckets
            )
            cues = tuple((k, w) for k, _t, w, *_ in payloads if (1 << k) & CUE_KINDS)
            flags = sum({1 << p[0] for p in payloads})
            auto.add_word(word, (len(word), subjects, cues, flags))
        auto.make_automaton()
        return auto


def _lexicon(cat: Catalogue) -> ahocorasick.Automaton:
    b = _Builder(cat.spelling)
    owners: dict[str, int] = {}
    for ind in cat.industries.values():
        for p in ind.prerequisites:
            owners[p.name] = owners.get(p.name, 0) + 1
    for code, ind in cat.industries.items():
        b.add(ind.aliases, K.INDUSTRY, code)
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
        (cues.safety.words, K.SAFETY),
        (cues.safety.equipment, K.SAFETY_EQUIP),
        (cues.safety.weak, K.WEAK),
        (cues.safety.exclusions, K.SAFETY_VETO),
        (cues.licence.unlicensed, K.UNLICENSED),
        (cues.licence.licensed, K.LICENSED),
        (cues.licence.nouns, K.NOUN),
        (cues.licence.negations_before, K.NEG_BEFORE),
        (cues.licence.negations_after, K.NEG_AFTER),
        (cues.negations, K.NEG),
        (cues.neutral, K.NEUTRAL),
        (cues.background, K.BACKGROUND),
        (cues.background_turn, K.TURN),
    ]
    for aliases, kind in groups:
        b.add(aliases, kind)
    # Venue words shadow the aliases inside them (自建房 is not 建房) in the exclusive scan.
    venue = cues.venue
    b.add((a for a in [*venue.large, *venue.small, *venue.residential] if a.w not in b.words), K.NEUTRAL)
    return b.lexicon_automaton()


def _venues(cat: Catalogue) -> ahocorasick.Automaton:
    b = _Builder(cat.spelling)
    venue = cat.cues.venue
    b.add(venue.large, K.LARGE)
    b.add(venue.small, K.SMALL)
    b.add(venue.residential, K.RESIDENTIAL)
    return b.automaton()


def _places(cat: Catalogue) -> ahocorasick.Automaton:
    b = _Builder(cat.spelling)
    for code, unit in cat.units.items():
        # The full name outranks aliases and gazetteer places when an address names both.
        b.add([Alias(w=unit.name, weight=3.0)], K.PLACE, code)
        b.add((Alias(w=a.w, weight=2.0) for a in unit.aliases), K.PLACE, code)
    for code, places in cat.gazetteer.items():
        b.add((Alias(w=p) for p in places), K.PLACE, code)
    return b.automaton()


def _industry_departments(cat: Catalogue) -> dict[str, tuple[str, ...]]:
    out: dict[str, tuple[str, ...]] = {}
    for code, ind in cat.industries.items():
        chain = [p.department for p in ind.prerequisites if p.department]
        out[code] = tuple(dict.fromkeys(chain))
    return out


def compile_uncached(cat: Catalogue) -> CompiledCatalogue:
    """Build the compiled form; prefer compile_catalogue, which does this once per version."""
    return CompiledCatalogue(
        catalogue=cat,
        automaton=_lexicon(cat),
        places=_places(cat),
        venues=_venues(cat),
        unit_names={code: unit.name for code, unit in cat.units.items()},
        industry_departments=_industry_departments(cat),
        fallbacks={t.template: t.fallback for t in cat.unit_departments.values()},
        bindings={
            unit: {t.template: t.template.replace("{unit}", unit) for t in cat.unit_departments.values()}
            for unit in cat.units
        },
    )


_CACHE: dict[tuple[str, str], CompiledCatalogue] = {}
_LOCK = Lock()


def compile_catalogue(cat: Catalogue) -> CompiledCatalogue:
    """The compiled form of a catalogue, built once per (district, version) and shared afterwards."""
    key = (cat.district, cat.version)
    with _LOCK:
        hit = _CACHE.get(key)
        if hit is None or (hit.catalogue is not cat and hit.catalogue != cat):
            hit = _CACHE[key] = compile_uncached(cat)
        return hit
