"""How much a trade or matter word found in a report counts: where it stands and what the words around it say.

A report names many things; the one it is about is in the title or the first sentence, is what someone opened or
what an inspection was of, and is not the occasion of an inspection, an aside, the kind of place the area is full of,
or a matter checked and found in order."""

from __future__ import annotations

import re
from typing import Final

from router.domain.lexicon import SubjectHit, as_bytes
from router.domain.passes import Passes
from router.domain.signals import Clauses, state_follows

TITLE_FACTOR: Final = 2.0  # the title names the main complaint
FIRST_SENTENCE_FACTOR: Final = 1.5
BACKGROUND_FACTOR: Final = 0.25  # "在X检查中发现": X is the occasion, not the complaint
ASIDE_FACTOR: Final = 0.5  # 另外顺带提到: a lesser matter, still noted as related
OPENED_FACTOR: Final = 2.0  # 新开一个废品收购站: the premises someone opened, whatever else the report names
IN_ORDER_WINDOW: Final = 12  # 现场灭火器、应急灯配齐: the state closes a short list of what it is about
# 对一家KTV进行检查时发现: what the inspection was of is the premises, not the occasion.
_INSPECTED: Final = re.compile("对(?:一家|一处|一间|一个|该|这家|辖区内?的?)?$")
# 检查一家美甲店时发现: the premises an inspection verb takes is what was inspected, not the occasion.
_INSPECTED_PREMISES: Final = re.compile("(?:检查|巡查|抽查|排查|走访)了?(?:一家|一处|一间|一个|该|这家|辖区内?的?)?$")
# 住厂子后面的出租楼: a trade named to say where the premises are is a landmark, not the premises. (Before the
# trade, 隔壁是个作坊 is as often the complaint as the way to it.)
# Words after a place that make it where something else is (火车站附近, 厂子后面): scan's NEAR adds the looser ones.
LANDMARK_WORDS: Final = "附近|旁边|后面|后头|背后|对面|斜对面|对过|斜对过|隔壁|周边|周围|一带"
_LANDMARK_AFTER: Final = re.compile(f"[厂店馆站场铺房]?的?(?:{LANDMARK_WORDS})")
_LANDMARK_FIRST: Final = "厂店馆站场铺房的" + "".join(w[0] for w in LANDMARK_WORDS.split("|"))  # its match starts so
# 说要盖间小饭店: a trade named as what a building going up will house is no premises yet.
_TO_BE_BUILT: Final = re.compile("(?:盖|建|搭|造|砌)(?:一|两|几)?(?:间|个|座|栋|排)?(?:小|大)?$")
_DENIED: Final = re.compile("(?:没有任何|没任何|没有|并无|不存在|也没有|也没|没)$")
_OPENED: Final = re.compile("(?:新开|开了|开着|开设|开办|办了)(?:一个|一家|一间|个|家|间|了)?$")
# 我们这边厂子多: the kind of place a neighbourhood has many of describes the area, not the premises.
_AROUND: Final = re.compile("(?:这边|这里|那边|那里|附近|周边|周围|一带|这片|那片)[^，。；！？\n]{0,3}$")
_MANY: Final = re.compile("(?:很多|挺多|蛮多|比较多|特别多|多)(?:[，。；！？\n]|$)")
# 住的都是工地上的工人, 都是工地上的, 外卖小哥: the trade where the people work, not the premises reported.
_WORKERS_OF: Final = re.compile(
    "(?:上|里)?的?(?:工人|员工|民工|打工的|干活的|上班的)|(?:上|里)的(?:人|$|[^\u4e00-\u9fff])|小哥")
