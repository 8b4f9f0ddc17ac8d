"""One pass of the compiled automaton over a report's text, turned into weighted signals."""

from __future__ import annotations

import re
from bisect import bisect_left
from collections.abc import Iterator
from typing import Any, TypeVar

from router.domain.compiled import CompiledCatalogue, CueHit, K, SubjectHit, bits
from router.domain.signals import Clauses, Signals, Subject

__all__ = ["Signals", "Subject", "scan"]

TITLE_FACTOR = 2.0  # the title names the main complaint
FIRST_SENTENCE_FACTOR = 1.5
BACKGROUND_FACTOR = 0.25  # "在X检查中发现": X is the occasion, not the complaint
NEG_WINDOW = 4
LICENCE_WINDOW = 6
_SENTENCE_RE = re.compile(r"[。！？\n]")
_AREA_RE = re.compile(r"(\d+(?:\.\d+)?)(?:多|余)?(?:平方米|平米|平方|㎡|m2)")
_AREA_HINTS = ("平", "㎡", "m2")
_V = TypeVar("_V")
_NEG = bits(K.NEG)
_BG = bits(K.BACKGROUND)
_TURN = bits(K.TURN)
_STRUCTURE = _NEG | _BG | _TURN
# Enum members as module globals: a class attribute lookup on an Enum costs ~70 ns more, per comparison.
_FIRE = K.FIRE
_FIRE_EQUIP = K.FIRE_EQUIP
_SAFETY = K.SAFETY
_SAFETY_EQUIP = K.SAFETY_EQUIP
_WEAK = K.WEAK
_FIRE_VETO = K.FIRE_VETO
_SAFETY_VETO = K.SAFETY_VETO
_UNLICENSED = K.UNLICENSED
_LICENSED = K.LICENSED
_NOUN = K.NOUN
_NEG_AFTER = K.NEG_AFTER
_NEG_BEFORE = K.NEG_BEFORE
_LARGE = K.LARGE
_SMALL = K.SMALL


def scan(text: str, title_len: int, cc: CompiledCatalogue) -> Signals:
    """Weighted signals of a normalised text whose first `title_len` characters are the title."""
    sig = Signals(title_len)
    where = Clauses(text)
    found = _SENTENCE_RE.search(text, (title_len + 1 if title_len else 0) + 1)
    first_end = found.start() if found else len(text)
    subjects: list[tuple[int, str, tuple[SubjectHit, ...]]] = []
    background: list[tuple[int, int]] = []
    opened = -1
    last_neg = -100
    nouns: list[tuple[int, int, str]] = []
    neg_after: list[int] = []
    neg_before: list[int] = []
    raw = text.encode("utf-8", "surrogatepass")  # a lone surrogate from JSON must not fail the report
    as_bytes = raw.decode("latin-1")
    byte_end = char_end = 0  # as in _in_characters, inlined: this loop is the hottest in the router
    for last_byte, (length, subj, cues, flags) in cc.automaton.iter_long(as_bytes):
        if last_byte + 1 < byte_end:
            byte_end = char_end = 0
        char_end += len(raw[byte_end : last_byte + 1].decode("utf-8", "surrogatepass"))
        byte_end = last_byte + 1
        end = char_end - 1
        start = end - length + 1
        if subj:
            subjects.append((start, text[start : end + 1], subj))
        if cues:
            gap = start - last_neg
            negated = gap <= NEG_WINDOW and where.same_clause(last_neg, start)
            _cues(sig, text[start : end + 1], start, end + 1, cues, negated, gap, nouns, neg_before, neg_after)
        if not flags & _STRUCTURE:
            continue  # most words only name a subject or a cue
        if flags & _BG and opened < 0:
            ends = where.sentence_ends
            sentence = bisect_left(ends, start)
            opened = ends[sentence - 1] + 1 if sentence else 0
        elif flags & _TURN and opened >= 0:
            if where.same_sentence(opened, start):
                background.append((opened, start))
            opened = -1
        if flags & _NEG:
            last_neg = end + 1
    buckets = (sig.industries, sig.matters, sig.context)
    for start, word, hits in subjects:
        factor = TITLE_FACTOR if start < title_len else FIRST_SENTENCE_FACTOR if start < first_end else 1.0
        if background and any(a <= start < b for a, b in background):
            factor *= BACKGROUND_FACTOR
        for bucket, key, weight, lic, size in hits:
            found_in: dict[Any, Subject] = buckets[bucket]
            subject = found_in.get(key)
            if subject is None:
                subject = found_in[key] = Subject()
            subject.score += weight * factor
            if start < subject.first:
                subject.first = start
            if word not in subject.words:
                subject.words.append(word)
            if lic is not None and bucket != 2:
                subject.licensed = lic
                sig.licence(lic, start, word, 1.0)
            if size is not None and bucket != 2:
                subject.size = size
    if nouns:
        _licence_nouns(sig, where, nouns, neg_before, neg_after)
    _venues(sig, text, raw, as_bytes, cc)
    return sig


