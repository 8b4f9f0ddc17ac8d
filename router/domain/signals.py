"""What one scan of a report's text found: per-subject evidence and the cue totals the rules read."""

from __future__ import annotations

import re
from bisect import bisect_left
from typing import Final

# Over the UTF-8 bytes of a text (as latin-1 characters), where the scan's positions are.
_SENTENCE_ENDS: Final = "。！？\n"
_SENTENCE_MARKS: Final = tuple(c.encode().decode("latin-1") for c in _SENTENCE_ENDS)
_CLAUSE_MARKS: Final = tuple(c.encode().decode("latin-1") for c in _SENTENCE_ENDS + "，；：、")

NOT_IN_TEXT: Final = 1 << 30  # Subject.first of a subject named only outside the text (the address)


class Subject:
    """Everything seen for one industry or matter."""

    __slots__ = ("first", "licensed", "premises", "score", "size", "words")

    def __init__(self) -> None:
        self.score = 0.0
        self.premises = 0.0  # the part of the score from words naming the premises, not the goods
        self.first = NOT_IN_TEXT
        self.words: list[str] = []
        self.licensed: bool | None = None
        self.size: str | None = None


class Signals:
    """What the text says, before any rule looks at it (a plain slotted class: built once per report)."""

    __slots__ = (
        "construction_words",
        "context",
        "exposure",
        "finished",
        "fire",
        "fire_veto",
        "fire_words",
        "industries",
        "large",
        "licence_words",
        "licensed",
        "matters",
        "ongoing",
        "public",
        "residential",
        "safety",
        "safety_veto",
        "safety_words",
        "small",
        "title_end",
        "unlicensed",
        "unlicensed_first",
        "venue_words",
        "weak_safety",
    )

    def __init__(self, title_end: int = 0) -> None:
        self.industries: dict[str, Subject] = {}
        self.matters: dict[str, Subject] = {}
        self.context: dict[tuple[str, str], Subject] = {}
        self.fire = 0.0
        self.safety = 0.0
        self.fire_words: list[str] = []
        self.safety_words: list[str] = []
        self.weak_safety: list[str] = []
        self.fire_veto = False
        self.safety_veto = False
        self.unlicensed = 0.0
        self.licensed = 0.0
        self.unlicensed_first = 1 << 30
        self.licence_words: list[str] = []
        self.large = 0.0
        self.public = 0.0
        self.small = 0.0
        self.residential = 0.0
        self.venue_words: list[str] = []
        self.exposure = 0.0
        self.ongoing = 0.0
        self.finished = 0.0
        self.construction_words: list[str] = []
        self.title_end = title_end  # where the title ends, as the positions below: a byte offset

    def licence(self, licensed: bool, start: int, word: str, weight: float) -> None:
        """Count one licence cue."""
        if licensed:
            self.licensed += weight
        else:
            self.unlicensed += weight
            if start < self.unlicensed_first:
                self.unlicensed_first = start
        self.licence_words.append(word)


def _found(text: str, marks: tuple[str, ...]) -> list[tuple[int, int]]:
    """Where each occurrence of any of `marks` starts and ends, in order. UTF-8 never lets one character's bytes
    start inside another's, so these are what a regex alternation of the marks finds; a str.find per mark and
    occurrence costs a third of its finditer, which builds a match object per occurrence."""
    found: list[tuple[int, int]] = []
    for mark in marks:
        at = text.find(mark)
        while at >= 0:
            found.append((at, at + len(mark)))
            at = text.find(mark, at + len(mark))
    found.sort()
    return found


class Clauses:
    """Clause and sentence numbers of byte offsets; the boundaries are found only if a rule asks."""

    __slots__ = ("_clauses", "_sentence_after", "_sentences", "text")

    def __init__(self, as_bytes: str) -> None:
        self.text = as_bytes
        self._clauses: list[int] | None = None
        self._sentences: list[int] | None = None
        self._sentence_after: list[int] = []

    @property
    def sentence_ends(self) -> list[int]:
        if self._sentences is None:
            found = _found(self.text, _SENTENCE_MARKS)
            self._sentences = [start for start, _end in found]
            self._sentence_after = [end for _start, end in found]
        return self._sentences

    def sentence_start(self, pos: int) -> int:
        """Where the sentence holding `pos` starts: just past the previous terminator."""
        sentence = bisect_left(self.sentence_ends, pos)
        return self._sentence_after[sentence - 1] if sentence else 0

    def same_clause(self, a: int, b: int) -> bool:
        if self._clauses is None:
            self._clauses = [start for start, _end in _found(self.text, _CLAUSE_MARKS)]
        return bisect_left(self._clauses, a) == bisect_left(self._clauses, b)

    def same_sentence(self, a: int, b: int) -> bool:
        ends = self.sentence_ends
        return bisect_left(ends, a) == bisect_left(ends, b)

    def sentences_apart(self, a: int, b: int) -> int:
        """How many sentence ends lie between byte offsets a and b: 0 in one sentence, 1 in the next."""
        ends = self.sentence_ends
        return abs(bisect_left(ends, a) - bisect_left(ends, b))


_CLAUSE_BREAK: Final = re.compile("[，；：。！？\n]")


def chars_within(raw: bytes, a: int, b: int, most: int) -> int | None:
    """How many characters lie between byte offsets a <= b, if at most `most`; else None."""
    span = b - a
    if span < 0 or span > 4 * most:  # a character takes one to four bytes: no need to count
        return None
    n = len(raw[a:b].decode("utf-8", "surrogatepass"))
    return n if n <= most else None


def state_follows(raw: bytes, end: int, state: int, window: int) -> bool:
    """Whether a state word at `state` speaks of the cue ending at `end`: close after it, only a list between."""
    if state < end or chars_within(raw, end, state, window) is None:
        return False
    return _CLAUSE_BREAK.search(raw[end:state].decode("utf-8", "surrogatepass")) is None
