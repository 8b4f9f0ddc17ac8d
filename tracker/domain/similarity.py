"""Text similarity over past cases (pure): jieba words and adjacent word pairs, TF-IDF, cosine.

Used for "similar earlier cases" in the adjudication queue, for clustering recent gap cases by text and
place (发现空白), and for suggesting the words a ruling saved as a rule should match.
"""

from __future__ import annotations

import logging
import math
import re
from collections import Counter
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from functools import lru_cache
from itertools import pairwise

import jieba

jieba.setLogLevel(logging.WARNING)
_WORD = re.compile(r"^[\u4e00-\u9fffA-Za-z0-9]+$")
# Words of how people report, not of what they report: they would make every complaint look alike.
STOPWORDS = frozenset("""
你好 喂 请问 我想 想问 问问 一下 这个 那个 这种 那种 这里 那边 这边 什么 怎么 为什么 到底 是不是 有没有 谁管 哪个
部门 监管 管理 反映 投诉 举报 咨询 居民 村民 群众 市民 家长 附近 周边 社区 街道 村里 小区 一家 一处 多家 有人 我们 他们
你们 现在 最近 每天 晚上 已经 没有 不是 就是 还是 但是 因为 所以 如果 可以 需要 要求 希望 情况 问题 事情 明确 不清楚
尚不明确 由哪个 归哪个 应该 找谁 这事 一直 目前 发现 存在 担心 觉得 认为 表示 称 说 要 有 是 在 了 的 和 与 及
该类 公司 活动 服务 经营 是否 相关 有关 进行 出现 组织 提供 对外 某 之前 每个 几个 好几个 一个 多个 很多 知道 告诉
""".split())
PLACE_BONUS = 0.15  # same unit, or within NEARBY_M: a cluster is a kind of case at a place
NEARBY_M = 1000.0


@lru_cache(maxsize=4096)
def _cut(text: str) -> tuple[str, ...]:
    return tuple(jieba.lcut(text))


PARTICLES = frozenset("的了在和与及是有个把被给让着过也都就还又很吗呢吧啊呀么之其这那我你他她它们一不没"
                      "已或才里由上下中内外后前时等为从对向到说要会能可将让而且并但即如若每")


def terms(text: str, exclude: frozenset[str] = frozenset()) -> list[str]:
    """Content words (2+ characters, no stopwords or place names), and a word with the single character
    jieba split off it (充电 宝 → 充电宝), since the compound is what names the thing."""
    words = [w for w in _cut(text) if _WORD.match(w)]
    out = [w for w in words if len(w) >= 2 and w not in STOPWORDS and w not in exclude]
    for a, b in pairwise(words):
        if len(b) != 1 or not 2 <= len(a) <= 3 or {a, b} & (STOPWORDS | PARTICLES | exclude):
            continue
        out.append(a + b)
    return out


@lru_cache(maxsize=1)
def _general_idf() -> dict[str, float]:
    import jieba.analyse

    table: dict[str, float] = jieba.analyse.default_tfidf.idf_freq
    return table


def place_words(names: Iterable[str]) -> frozenset[str]:
    """The words of place names (华兴社区 → 华兴, 社区), to keep places out of suggested terms."""
    return frozenset(w for name in names for w in _cut(name) if len(w) >= 2)


@dataclass
class Corpus:
    """Document frequencies over a set of documents (each a list of terms), for TF-IDF weights."""

    size: int = 0
    df: Counter[str] = field(default_factory=Counter)

    @classmethod
    def of(cls, documents: Iterable[Sequence[str]]) -> Corpus:
        corpus = cls()
        for doc in documents:
            corpus.size += 1
            corpus.df.update(set(doc))
        return corpus

    def idf(self, term: str) -> float:
        return math.log((1 + self.size) / (1 + self.df.get(term, 0))) + 1.0

    def vector(self, doc: Sequence[str]) -> dict[str, float]:
        """The unit-length TF-IDF vector of a document."""
        counts = Counter(doc)
        weights = {t: (1 + math.log(n)) * self.idf(t) for t, n in counts.items()}
        norm = math.sqrt(sum(w * w for w in weights.values())) or 1.0
        return {t: w / norm for t, w in weights.items()}