def _in_characters(raw: bytes, matches: Iterator[tuple[int, _V]]) -> Iterator[tuple[int, _V]]:
    """Matches of an automaton over UTF-8 bytes, with the end position in characters."""
    byte_end = char_end = 0  # just past the previous match, in bytes and in characters
    for last_byte, value in matches:
        # Matches come in text order, so each one's character position costs decoding only the bytes
        # since the previous one.
        if last_byte + 1 < byte_end:
            byte_end = char_end = 0
        char_end += len(raw[byte_end : last_byte + 1].decode("utf-8", "surrogatepass"))
        byte_end = last_byte + 1
        yield char_end - 1, value


def _cues(
    sig: Signals,
    word: str,
    start: int,
    end: int,
    cues: tuple[CueHit, ...],
    negated: bool,
    neg_gap: int,
    nouns: list[tuple[int, int, str]],
    neg_before: list[int],
    neg_after: list[int],
) -> None:
    for kind, weight in cues:
        if kind is _FIRE or kind is _FIRE_EQUIP:
            # Equipment words signal by their absence (没有灭火器), so negation does not cancel them.
            if (kind is _FIRE_EQUIP or not negated) and word not in sig.fire_words:
                sig.fire += weight
                sig.fire_words.append(word)
        elif kind is _SAFETY or kind is _SAFETY_EQUIP:
            if (kind is _SAFETY_EQUIP or not negated) and word not in sig.safety_words:
                sig.safety += weight
                sig.safety_words.append(word)
        elif kind is _WEAK:
            if not negated:
                sig.weak_safety.append(word)
        elif kind is _FIRE_VETO:
            sig.fire_veto = True
        elif kind is _SAFETY_VETO:
            sig.safety_veto = True
        elif kind is _UNLICENSED or kind is _LICENSED:
            # "不是无证" means licensed: a negation right before a licence cue flips it.
            sig.licence((kind is _LICENSED) != (negated and neg_gap <= 2), start, word, weight)
        elif kind is _NOUN:
            nouns.append((start, end, word))
        elif kind is _NEG_AFTER:
            neg_after.append(start)
        elif kind is _NEG_BEFORE:
            neg_before.append(end)


def _licence_nouns(
    sig: Signals,
    where: Clauses,
    nouns: list[tuple[int, int, str]],
    neg_before: list[int],
    neg_after: list[int],
) -> None:
    # "营业执照也没有", "未向文旅部门备案": a licence noun with a negation close by, in one sentence.
    for start, end, word in nouns:
        before = any(0 <= start - e <= LICENCE_WINDOW and where.same_clause(e, start) for e in neg_before)
        after = any(0 <= s - end <= LICENCE_WINDOW + 2 and where.same_sentence(end, s) for s in neg_after)
        if before or after:
            sig.licence(False, start, word, 1.0)


def _venues(sig: Signals, text: str, raw: bytes, as_bytes: str, cc: CompiledCatalogue) -> None:
    for end, (length, payloads, _flags) in _in_characters(raw, cc.venues.iter(as_bytes)):
        word = text[end - length + 1 : end + 1]
        for kind, _target, weight, _lic, _size, _ctx in payloads:
            if kind is _LARGE:
                sig.large += weight
            elif kind is _SMALL:
                sig.small += weight
            else:
                sig.residential += weight
            sig.venue_words.append(word)
    if not any(hint in text for hint in _AREA_HINTS):
        return  # the area pattern needs one of these; most reports give no area
    threshold = cc.catalogue.settings.large_venue_area_m2
    for m in _AREA_RE.finditer(text):
        if float(m.group(1)) >= threshold:
            sig.large += 2
        else:
            sig.small += 2
        sig.venue_words.append(m.group(0))
