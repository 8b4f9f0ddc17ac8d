"""Text normalisation: traditional to simplified, full-width to half-width, no spaces, one punctuation set."""

from __future__ import annotations

import re
import sys
from functools import cache
from types import ModuleType
from typing import Final

from router.domain.passes import Passes


def _import_zhconv() -> ModuleType:
    # zhconv imports the deprecated pkg_resources (~70 ms, a warning) only to open its own data file, and opens it
    # by path when that import fails: every `caseroute route` start would pay for it.
    if "pkg_resources" in sys.modules:
        import zhconv
        return zhconv
    sys.modules["pkg_resources"] = None  # type: ignore[assignment]  # a None entry makes the import fail
    try:
        import zhconv
    finally:
        del sys.modules["pkg_resources"]
    return zhconv


zhconv: Final = _import_zhconv()

SENTENCE_END: Final = "。！？\n"
CLAUSE_END: Final = SENTENCE_END + "，；：、"
_SENTENCE_RE: Final = re.compile(r"[。！？\n]")
# Hanzi by how common they are in Chinese text, most common first.
COMMON_HANZI: Final = (
    "的一是在不了有和人这中大为上个国我以要他时来用们生到作地于出就分对成会可主发年动同工也能下过子说产"
    "种面而方后多定行学法所民得经十三之进着等部度家电力里如水化高自二理起小物现实加量都两体制机当使点从"
    "业本去把性好应开它合还因由其些然前外天政四日那社义事平形相全表间样与关各重新线内数正心反你明看原又"
    "么利比或但质气第向道命此变条只没结解问意建月公无系军很情者最立代想已通并提直题党程展五果料象员革位"
    "入常文总次品式活设及管特件长求老头基资边流路级少图山统接知较将组见计别她手角期根论运农指几九区强放"
)
COMMON_CHARS: Final = "，。、！？：；\n0123456789" + COMMON_HANZI  # what report text is mostly made of
_PUNCT: Final = {",": "，", "!": "！", "?": "？", ";": "；", ":": "：", "(": "（", ")": "）"}


@cache
def _table() -> dict[int, str | None]:
    # One str.translate does the common work; whole-text zhconv costs ~40 µs, a translate ~5 µs.
    table: dict[int, str | None] = {}
    for trad, simp in zhconv.zhconv.getdict("zh-hans").items():
        if len(trad) == 1 and len(simp) == 1 and trad != simp:
            table[ord(trad)] = simp
    for code in range(0xFF01, 0xFF5F):  # full-width ASCII block
        table[code] = chr(code - 0xFEE0)
    for char in " \t\r\u3000\u00a0":
        table[ord(char)] = None
    for ascii_char, wide in _PUNCT.items():
        table[ord(ascii_char)] = wide
    # Full-width punctuation that the block above turned into ASCII goes back to the Chinese form.
    for ascii_char, wide in _PUNCT.items():
        table[ord(ascii_char) + 0xFEE0] = wide
    return table


def _listed(table: dict[int, str | None]) -> list[int | str | None]:
    """A translate table as a list by code point: no KeyError raised and cleared per unmapped character.

    For text without astral characters only: the list stops at U+FFFF (past it translate leaves a character).
    """
    out: list[int | str | None] = list(range(0x10000))
    for code, mapped in table.items():
        if code < 0x10000:
            out[code] = ord(mapped) if mapped is not None and len(mapped) == 1 else mapped
    return out


@cache
def _table_listed() -> list[int | str | None]:
    return _listed(_table())


@cache
def _traditional() -> frozenset[str]:
    return frozenset(
        trad for trad, simp in zhconv.zhconv.getdict("zh-hans").items() if len(trad) == 1 and trad != simp
    )


_MARK: Final = 0  # what the fast table writes for a character it cannot handle alone
_ASTRAL: Final = re.compile("[\U00010000-\U0010ffff]")


@cache
def _fast_table() -> list[int | str | None]:
    # A list indexed by code point: str.translate then never raises (and clears) a KeyError per
    # unmapped character, which is most of a dict table's cost. lower() is folded in; traditional
    # characters and the context-dependent capital sigma map to _MARK and take the full path.
    table = _table()
    out: list[int | str | None] = []
    for code in range(0x10000):
        mapped = table.get(code, chr(code))
        out.append(None if mapped is None else mapped.lower())
    for code in map(ord, _traditional()):
        if code < 0x10000:  # astral characters take the full path anyway
            out[code] = _MARK
    out[ord("Σ")] = _MARK
    # Ints for single characters: translate copies those without building a string per character.
    return [ord(v) if isinstance(v, str) and len(v) == 1 else v for v in out]


@cache
def _changing() -> re.Pattern[str]:
    # Every character the fast table changes or cannot handle, and astral ones: most report text has none
    # of them (Chinese punctuation maps to itself), and one regex search is a tenth of a translate.
    table = _fast_table()
    ranges: list[list[int]] = []
    for code in range(0x10000):
        if table[code] != code:
            if ranges and ranges[-1][1] == code - 1:
                ranges[-1][1] = code
            else:
                ranges.append([code, code])
    parts = (re.escape(chr(a)) if a == b else f"{re.escape(chr(a))}-{re.escape(chr(b))}" for a, b in ranges)
    return re.compile(f"[{''.join(parts)}\U00010000-\U0010ffff]")


