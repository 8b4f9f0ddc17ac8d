"""router/domain/_longest.c finds exactly what pyahocorasick's iter_long finds, value for value."""

from __future__ import annotations

import random
from pathlib import Path

import ahocorasick
import orjson
import pytest

from router.domain import lexicon
from router.domain.compiled import CompiledCatalogue
from router.domain.lexicon import as_bytes
from router.domain.text import normalise, report_text

REPO = Path(__file__).resolve().parents[3]


def _in_c() -> object:
    if lexicon._LONGEST is None:
        pytest.skip("router/domain/_longest.c is not built, or the sources run: only pyahocorasick searches")
    return lexicon._LONGEST


def _texts(words: list[str]) -> list[str]:
    """Report texts and addresses of tests/data, and glued pieces of the automaton's own words: the partial and
    overlapping matches, and the failure links taken, that a longest-match pass must get right."""
    texts = ["", "a", "\n\n", "😀😀 ab", "\ud800半个代理"]
    for path in sorted((REPO / "tests" / "data").glob("blind*_cases.jsonl"))[:20]:
        for line in path.read_text(encoding="utf-8").splitlines():
            if line.strip():
                report = orjson.loads(line)["report"]
                texts.append(report_text(report.get("title"), report["description"]))
                texts.append(normalise((report.get("location") or {}).get("address") or ""))
    rng = random.Random(3)
    for _ in range(20000):
        pieces = []
        for _ in range(rng.randint(1, 20)):
            word = rng.choice(words)
            start = rng.randint(0, len(word) - 1) if rng.random() < 0.3 else 0
            pieces.append(word[start:rng.randint(start + 1, len(word))])
        texts.append("".join(pieces))
    return texts


@pytest.mark.parametrize("which", ["automaton", "places", "venues"])
def test_the_longest_pass_in_c_finds_what_iter_long_finds(cc: CompiledCatalogue, which: str) -> None:
    module = _in_c()
    automaton: ahocorasick.Automaton = getattr(cc, which)
    in_c = module.Longest(list(automaton.items()))  # type: ignore[attr-defined]
    words = [key.encode("latin-1").decode("utf-8", "surrogatepass") for key, _ in automaton.items()]
    found = 0
    for text in _texts(words):
        key = as_bytes(text)
        expected = list(automaton.iter_long(key))
        got = in_c.find(key)
        assert got == expected, text
        assert all(a[1] is b[1] for a, b in zip(got, expected, strict=True))
        found += len(got)
    assert found > 10000


def test_the_compiled_catalogue_asks_c_when_it_is_built(cc: CompiledCatalogue) -> None:
    _in_c()
    text = as_bytes("南门街道一家饭店无证经营，厨房里堆着煤气罐。")
    assert cc.words.matches(text) == list(cc.automaton.iter_long(text)) != []
    assert cc.words._in_c is not None


def test_text_that_is_not_utf8_is_refused() -> None:
    module = _in_c()
    in_c = module.Longest([("ab", 1)])  # type: ignore[attr-defined]
    assert in_c.find("xab") == [(2, 1)]
    for bad in ("\xe5\x8d", "\x80", "\xc0\x80"):
        with pytest.raises(ValueError):
            in_c.find(bad)
    with pytest.raises(TypeError):
        in_c.find("南门")  # characters, not the latin-1 view of their bytes
