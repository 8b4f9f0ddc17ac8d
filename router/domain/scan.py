"""One pass of the compiled automaton over a report's text, turned into weighted signals."""

from __future__ import annotations

import re
from bisect import bisect_left
from dataclasses import dataclass, field

from router.domain.compiled import CompiledCatalogue, K, Payload, bits
from router.domain.text import sentence_ends

TITLE_FACTOR = 2.0  # the title names the main complaint
FIRST_SENTENCE_FACTOR = 1.5
BACKGROUND_FACTOR = 0.25  # "在X检查中发现": X is the occasion, not the complaint
NEG_WINDOW = 4
LICENCE_WINDOW = 6
_CLAUSE_RE = re.compile(r"[。！？\n，；：、]")
_AREA_RE = re.compile(r"(\d+(?:\.\d+)?)(?:多|余)?(?:平方米|平米|平方|㎡|m2)")


@dataclass(slots=True)
class Subject:
    """Everything seen for one industry or matter."""

    score: float = 0.0
    first: int = 1 << 30
    words: list[str] = field(default_factory=list)
    licensed: bool | None = None
    size: str | None = None


@dataclass(slots=True)
class Signals:
    """What the text says, before any rule looks at it."""

    industries: dict[str, Subject] = field(default_factory=dict)
    matters: dict[str, Subject] = field(default_factory=dict)
    context: dict[tuple[str, str], Subject] = field(default_factory=dict)
    fire: float = 0.0
    safety: float = 0.0
    fire_words: list[str] = field(default_factory=list)
    safety_words: list[str] = field(default_factory=list)
    weak_safety: list[str] = field(default_factory=list)
    fire_veto: bool = False
    safety_veto: bool = False
    unlicensed: float = 0.0
    licensed: float = 0.0
    unlicensed_first: int = 1 << 30
    licence_words: list[str] = field(default_factory=list)
    large: float = 0.0
    small: float = 0.0
    residential: float = 0.0
    venue_words: list[str] = field(default_factory=list)
    title_len: int = 0


def _add(bucket: dict[str, Subject], key: str, weight: float, start: int, word: str) -> Subject:
    subj = bucket.get(key)
    if subj is None:
        subj = bucket[key] = Subject()
    subj.score += weight
    if start < subj.first:
        subj.first = start
    if word not in subj.words:
        subj.words.append(word)
    return subj


_SUBJECT = bits(K.INDUSTRY, K.MATTER, K.CONTEXT)
_HAZARD = bits(K.FIRE, K.FIRE_EQUIP, K.SAFETY, K.SAFETY_EQUIP, K.WEAK, K.FIRE_VETO, K.SAFETY_VETO)
_LICENCE = bits(K.UNLICENSED, K.LICENSED, K.NOUN, K.NEG_BEFORE, K.NEG_AFTER)
_NEG = bits(K.NEG)
_BG = bits(K.BACKGROUND)
_TURN = bits(K.TURN)


class _Clauses:
    """Clause and sentence numbers of positions, by bisecting precomputed boundaries."""

    __slots__ = ("clause_ends", "sentence_ends")

    def __init__(self, text: str) -> None:
        self.clause_ends = [m.start() for m in _CLAUSE_RE.finditer(text)]
        self.sentence_ends = sentence_ends(text)

    def same_clause(self, a: int, b: int) -> bool:
        return bisect_left(self.clause_ends, a) == bisect_left(self.clause_ends, b)

    def same_sentence(self, a: int, b: int) -> bool:
        return bisect_left(self.sentence_ends, a) == bisect_left(self.sentence_ends, b)


