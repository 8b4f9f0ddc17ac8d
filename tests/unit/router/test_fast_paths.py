"""The hot-path shortcuts give exactly what the plain code gives: tables, trusted models, byte automata."""

from __future__ import annotations

import json
import random
import re
from collections.abc import Callable, Iterable
from pathlib import Path
from typing import Any

import ahocorasick
import pytest
import zhconv

from router.domain import build, classify, salience, scan, signals
from router.domain.build import trusted
from router.domain.compiled import CompiledCatalogue
from router.domain.rounding import round3
from router.domain.signals import chars_within
from router.domain.text import _full, _simplified, _simplified_listed, _table, normalise
from schemas.decision import Candidate, Evidence, Rule

SAMPLES = [
    "南门街道一家饭店无证经营，厨房里堆着煤气罐。",
    "ＫＴＶ包厢（三楼）没有灭火器!  Fire exit LOCKED",
    "網格員巡查：長豐社區一沿街理髮店，店內滅火器已過期。",
    "电瓶车 充电😀\u3000\u00a0\t大楼Σ",
    "乾燥的天氣",
]


def test_normalise_matches_the_careful_path_on_every_kind_of_text() -> None:
    rng = random.Random(5)
    codes = [*range(0x20, 0x2FF), *range(0x3000, 0x3040), *range(0x4E00, 0x9FA5, 7), *range(0xFF01, 0xFF5F)]
    pool = [chr(c) for c in codes]
    texts = list(SAMPLES)
    for base in SAMPLES * 200:
        chars = list(base)
        for _ in range(rng.randint(1, 5)):
            chars.insert(rng.randint(0, len(chars)), rng.choice(pool))
        text = "".join(chars)
        texts.append(zhconv.convert(text, "zh-hant") if rng.random() < 0.2 else text)
    for text in texts:
        assert normalise(text) == _full(text), text


def test_a_space_between_chinese_characters_ends_a_clause_and_other_spaces_go() -> None:
    # Voice-to-text transcripts put a space where writing puts a comma.
    assert normalise("嗯 那个 楼道里\u3000有人放了煤气罐") == "嗯，那个，楼道里，有人放了煤气罐"
    assert normalise("KTV 包厢 no exit") == "ktv包厢noexit"


def test_simplification_matches_zhconv_also_where_phrases_convert_otherwise_than_characters() -> None:
    rng = random.Random(9)
    table = zhconv.zhconv.getdict("zh-hans")
    phrases = [trad for trad in table if len(trad) > 1]  # regular and irregular (乾燥, 後面) alike
    chars = [trad for trad, simp in table.items() if len(trad) == 1 and trad != simp]
    texts = [zhconv.convert(sample, "zh-hant") for sample in SAMPLES]
    for _ in range(3000):
        parts = [rng.choice(phrases) if rng.random() < 0.3 else rng.choice(chars) for _ in range(rng.randint(1, 12))]
        texts.append("".join(parts) + rng.choice(SAMPLES))
    for text in texts:
        assert _simplified(text) == zhconv.convert(text, "zh-hans"), text
        # A space between two Chinese characters is a clause break (a comma); any other space goes.
        spaced = re.sub("(?<=[\u3400-\u9fff])[ \t\u3000\u00a0]+(?=[\u3400-\u9fff])", "，", text)
        careful = zhconv.convert(spaced, "zh-hans").translate(_table()).lower()
        assert normalise(text) == _full(text) == careful, text


def test_trusted_models_equal_validated_ones() -> None:
    values = {"kind": "lexicon", "what": "industry=catering", "source": "title", "words": ["饭店"]}
    built = trusted(Evidence, dict(values))
    assert built == Evidence.model_validate(values)
    assert built.model_dump() == values and built.model_fields_set == set(values)
    candidate = trusted(Candidate, {"department": "amr", "rule": Rule.R9, "score": 0.3})  # decide() passes a Rule
    assert candidate.model_dump_json() == Candidate(department="amr", rule="R9", score=0.3).model_dump_json()