_WORKERS_FIRST: Final = "上里的工员民打干小"  # what a match of _WORKERS_OF starts with
# 另外顺带提到: what follows is a lesser matter (ROUTING §5: the main complaint decides).
# 一是……二是……: an inspection's findings in order, the first the main one.
ASIDE_WORDS: Final = ("另外", "顺带", "顺便", "此外", "附带", "另有一事", "还有一件事", "二是", "其二", "其次")
# 卖鞭炮的小铺子, 稀料批发店, 店铺里成箱的烟花: goods named with the shop that deals in them name its premises.
_SHOP_NOUNS: Final = "店|铺|批发|商行|门市|门面|仓库|公司|摊|经营"
_SHOP: Final = re.compile(f"[^，。；！？\n]{{0,6}}?(?:{_SHOP_NOUNS})")
_SHOP_BEFORE: Final = re.compile(f"(?:{_SHOP_NOUNS})[^，。；！？\n]{{0,6}}$")
# 是违章的，不对，是没执照的: a caller correcting themself takes back the clause just said.
_CORRECTIONS: Final = re.compile("|".join(re.escape(w) for w in (
    "不对，是", "不对，应该是", "不对不对", "不是不是", "说错了", "口误")).encode("utf-8"))
_CORRECTION_HINTS: Final = ("不对", "不是", "说错了", "口误")  # what every correction above holds
_CLAUSE_ENDS: Final = re.compile("|".join(re.escape(c) for c in "，；：。！？\n").encode("utf-8"))
RETRACTED_FACTOR: Final = 0.1
_INDUSTRY: Final = 0  # SubjectHit bucket of a trade named by its premises
_MATTER: Final = 1


def _marker_automaton() -> Passes:
    """The aside words and the correction hints over UTF-8 bytes (as latin-1 characters), valued
    (byte length, aside?)."""
    keys = [(as_bytes(word), aside) for words, aside in ((ASIDE_WORDS, True), (_CORRECTION_HINTS, False))
            for word in words]
    return Passes([(key, (len(key), aside)) for key, aside in keys])


_MARKERS: Final = _marker_automaton()
# Any marker word, searched in the text's characters (not its three times longer bytes): the alternation's first
# characters make one set the search tests each character against, a third of the cost of fourteen `in` tests.
_ANY_MARKER: Final = re.compile("|".join(map(re.escape, (*ASIDE_WORDS, *_CORRECTION_HINTS))))


def may_hold_markers(text: str) -> bool:
    """Whether a text holds any marker word, to ask first: a few reports in a hundred do, and one search costs a
    fraction of the automaton's pass."""
    return _ANY_MARKER.search(text) is not None


def markers(text_bytes: str) -> tuple[int, bool]:
    """Where the first aside starts, as a byte offset (the length when there is none), and whether a correction
    may have been said, from the UTF-8 bytes of a text as latin-1 characters.

    One pass of a small automaton: an alternation of Chinese words makes the regex engine try it at nearly every
    character, and a bytes.find per word cost three times the pass."""
    aside, corrected = len(text_bytes), False
    found: list[tuple[int, tuple[int, bool]]] = _MARKERS.every(text_bytes)
    for last, (length, is_aside) in found:
        start = last + 1 - length
        if not is_aside:
            corrected = True
        elif 0 < start < aside:  # an aside opening the report is no aside
            aside = start
    return aside, corrected


