"""An automaton's passes over a text, in C when router/domain/_automaton.c is built, else by pyahocorasick."""

from __future__ import annotations

import importlib
from typing import Any, Final

import ahocorasick


def _automaton_in_c() -> Any:
    """router/domain/_automaton.c compiled (`make venv` builds it with the rest of the domain), or None: the sources
    then ask pyahocorasick, with the same matches (tests/unit/router/test_passes.py compares them)."""
    try:
        return importlib.import_module("router.domain._automaton")
    except ImportError:
        return None


_IN_C: Final[Any] = _automaton_in_c()


class Passes:
    """An automaton's longest-match pass (iter_long) and every-match pass (iter), each as one list of (end, value).

    The main lexicon's longest-match pass is made for every report, the places' for most, and pyahocorasick walked
    a byte at a time through pointer-linked nodes, each child found by a linear scan, each match handed back through
    an iterator: compiled, router/domain/_automaton.c makes the same passes over the same trie and failure links a
    character at a time, each move one look-up in a table, and returns one list."""

    __slots__ = ("_in_c", "automaton")

    def __init__(self, words: list[tuple[str, Any]]) -> None:
        """The passes of an automaton of `words`: (key, value) pairs, each key the latin-1 view of a word's UTF-8
        bytes (lexicon.as_bytes), none twice."""
        automaton = ahocorasick.Automaton()
        for key, value in words:
            automaton.add_word(key, value)
        automaton.make_automaton()
        self.automaton = automaton  # the sources' passes, and what else asks the automaton (exists, items)
        self._in_c: Any = None if _IN_C is None else _IN_C.Automaton(words)

    def longest(self, text: str) -> list[tuple[int, Any]]:
        """list(automaton.iter_long(text)), `text` the latin-1 view of UTF-8 bytes (lexicon.as_bytes)."""
        if self._in_c is not None:
            found: list[tuple[int, Any]] = self._in_c.longest(text)
            return found
        return list(self.automaton.iter_long(text))

    def every(self, text: str) -> list[tuple[int, Any]]:
        """list(automaton.iter(text)), `text` the latin-1 view of UTF-8 bytes (lexicon.as_bytes)."""
        if self._in_c is not None:
            found: list[tuple[int, Any]] = self._in_c.every(text)
            return found
        return list(self.automaton.iter(text))