def test_trusted_models_made_in_c_are_the_python_steps_models() -> None:
    if build._MADE is None:
        pytest.skip("router/domain/_trusted.c is not built, or the sources run: only the Python steps make models")
    values = {"kind": "lexicon", "what": "industry=catering", "source": "title", "words": ["饭店"]}
    in_c = build._MADE(Evidence, dict(values), set(values))
    by_steps = build._new(Evidence)
    build._set_dict(by_steps, dict(values))
    build._set_fields(by_steps, set(values))
    build._set_extra(by_steps, None)
    build._set_private(by_steps, None)
    assert type(in_c) is Evidence and in_c == by_steps == Evidence.model_validate(values)
    assert (in_c.__dict__, in_c.model_fields_set, in_c.model_extra, in_c.__pydantic_private__) == (
        by_steps.__dict__, by_steps.model_fields_set, None, None)
    assert in_c.model_dump_json() == by_steps.model_dump_json()
    copied = in_c.model_copy(update={"what": "x"})  # pydantic's own steps work on it
    assert copied.what == "x" and in_c.what == "industry=catering"
    partial = trusted(Evidence, {"kind": "rule", "what": "R9 matter", "source": "router"})  # a field left out
    assert partial.model_fields_set == {"kind", "what", "source"}
    with pytest.raises(TypeError):
        build._MADE(dict, {}, set())  # not a pydantic model


def _char_automaton(byte_automaton: ahocorasick.Automaton) -> ahocorasick.Automaton:
    auto = ahocorasick.Automaton()
    for key, value in byte_automaton.items():
        auto.add_word(key.encode("latin-1").decode("utf-8"), value)
    auto.make_automaton()
    return auto


def _in_characters(raw: bytes, matches: Iterable[tuple[int, Any]]) -> list[tuple[int, Any]]:
    """Byte-automaton matches with their end offsets turned into character offsets."""
    return [(len(raw[: last_byte + 1].decode("utf-8", "surrogatepass")) - 1, value) for last_byte, value in matches]


def test_automata_over_bytes_find_what_automata_over_characters_find(cc: CompiledCatalogue) -> None:
    lexicon = _char_automaton(cc.words.automaton)
    venues, places = _char_automaton(cc.venue_names.automaton), _char_automaton(cc.place_names.automaton)
    words = [key.encode("latin-1").decode("utf-8") for key, _ in cc.words.automaton.items()]
    alphabet = sorted({ch for word in words for ch in word}) + list("，。！\n的了是在有和a1😀")
    rng = random.Random(11)
    for i in range(3000):
        if i % 2:  # glued fragments of real words make the overlapping, partial matches that matter
            text = "".join(rng.choice(words)[: rng.randint(1, 4)] for _ in range(rng.randint(1, 25)))
        else:
            text = "".join(rng.choice(alphabet) for _ in range(rng.randint(1, 80)))
        raw = text.encode("utf-8", "surrogatepass")
        as_bytes = raw.decode("latin-1")
        assert _in_characters(raw, cc.words.automaton.iter_long(as_bytes)) == list(lexicon.iter_long(text)), text
        assert _in_characters(raw, cc.venue_names.automaton.iter(as_bytes)) == list(venues.iter(text)), text
        assert _in_characters(raw, cc.place_names.automaton.iter_long(as_bytes)) == list(places.iter_long(text)), text
        for end, (length, word, *_) in lexicon.iter(text):  # the value names the word and its bytes
            assert text[end - len(word) + 1 : end + 1] == word and len(word.encode()) == length


def test_character_distances_from_byte_offsets() -> None:
    text = "没有a😀营业执照，也没"
    raw = text.encode("utf-8")

    def at(i: int) -> int:
        return len(text[:i].encode("utf-8"))

    for a in range(len(text) + 1):
        for b in range(len(text) + 1):
            for most in (0, 2, 4, 6):
                expected = b - a if 0 <= b - a <= most else None
                assert chars_within(raw, at(a), at(b), most) == expected, (a, b, most)


def test_round3_is_round_to_three_places() -> None:
    rng = random.Random(3)
    values = [rng.random() for _ in range(200_000)] + [rng.uniform(0, 50) for _ in range(50_000)]
    values += [k / 1000 for k in range(20_000)] + [(k + 0.5) / 1000 for k in range(20_000)]
    values += [k / 2000 for k in range(20_000)]  # the halves, where round() itself is asked
    values += [1 - 0.5 ** (s / 10) for s in range(400)] + [0.0, -0.0, -0.25, 1e-12, 0.0005, 0.0015, 2.675, 1e12]
    values += [float("inf"), float("-inf")] + [rng.uniform(1e5, 1e7) for _ in range(20_000)]
    values += [(k + 0.5) / 1000 for start in (10**6, 10**9) for k in range(start, start + 2000)]  # large halves
    for x in values:
        assert repr(round3(x)) == repr(round(x, 3)), x


