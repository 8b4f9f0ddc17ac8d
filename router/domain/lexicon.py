"""The words of a catalogue and what each tells the classifier, built into Aho-Corasick automata."""

from __future__ import annotations

import re
from collections.abc import Iterable
from enum import IntEnum
from typing import Final

from catalogue.model import Alias
from router.domain.passes import Passes
from router.domain.text import normalise


def as_bytes(text: str) -> str:
    """The UTF-8 bytes of `text`, one latin-1 character each: what the main automaton reads."""
    return text.encode("utf-8", "surrogatepass").decode("latin-1")


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
    IN_ORDER = 24  # equipment present and working: 灭火器配齐 is no hazard
    EXPOSURE = 25  # people below or beside a hazard: 下面就是人行道
    ONGOING = 26  # construction in progress: 工人还在干
    FINISHED = 27  # construction finished long ago: 早就搭好了
    HOLD = 28  # 持有, 取得: a licence noun right after it is held
    UNSEEN = 29  # 没看到: what was just named was looked for and is not there
    PERSON = 30  # 师傅, 驾驶员: a certificate right after is a person's, not the business's licence
    ANOMALOUS = 31  # 过期, 对不上: the licence just named is held but wrong (licence-anomaly)
    IGNITION = 32  # 抽烟, 电焊: a source of ignition
    FUEL = 33  # 稀料, 纸箱: fire load; with an ignition source in one sentence, a fire hazard
    PUBLIC = 34  # 商场, 写字楼: a public building hosting the premises
    BLOCKING = 35  # 堵死, 挡住: a fire cue only beside a way out
    EGRESS = 36  # 安全出口, 后门, 楼梯: a way out


GOODS: Final = "goods"  # the context of an industry word that names what the trade deals in, not where it is
# (kind, target, weight, licensed flag, size flag, context industry)
Payload = tuple[K, str, float, bool | None, str | None, str | None]
# A lexicon word's subjects, pre-sorted for the scan: (bucket, key, weight, licensed flag, size flag),
# bucket 0 = industry, 1 = matter, 2 = context with key (matter, industry), 3 = industry by its goods.
SubjectHit = tuple[int, "str | tuple[str, str]", float, bool | None, str | None]
CueHit = tuple[K, float]
# Every automaton runs over UTF-8 bytes and its values start with the word's length in bytes and the word:
# a match's place is a byte offset, and the scan needs no text slice to know what matched.
# Automaton value: (byte length, word, payloads, kind bits).
WordValue = tuple[int, str, tuple[Payload, ...], int]
# Main automaton value: (byte length, word, subjects, cues, kind bits); cues are the hazard and licence kinds.
LexiconValue = tuple[int, str, tuple[SubjectHit, ...], tuple[CueHit, ...], int]


def bits(*kinds: K) -> int:
    """The bitmask of some kinds, as stored with each word."""
    return sum(1 << k for k in kinds)


HAZARD_KINDS: Final = bits(K.FIRE, K.FIRE_EQUIP, K.SAFETY, K.SAFETY_EQUIP, K.WEAK, K.FIRE_VETO, K.SAFETY_VETO,
                    K.IN_ORDER, K.EXPOSURE, K.ONGOING, K.FINISHED, K.UNSEEN,
                    K.IGNITION, K.FUEL, K.BLOCKING, K.EGRESS)
LICENCE_KINDS: Final = bits(K.UNLICENSED, K.LICENSED, K.NOUN, K.NEG_BEFORE, K.NEG_AFTER, K.HOLD, K.PERSON, K.ANOMALOUS)
CUE_KINDS: Final = HAZARD_KINDS | LICENCE_KINDS


def variants(word: str, spelling: dict[str, list[str]], holds: re.Pattern[str] | None = None) -> Iterable[str]:
    """The word and its heard spellings; `holds` (any canonical word) skips the words that have none."""
    yield word
    if holds is not None and holds.search(word) is None:
        return
    for canonical, heard in spelling.items():
        if canonical in word:
            for variant in heard:
                yield word.replace(canonical, variant)


class Builder:
    """Collects words with their payloads, then builds an automaton over them."""

    def __init__(self, spelling: dict[str, list[str]]) -> None:
        self.words: dict[str, list[Payload]] = {}
        self.spelling = spelling
        # One search tells whether a word holds any canonical spelling: most of ten thousand words hold none.
        self._holds = re.compile("|".join(map(re.escape, spelling))) if spelling else None

    def add(self, aliases: Iterable[Alias], kind: K, target: str = "", ctx: str | None = None) -> None:
        for alias in aliases:
            payload: Payload = (kind, target, alias.weight, alias.licensed, alias.size, ctx)
            for word in variants(normalise(alias.w), self.spelling, self._holds):
                bucket = self.words.setdefault(word, [])
                if payload not in bucket:
                    bucket.append(payload)

    def automaton(self) -> Passes:
        """An automaton over the words' UTF-8 bytes (see lexicon_automaton), valued WordValue."""
        words: list[tuple[str, WordValue]] = []
        for word, payloads in self.words.items():
            # The bitmask of kinds lets the scanner skip a word's payloads without looking at them.
            flags = sum({1 << p[0] for p in payloads})
            key = as_bytes(word)
            words.append((key, (len(key), word, tuple(payloads), flags)))
        return Passes(words)

    def lexicon_automaton(self) -> Passes:
        """The main automaton: each word's payloads split ahead of time so the scan does no filtering."""
        words: list[tuple[str, LexiconValue]] = []
        buckets = {K.INDUSTRY: 0, K.MATTER: 1, K.CONTEXT: 2}
        # The automaton runs over UTF-8 bytes (as latin-1 characters): pyahocorasick finds a child by a
        # linear scan, and over characters the root has hundreds of children; over bytes every node has
        # at most 64, so the scan costs a tenth. UTF-8 lead and continuation bytes differ, so a match
        # still starts and ends on whole characters: the matches are the same. (Compiled, the passes walk
        # characters in C, each move a table look-up, and give the byte offsets: passes.Passes.)
        for word, payloads in self.words.items():
            subjects = tuple(
                (3 if ctx == GOODS else buckets[k], (t, ctx or "") if k is K.CONTEXT else t, w, lic, size)
                for k, t, w, lic, size, ctx in payloads
                if k in buckets
            )
            cues = tuple((k, w) for k, _t, w, *_ in payloads if (1 << k) & CUE_KINDS)
            flags = sum({1 << p[0] for p in payloads})
            key = as_bytes(word)
            words.append((key, (len(key), word, subjects, cues, flags)))
        return Passes(words)