class Salience:
    """The weighting of one report's subject words; built once per scan."""

    __slots__ = ("aside", "background", "building", "first_end", "in_order", "raw", "retracted", "title_end", "where")

    def __init__(self, raw: bytes, where: Clauses, title_end: int, first_end: int,
                 background: list[tuple[int, int, int]], in_order: list[int],
                 retracted: list[tuple[int, int]], aside: int, building: str) -> None:
        self.raw, self.where, self.retracted = raw, where, retracted
        self.building = building  # the construction trade: what is being built is its premises
        self.title_end, self.first_end = title_end, first_end
        self.background = background  # (sentence start, the occasion word, the turn: 发现)
        self.in_order = in_order
        self.aside = aside  # where the first aside starts (markers)

    def factor(self, start: int, word: str, hits: tuple[SubjectHit, ...]) -> float:
        """What one occurrence of a subject word at byte offset `start` counts for."""
        raw = self.raw
        factor = TITLE_FACTOR if start < self.title_end else FIRST_SENTENCE_FACTOR if start < self.first_end else 1.0
        if start > self.aside:
            factor *= ASIDE_FACTOR
        if self.retracted and taken_back(self.retracted, start):
            factor *= RETRACTED_FACTOR
        before = raw[max(0, start - 24):start].decode("utf-8", "ignore")
        kind = hits[0][0]
        # Each pattern below is searched only where a character every match holds is there: a search costs ten
        # `in` tests, and a report's subject words come with none of these most of the time.
        # 在消防检查中发现: the occasion's own clause is discounted; 一家网咖，检查时发现: the premises, in a clause
        # before it, are not.
        if (self.background
                and any(a <= start < b and self.where.same_clause(start, o) for a, o, b in self.background)
                and not _inspected(before, kind)):
            factor *= BACKGROUND_FACTOR
        if self.in_order and self._said_in_order(start, word, hits):
            factor *= BACKGROUND_FACTOR
        elif kind == _MATTER and ("没" in before or "无" in before or "不" in before) and _DENIED.search(before):
            factor *= BACKGROUND_FACTOR  # 外面没有任何招牌: a matter said to be absent is none
        elif ("开" in before or "办" in before) and _OPENED.search(before):
            factor *= OPENED_FACTOR
        if kind != _INDUSTRY:
            return factor
        after = _after(raw, start, word)
        if "多" in after and _AROUND.search(before) and _MANY.match(after):
            factor *= BACKGROUND_FACTOR
        elif after[:1] in _WORKERS_FIRST and _WORKERS_OF.match(after):
            factor *= BACKGROUND_FACTOR
        elif hits[0][1] != self.building and _may_build(before) and _TO_BE_BUILT.search(before):
            factor *= BACKGROUND_FACTOR
        elif after[:1] in _LANDMARK_FIRST and _LANDMARK_AFTER.match(after):
            factor *= BACKGROUND_FACTOR
        return factor

    def _said_in_order(self, start: int, word: str, hits: tuple[SubjectHit, ...]) -> bool:
        """A matter named and at once declared in order (排放正常, 油烟净化器运行正常) is what was checked, not the
        complaint."""
        if not any(hit[0] == _MATTER for hit in hits):
            return False
        end = start + len(word.encode("utf-8"))
        return any(state_follows(self.raw, end, p, IN_ORDER_WINDOW) for p in self.in_order)


def _inspected(before: str, kind: int) -> bool:
    """Whether what was inspected is named just before (对一家KTV, 检查一家美甲店)."""
    if "对" in before and _INSPECTED.search(before):
        return True
    return kind == _INDUSTRY and ("查" in before or "访" in before) and _INSPECTED_PREMISES.search(before) is not None


def _may_build(before: str) -> bool:
    return "盖" in before or "建" in before or "搭" in before or "造" in before or "砌" in before


def retracted_spans(raw: bytes) -> list[tuple[int, int]]:
    """Byte spans a speaker took back: the clause said just before each 不对，是 / 说错了 (asked only when markers()
    found a correction's hint)."""
    spans: list[tuple[int, int]] = []
    for found in _CORRECTIONS.finditer(raw):
        end = found.start()
        breaks = [m.end() for m in _CLAUSE_ENDS.finditer(raw, 0, end) if m.end() < end]
        spans.append((breaks[-1] if breaks else 0, end))
    return spans


def taken_back(spans: list[tuple[int, int]], start: int) -> bool:
    return any(a <= start < b for a, b in spans)


def sold_there(raw: bytes, start: int, word: str) -> bool:
    """Whether goods named at `start` come with the shop that deals in them (卖鞭炮的小铺子): its premises."""
    if _SHOP.match(_after(raw, start, word)):
        return True
    return _SHOP_BEFORE.search(raw[max(0, start - 24):start].decode("utf-8", "ignore")) is not None


def _after(raw: bytes, start: int, word: str) -> str:
    end = start + len(word.encode("utf-8"))
    return raw[end:end + 27].decode("utf-8", "ignore")