def _texts() -> list[str]:
    data = Path(__file__).resolve().parents[2] / "data"
    out = []
    for path in sorted(data.glob("*_cases.jsonl")):
        for line in path.read_text(encoding="utf-8").splitlines():
            if line.strip():
                report = json.loads(line)["report"]
                out.append(normalise(f"{report.get('title') or ''}\n{report['description']}"))
                out.append(normalise((report.get("location") or {}).get("address") or ""))
    return out


# Each guard says whether its pattern can match at all: it may say yes where the pattern finds nothing, never no
# where it finds something.
_WHOLE_TEXT: list[tuple[re.Pattern[str], Callable[[str], bool]]] = [
    (classify._STOREYS, classify._may_add_storeys),
    (classify._OWNER_UNKNOWN, classify._may_say_owner_unknown),
    (scan._GAS_SMELL, lambda t: "气" in t),
    (scan._CHEMICAL_LEAK, lambda t: "桶" in t or "罐" in t or "瓶" in t),
    (scan.NEAR, lambda t: any(c in t for c in scan.NEAR_CHARS)),
]
_BEFORE: list[tuple[re.Pattern[str], Callable[[str], bool]]] = [
    (salience._INSPECTED, lambda b: "对" in b),
    (salience._INSPECTED_PREMISES, lambda b: "查" in b or "访" in b),
    (salience._DENIED, lambda b: "没" in b or "无" in b or "不" in b),
    (salience._OPENED, lambda b: "开" in b or "办" in b),
    (salience._TO_BE_BUILT, salience._may_build),
    (scan._USED_AS, scan._may_be_used_as),
]
_AFTER: list[tuple[re.Pattern[str], Callable[[str], bool]]] = [
    (salience._MANY, lambda a: "多" in a),
    (salience._WORKERS_OF, lambda a: a[:1] in salience._WORKERS_FIRST),
    (salience._LANDMARK_AFTER, lambda a: a[:1] in salience._LANDMARK_FIRST),
    (scan.NEAR, lambda a: a[:1] in scan._NEAR_FIRST),
]


def _spliced(rng: random.Random, patterns: list[re.Pattern[str]]) -> list[str]:
    """Strings that hold what the patterns look for: their literal runs of Chinese, glued at random."""
    pieces = [run for p in patterns for run in re.findall("[\u4e00-\u9fff]+", p.pattern)]
    return ["".join(rng.choice(pieces) for _ in range(rng.randint(1, 4))) for _ in range(3000)]


def test_a_pattern_is_skipped_only_where_it_cannot_match() -> None:
    rng = random.Random(13)
    texts = _texts()
    texts += _spliced(rng, [p for p, _ in _WHOLE_TEXT + _BEFORE + _AFTER])
    for text in texts:
        for pattern, may in _WHOLE_TEXT:
            assert may(text) or pattern.search(text) is None, (pattern.pattern, text)
        for at in range(0, len(text) + 1):
            before, after = text[max(0, at - 8):at], text[at:at + 9]
            for pattern, may in _BEFORE:
                assert may(before) or pattern.search(before) is None, (pattern.pattern, before)
            for pattern, may in _AFTER:
                assert may(after) or pattern.match(after) is None, (pattern.pattern, after)
    assert scan._sentence_end("标题\n第一句。第二句！", 3) == 6 and scan._sentence_end("没有句末", 0) == -1


def test_one_translate_simplifies_and_normalises_every_traditional_character_as_two_do() -> None:
    table = zhconv.zhconv.getdict("zh-hans")
    for trad in table:
        if len(trad) == 1 and ord(trad) < 0x10000:
            for text in (trad, f"Ａ{trad}，b {trad}"):
                assert text.translate(_simplified_listed()) == zhconv.convert(text, "zh-hans").translate(_table()), text


def test_sentence_and_clause_marks_are_found_where_a_regex_finds_them() -> None:
    rng = random.Random(17)
    alphabet = [*"。！？\n，；：、的了是a1😀", "\udc80"]  # and a lone surrogate, as JSON may bring
    texts = _texts() + ["".join(rng.choice(alphabet) for _ in range(rng.randint(0, 40))) for _ in range(2000)]
    for marks in (signals._SENTENCE_MARKS, signals._CLAUSE_MARKS):
        pattern = re.compile("|".join(map(re.escape, marks)))
        for text in texts:
            as_bytes = text.encode("utf-8", "surrogatepass").decode("latin-1")
            assert signals._found(as_bytes, marks) == [m.span() for m in pattern.finditer(as_bytes)], text