@cache
def _simplifier() -> tuple[dict[int, str], list[int | str | None], Passes]:
    """zhconv's character table, and an automaton of the phrases it converts otherwise than by character."""
    # zhconv takes the longest dictionary phrase at each position; where every phrase in the text converts
    # as its characters do, that is the character-by-character result, whatever the phrasing.
    table = zhconv.zhconv.getdict("zh-hans")
    chars = {ord(trad): simp for trad, simp in table.items() if len(trad) == 1}
    phrases = [(trad.encode("utf-8", "surrogatepass").decode("latin-1"), trad) for trad, simp in table.items()
               if len(trad) > 1 and simp != trad.translate(chars)]
    return chars, _listed(dict(chars)), Passes(phrases)


def _holds_phrase(text: str) -> bool:
    _chars, _listed_chars, phrases = _simplifier()
    return bool(phrases.every(text.encode("utf-8", "surrogatepass").decode("latin-1")))


def _simplified(text: str) -> str:
    """zhconv.convert(text, "zh-hans"), by one translate unless the text holds a phrase (乾燥→干燥)."""
    chars, listed, _phrases = _simplifier()
    if _holds_phrase(text):
        return zhconv.convert(text, "zh-hans")  # pure Python, ~70 µs a report: only for these phrases
    return text.translate(chars if _ASTRAL.search(text) else listed)


@cache
def _simplified_listed() -> list[int | str | None]:
    """_simplified's character table followed by _table()'s, as one list table: for text without astral
    characters or phrases, simplifying and then normalising by one translate, not two. (Each translate looks every
    character up in a 64K-entry table: in a decision's company, most lookups miss the cache.)"""
    chars, _listed_chars, _phrases = _simplifier()
    table = _table()
    out = list(_table_listed())  # a character the simplifier leaves as it is normalises as before
    for code, simp in chars.items():
        if code < 0x10000:
            # As the second translate would: each character of the simplified form through _table() (the
            # list form agrees with it below U+10000, and after an astral character _full asks _table() itself).
            mapped = "".join(_mapped(table.get(ord(c), c)) for c in simp)
            out[code] = ord(mapped) if len(mapped) == 1 else mapped or None
    return out


def _mapped(value: str | None) -> str:
    return "" if value is None else value


# Voice-to-text transcripts and phone-typed posts put a space where writing puts a comma (嗯 那个 楼道里 有人放了
# 煤气罐): a space between two Chinese characters ends a clause, so a negation or a "what it is in" state
# does not reach across it; other spaces just go.
_SPACE_BETWEEN_HANZI: Final = re.compile("(?<=[\u3400-\u9fff])[ \t\u3000\u00a0]+(?=[\u3400-\u9fff])")


def _clauses_at_spaces(text: str) -> str:
    if " " in text or "\u3000" in text or "\t" in text or "\u00a0" in text:
        return _SPACE_BETWEEN_HANZI.sub("，", text)
    return text


def _full(text: str) -> str:
    text = _clauses_at_spaces(text)
    if not _traditional().isdisjoint(text):  # traditional text (rare)
        if _ASTRAL.search(text) is None and not _holds_phrase(text):
            return text.translate(_simplified_listed()).lower()
        text = _simplified(text)
    return text.translate(_table() if _ASTRAL.search(text) else _table_listed()).lower()


def normalise(text: str) -> str:
    """The form every lexicon is matched against: simplified, half-width, no spaces (a space between two Chinese
    characters becomes a comma), lower-case ASCII."""
    if not text:
        return ""
    text = _clauses_at_spaces(text)
    found = _changing().search(text)
    if found is None:
        return text
    code = ord(found.group())
    if code < 0x10000 and _fast_table()[code] == _MARK:
        return _full(text)  # traditional text: the fast table's translate would only mark it for the careful path
    out = text.translate(_fast_table())
    if "\x00" in out or _ASTRAL.search(text) is not None:
        return _full(text)  # traditional, astral or odd-cased text: the careful (4x slower) path
    return out


def report_text(title: str | None, description: str) -> str:
    """A report's title and description as one normalised text; the title ends at the first line break."""
    return normalise(f"{title}\n{description}" if title else description)


def normalise_address(address: str | None, strip_prefixes: tuple[str, ...] = ()) -> str:
    """An address reduced for comparison: normalised, without district prefixes and punctuation."""
    if not address:
        return ""
    out = normalise(address)
    for prefix in strip_prefixes:
        if out.startswith(prefix):
            out = out[len(prefix) :]
    return re.sub(r"[，。；：、（）()\-·]", "", out)


def sentence_ends(text: str) -> list[int]:
    """Positions of sentence terminators, for bisecting a position into its sentence."""
    return [m.start() for m in _SENTENCE_RE.finditer(text)]
