"""router/domain/_automaton.c finds exactly what pyahocorasick's iter_long and iter find, value for value."""

from __future__ import annotations

import random
from pathlib import Path
from typing import Any

import ahocorasick
import orjson
import pytest
import zhconv

from router.domain import passes, salience
from router.domain.compiled import CompiledCatalogue
from router.domain.lexicon import as_bytes
from router.domain.text import _simplifier, normalise, report_text

REPO = Path(__file__).resolve().parents[3]


def _in_c() -> Any:
    if passes._IN_C is None:
        pytest.skip("router/domain/_automaton.c is not built, or the sources run: only pyahocorasick searches")
    return passes._IN_C


def _texts(words: list[str]) -> list[str]:
    """Report texts (simplified, as typed, traditional) and addresses of tests/data, and glued pieces of the
    automaton's own words: the partial and overlapping matches, and the failure links taken, that a pass must get
    right."""
    texts = ["", "a", "\n\n", "😀😀 ab", "\ud800半个代理"]
    for path in sorted((REPO / "tests" / "data").glob("blind*_cases.jsonl"))[:20]:
        for line in path.read_text(encoding="utf-8").splitlines():
            if line.strip():
                report = orjson.loads(line)["report"]
                texts.append(report_text(report.get("title"), report["description"]))
                texts.append(report["description"])
                texts.append(normalise((report.get("location") or {}).get("address") or ""))
    texts += [zhconv.convert(text, "zh-hant") for text in texts[:600]]
    rng = random.Random(3)
    for _ in range(20000):
        pieces = []
        for _ in range(rng.randint(1, 20)):
            word = rng.choice(words)
            start = rng.randint(0, len(word) - 1) if rng.random() < 0.3 else 0
            pieces.append(word[start:rng.randint(start + 1, len(word))])
        texts.append("".join(pieces))
    return texts


@pytest.mark.parametrize("which", ["words", "place_names", "venue_names", "markers", "phrases"])
def test_the_passes_in_c_find_what_pyahocorasick_finds(cc: CompiledCatalogue, which: str) -> None:
    module = _in_c()
    automata = {"markers": salience._MARKERS.automaton, "phrases": _simplifier()[2].automaton}
    automaton: ahocorasick.Automaton = automata[which] if which in automata else getattr(cc, which).automaton
    in_c = module.Automaton(list(automaton.items()))
    words = [key.encode("latin-1").decode("utf-8", "surrogatepass") for key, _ in automaton.items()]
    found = 0
    for text in _texts(words):
        key = as_bytes(text)
        for got, expected in ((in_c.longest(key), list(automaton.iter_long(key))),
                              (in_c.every(key), list(automaton.iter(key)))):
            assert got == expected, text
            assert all(a[1] is b[1] for a, b in zip(got, expected, strict=True))
            found += len(got)
    assert found > 10000


def test_the_compiled_catalogue_asks_c_when_it_is_built(cc: CompiledCatalogue) -> None:
    _in_c()
    text = as_bytes("南门街道一家饭店无证经营，厨房里堆着煤气罐，楼道里也堆满了。")
    assert cc.words.longest(text) == list(cc.words.automaton.iter_long(text)) != []
    assert cc.venue_names.every(text) == list(cc.venue_names.automaton.iter(text)) != []
    assert cc.words._in_c is not None


def test_text_that_is_not_utf8_is_refused() -> None:
    module = _in_c()
    in_c = module.Automaton([("ab", 1), ("b", 2)])
    assert in_c.longest("xab") == [(2, 1)]
    assert in_c.every("xab") == [(2, 1), (2, 2)]
    for bad in ("\xe5\x8d", "\x80", "\xc0\x80"):
        with pytest.raises(ValueError):
            in_c.longest(bad)
    with pytest.raises(TypeError):
        in_c.every("南门")  # characters, not the latin-1 view of their bytes


def test_keys_are_whole_characters_each_once() -> None:
    module = _in_c()
    for bad in ([("ab", 1), ("ab", 2)], [("a\xe5", 1)], [("", 1)]):
        with pytest.raises(ValueError):
            module.Automaton(bad)
    words = [("abc", 1), ("a", 2), ("ab", 3), ("b", 4)]
    prefixes = module.Automaton(words)  # built from the keys sorted
    automaton = ahocorasick.Automaton()
    for key, value in words:
        automaton.add_word(key, value)
    automaton.make_automaton()
    assert prefixes.every("xabcb") == list(automaton.iter("xabcb")) == [(1, 2), (2, 3), (2, 4), (3, 1), (4, 4)]
    assert prefixes.longest("xabcb") == list(automaton.iter_long("xabcb")) == [(3, 1), (4, 4)]