def scan(text: str, title_len: int, cc: CompiledCatalogue) -> Signals:
    """Weighted signals of a normalised text whose first `title_len` characters are the title."""
    sig = Signals(title_len=title_len)
    where = _Clauses(text)
    ends = where.sentence_ends
    desc_start = title_len + 1 if title_len else 0
    first_end = next((e for e in ends if e > desc_start), len(text))
    subjects: list[tuple[int, str, Payload]] = []
    background: list[tuple[int, int]] = []
    opened = -1
    last_neg = -100
    nouns: list[tuple[int, int, str]] = []
    neg_after: list[int] = []
    neg_before: list[int] = []
    for end, (length, payloads, flags) in cc.automaton.iter_long(text):
        start = end - length + 1
        if flags & _SUBJECT:
            word = text[start : end + 1]
            subjects.extend((start, word, p) for p in payloads if (1 << p[0]) & _SUBJECT)
        if flags & (_HAZARD | _LICENCE):
            negated = start - last_neg <= NEG_WINDOW and where.same_clause(last_neg, start)
            _cues(
                sig,
                text[start : end + 1],
                start,
                end + 1,
                payloads,
                negated,
                start - last_neg,
                nouns,
                neg_before,
                neg_after,
            )
        if flags & _BG and opened < 0:
            sentence = bisect_left(ends, start)
            opened = ends[sentence - 1] + 1 if sentence else 0
        elif flags & _TURN and opened >= 0:
            if where.same_sentence(opened, start):
                background.append((opened, start))
            opened = -1
        if flags & _NEG:
            last_neg = end + 1
    for start, word, (kind, target, weight, lic, size, ctx) in subjects:
        factor = TITLE_FACTOR if start < title_len else FIRST_SENTENCE_FACTOR if start < first_end else 1.0
        if background and any(a <= start < b for a, b in background):
            factor *= BACKGROUND_FACTOR
        if kind is K.CONTEXT:
            _add(sig.context, (target, ctx or ""), weight * factor, start, word)  # type: ignore[arg-type]
            continue
        subj = _add(
            sig.industries if kind is K.INDUSTRY else sig.matters, target, weight * factor, start, word
        )
        if lic is not None:
            subj.licensed = lic
            _licence(sig, lic, start, word, 1.0)
        if size is not None:
            subj.size = size
    _licence_nouns(sig, where, nouns, neg_before, neg_after)
    _venues(sig, text, cc)
    return sig


def _cues(
    sig: Signals,
    word: str,
    start: int,
    end: int,
    payloads: tuple[Payload, ...],
    negated: bool,
    neg_gap: int,
    nouns: list[tuple[int, int, str]],
    neg_before: list[int],
    neg_after: list[int],
) -> None:
    for kind, _target, weight, _lic, _size, _ctx in payloads:
        if kind is K.FIRE or kind is K.FIRE_EQUIP:
            # Equipment words signal by their absence (没有灭火器), so negation does not cancel them.
            if (kind is K.FIRE_EQUIP or not negated) and word not in sig.fire_words:
                sig.fire += weight
                sig.fire_words.append(word)
        elif kind is K.SAFETY or kind is K.SAFETY_EQUIP:
            if (kind is K.SAFETY_EQUIP or not negated) and word not in sig.safety_words:
                sig.safety += weight
                sig.safety_words.append(word)
        elif kind is K.WEAK:
            if not negated:
                sig.weak_safety.append(word)
        elif kind is K.FIRE_VETO:
            sig.fire_veto = True
        elif kind is K.SAFETY_VETO:
            sig.safety_veto = True
        elif kind is K.UNLICENSED or kind is K.LICENSED:
            # "不是无证" means licensed: a negation right before a licence cue flips it.
            _licence(sig, (kind is K.LICENSED) != (negated and neg_gap <= 2), start, word, weight)
        elif kind is K.NOUN:
            nouns.append((start, end, word))
        elif kind is K.NEG_AFTER:
            neg_after.append(start)
        elif kind is K.NEG_BEFORE:
            neg_before.append(end)


def _licence(sig: Signals, licensed: bool, start: int, word: str, weight: float) -> None:
    if licensed:
        sig.licensed += weight
    else:
        sig.unlicensed += weight
        sig.unlicensed_first = min(sig.unlicensed_first, start)
    sig.licence_words.append(word)


def _licence_nouns(
    sig: Signals,
    where: _Clauses,
    nouns: list[tuple[int, int, str]],
    neg_before: list[int],
    neg_after: list[int],
) -> None:
    # "营业执照也没有", "未向文旅部门备案": a licence noun with a negation close by, in one sentence.
    for start, end, word in nouns:
        before = any(0 <= start - e <= LICENCE_WINDOW and where.same_clause(e, start) for e in neg_before)
        after = any(0 <= s - end <= LICENCE_WINDOW + 2 and where.same_sentence(end, s) for s in neg_after)
        if before or after:
            _licence(sig, False, start, word, 1.0)


def _venues(sig: Signals, text: str, cc: CompiledCatalogue) -> None:
    for end, (length, payloads, _flags) in cc.venues.iter(text):
        word = text[end - length + 1 : end + 1]
        for kind, _target, weight, _lic, _size, _ctx in payloads:
            if kind is K.LARGE:
                sig.large += weight
            elif kind is K.SMALL:
                sig.small += weight
            else:
                sig.residential += weight
            sig.venue_words.append(word)
    threshold = cc.catalogue.settings.large_venue_area_m2
    for m in _AREA_RE.finditer(text):
        if float(m.group(1)) >= threshold:
            sig.large += 2
        else:
            sig.small += 2
        sig.venue_words.append(m.group(0))