def cosine(a: dict[str, float], b: dict[str, float]) -> float:
    if len(a) > len(b):
        a, b = b, a
    return sum(w * b.get(t, 0.0) for t, w in a.items())


@dataclass(frozen=True)
class Doc:
    """A case as the similarity functions see it: its terms and its place."""

    key: str
    terms: tuple[str, ...]
    unit: str | None = None
    lat: float | None = None
    lon: float | None = None


def distance_m(a: Doc, b: Doc) -> float | None:
    if None in (a.lat, a.lon, b.lat, b.lon):
        return None
    assert a.lat is not None and a.lon is not None and b.lat is not None and b.lon is not None
    la1, la2 = math.radians(a.lat), math.radians(b.lat)
    dla, dlo = la2 - la1, math.radians(b.lon - a.lon)
    h = math.sin(dla / 2) ** 2 + math.cos(la1) * math.cos(la2) * math.sin(dlo / 2) ** 2
    return 2 * 6_371_000 * math.asin(min(1.0, math.sqrt(h)))


def same_place(a: Doc, b: Doc) -> bool:
    near = distance_m(a, b)
    return (near is not None and near <= NEARBY_M) or (a.unit is not None and a.unit == b.unit)


def most_similar(query: Doc, past: Sequence[Doc], *, k: int = 5, min_score: float = 0.15,
                 corpus: Corpus | None = None) -> list[tuple[Doc, float]]:
    """The k past documents most like the query (text cosine, a bonus for the same place), best first."""
    corpus = corpus or Corpus.of([query.terms, *(d.terms for d in past)])
    qv = corpus.vector(query.terms)
    scored = []
    for doc in past:
        if doc.key == query.key:
            continue
        score = cosine(qv, corpus.vector(doc.terms))
        if score > 0 and same_place(query, doc):
            score += PLACE_BONUS
        if score >= min_score:
            scored.append((doc, round(min(score, 1.0), 3)))
    scored.sort(key=lambda pair: (-pair[1], pair[0].key))
    return scored[:k]


def clusters(docs: Sequence[Doc], *, threshold: float = 0.3, corpus: Corpus | None = None) -> list[list[Doc]]:
    """Groups of similar documents (single link over pairs at or above the threshold), largest first."""
    corpus = corpus or Corpus.of(d.terms for d in docs)
    vectors = [corpus.vector(d.terms) for d in docs]
    parent = list(range(len(docs)))

    def root(i: int) -> int:
        while parent[i] != i:
            parent[i] = parent[parent[i]]
            i = parent[i]
        return i

    for i in range(len(docs)):
        for j in range(i + 1, len(docs)):
            score = cosine(vectors[i], vectors[j])
            if score > 0 and same_place(docs[i], docs[j]):
                score += PLACE_BONUS
            if score >= threshold:
                parent[root(j)] = root(i)
    groups: dict[int, list[Doc]] = {}
    for i, doc in enumerate(docs):
        groups.setdefault(root(i), []).append(doc)
    return sorted(groups.values(), key=lambda g: (-len(g), g[0].key))


def key_terms(members: Sequence[Sequence[str]], corpus: Corpus, *, k: int = 4) -> list[str]:
    """Words that name what the members share: in at least half of them, rare elsewhere, longest kept."""
    if not members:
        return []
    coverage: Counter[str] = Counter()
    for doc in members:
        coverage.update(set(doc))
    need = max(1, math.ceil(len(members) / 2))
    general = _general_idf()
    median = sorted(general.values())[len(general) // 2] if general else 1.0

    def score(t: str) -> float:
        # Shared by the members, rare in these cases and rare in Chinese at large (jieba's IDF table).
        return coverage[t] ** 2 * (corpus.idf(t) + general.get(t, median)) * min(len(t), 3)

    ranked = sorted((t for t, n in coverage.items() if n >= need), key=lambda t: (-score(t), t))
    chosen: list[str] = []
    for term in ranked:
        if any(term in c or c in term for c in chosen):
            continue  # 充电宝 and 共享充电宝 say the same: keep the first, better-ranked one
        chosen.append(term)
        if len(chosen) == k:
            break
    return chosen
