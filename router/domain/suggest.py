"""Catalogue suggestions from the loop: cases a human placed (accepted re-routes, rulings) teach words and places.

Pure: examples in, suggestions out, each with the cases that support it. Nothing here changes a catalogue; an
adjudicator accepts suggestions into a new version (`catalogue.suggestions.with_suggestions`).
"""

from __future__ import annotations

import logging
import re
from collections import defaultdict
from collections.abc import Iterable, Sequence
from functools import cache
from typing import Any, Final

from catalogue.binding import template_of, unit_of
from catalogue.model import Catalogue
from catalogue.suggestions import Example, Suggestion
from router.domain.compiled import CompiledCatalogue
from router.domain.decide import decide
from router.domain.lexicon import as_bytes
from router.domain.scan import scan
from router.domain.text import report_text
from schemas.report import Report


@cache
def _jieba() -> Any:
    # Imported on first use (~100 ms): the `caseroute` command registers this module for every command it runs.
    import jieba

    jieba.setLogLevel(logging.WARNING)  # its dictionary-loading chatter is no news to a caller
    return jieba

MIN_SUPPORT: Final = 2  # a word one case used may be that case's accident; two cases make it a habit
MIN_PRECISION: Final = 0.8  # of the placed cases whose text holds the word, this share must be the target's
# A place as people write it: a name of two to four characters and its kind; the name holds none of the words
# that glue a sentence (住在岐湖村 is 岐湖村, 边上的小区 no place at all).
_GLUE: Final = "我你他她它们这那的在是有个和与跟就都也还又去来到从对把被让给了着过一住说问能不没要会"
_PLACE: Final = re.compile(rf"([^{_GLUE}\W\d_a-zA-Z]{{2,4}}(?:社区|村|小区|花园|新村|家园|路|街|广场|大厦|市场|公园))")
_HAN: Final = re.compile(r"^[\u4e00-\u9fff]{2,6}$")
# Words every kind of report uses: they name no subject.
_COMMON: Final = frozenset("反映 举报 投诉 你好 我们 他们 现在 一直 已经 没有 什么 这个 那个 这边 那边 一下 问题 情况 "
                    "希望 麻烦 处理 部门 社区 小区 时候 看看 知道 觉得 可能 晚上 白天 每天 天天 附近 旁边 门口 "
                    "老板 工作人员 居民 住户 邻居 群众 市民 来电 网格员 发现 存在 进行 相关 要求 联系".split())


def _text(report: Report) -> str:
    return report_text(report.title, report.description)


def subjects_of(department: str, cat: Catalogue) -> list[str]:
    """The industries and matters whose rule names this department first: what a case it accepted was about."""
    code = template_of(department, cat)
    out = [f"matters.{m}" for m, matter in cat.matters.items()
           if matter.department == code or code in matter.by_industry.values()]
    out += [f"industries.{i}" for i, ind in cat.industries.items()
            if ind.prerequisites and ind.prerequisites[0].department == code]
    return out


def _places(text: str) -> Iterable[str]:
    for match in _PLACE.finditer(text):
        yield match.group(1)


def _words(text: str) -> set[str]:
    return {w for w in _jieba().lcut(text) if _HAN.match(w) and w not in _COMMON}


def _hinted_subject(targets: list[str], text: str, cc: CompiledCatalogue) -> str | None:
    """Which of the department's subjects the text is about: the only one, or the one its words hint at most."""
    if len(targets) == 1:
        return targets[0]
    sig = scan(text, 0, cc)
    scores = {f"industries.{k}": s.score for k, s in sig.industries.items()}
    scores.update({f"matters.{k}": s.score for k, s in sig.matters.items()})
    hinted = sorted(((scores[t], t) for t in targets if scores.get(t, 0) > 0), reverse=True)
    if not hinted or (len(hinted) > 1 and hinted[0][0] == hinted[1][0]):
        return None  # nothing or a tie: the adjudicator's call
    return hinted[0][1]


def _known(word: str, cc: CompiledCatalogue) -> bool:
    key = as_bytes(word)
    return bool(cc.words.automaton.exists(key) or cc.place_names.automaton.exists(key))


def suggest(cc: CompiledCatalogue, examples: Sequence[Example], *, min_support: int = MIN_SUPPORT
            ) -> list[Suggestion]:
    """Places and words the catalogue lacks, from the examples it routes otherwise than a human did."""
    cat = cc.catalogue
    places: dict[tuple[str, str], Suggestion] = {}
    place_units: dict[str, set[str]] = defaultdict(set)
    words: dict[tuple[str, str], Suggestion] = {}
    seen: dict[str, set[str]] = defaultdict(set)  # word -> placed cases whose text holds it
    for ex in examples:
        text = _text(ex.report)
        tokens = _words(text)
        for w in tokens:
            seen[w].add(ex.case_id)
        decision = decide(ex.report, cc)
        if decision.primary == ex.department:
            continue
        unit = unit_of(ex.department, cat)
        if unit is not None and decision.unit != unit:
            for place in _places(text):
                place_units[place].add(unit)
                if not _known(place, cc):
                    places.setdefault((unit, place), Suggestion("gazetteer", unit, place)).support.append(ex.case_id)
        target = _hinted_subject(subjects_of(ex.department, cat), text, cc)
        if target is None:
            continue  # the department owns several subjects and the text named none: the adjudicator's call
        for w in tokens:
            if not _known(w, cc):
                words.setdefault((target, w), Suggestion("alias", target, w)).support.append(ex.case_id)
    out = [s for (unit, place), s in places.items() if len(place_units[place]) == 1]
    targets_of: dict[str, int] = defaultdict(int)
    for _target, w in words:
        targets_of[w] += 1
    for (_target, w), s in words.items():
        if targets_of[w] > 1:
            continue  # a word two subjects claim decides neither (and an alias may name one subject only)
        s.seen_elsewhere = len(seen[w] - set(s.support))
        if len(s.support) >= min_support and len(s.support) / len(seen[w]) >= MIN_PRECISION:
            out.append(s)
    out.sort(key=lambda s: (-len(s.support), s.kind, s.target, s.word))
    return out
