"""Text similarity over past cases: terms, similar cases, clusters by text and place, suggested rule terms."""

from __future__ import annotations

import json

from tests.conftest import DEV_CASES
from tracker.domain.similarity import Corpus, Doc, clusters, key_terms, most_similar, place_words, same_place, terms

POWER_BANK = "共享充电宝运营商单方面撤走店内机柜，商户认为违反合作协议，要求恢复或赔偿。"
POWER_BANK_2 = "我店里的共享充电宝机柜被公司撤走了，说好的分成一直没给，这事找谁管？"
PET = "小区底商开了一家宠物殡葬店，提供宠物遗体接运和火化预约，居民担心。"
DRONES = "空地上每天晚上有几百架无人机编队表演试飞，村民担心无人机坠落伤人。"


def doc(key: str, text: str, unit: str | None = None, lat: float | None = None, lon: float | None = None) -> Doc:
    return Doc(key, tuple(terms(text)), unit, lat, lon)


def test_terms_drop_reporting_words_and_join_split_compounds() -> None:
    found = terms("你好，我想反映一下共享充电宝的问题，到底谁管？")
    assert "充电宝" in found and "共享" in found
    assert not {"你好", "反映", "问题", "到底", "谁管"} & set(found)
    assert "华兴" not in terms("华兴社区共享充电宝", place_words(["华兴社区"]))


def test_most_similar_ranks_the_same_kind_first_and_skips_unrelated() -> None:
    past = [doc("pet", PET), doc("bank", POWER_BANK), doc("drones", DRONES)]
    found = most_similar(doc("q", POWER_BANK_2), past)
    assert [d.key for d, _ in found][:1] == ["bank"]
    assert all(d.key != "drones" for d, _ in found)
    assert most_similar(doc("q", "完全无关的内容"), past) == []


def test_place_counts_same_unit_or_within_a_kilometre() -> None:
    a = Doc("a", (), "nanmen", 29.87, 121.54)
    assert same_place(a, Doc("b", (), None, 29.872, 121.541))  # ~240 m
    assert same_place(a, Doc("c", (), "nanmen"))
    assert not same_place(a, Doc("d", (), "baiyun", 29.95, 121.60))


def test_dev_set_gap_cases_cluster_by_kind_with_naming_terms() -> None:
    rows = [json.loads(line) for line in DEV_CASES.read_text(encoding="utf-8").splitlines() if line]
    docs = [doc(r["report"]["external_id"], f"{r['report'].get('title') or ''}\n{r['report']['description']}",
                r["report"]["location"].get("unit")) for r in rows]
    corpus = Corpus.of(d.terms for d in docs)
    gaps = [d for d, r in zip(docs, rows, strict=True) if r["expect"]["rule"] == "R10"]
    found = clusters(gaps, corpus=corpus, threshold=0.15)
    pairs = {frozenset(d.key for d in group) for group in found if len(group) > 1}
    assert pairs == {frozenset({"DEV-0058", "DEV-0156"}), frozenset({"DEV-0059", "DEV-0107"}),
                     frozenset({"DEV-0067", "DEV-0140"})}  # power banks, pet funerals, drone shows
    bank = next(g for g in found if {d.key for d in g} == {"DEV-0058", "DEV-0156"})
    named = key_terms([d.terms for d in bank], corpus)
    assert "充电宝" in named and "机柜" in named
    assert sum(len(g) for g in found) == len(gaps)


def test_key_terms_prefer_words_all_members_share() -> None:
    members = [terms(POWER_BANK), terms(POWER_BANK_2)]
    corpus = Corpus.of([*members, terms(PET), terms(DRONES)])
    named = key_terms(members, corpus, k=4)
    assert set(named) == {"充电宝", "机柜", "撤走", "共享"}  # in both; 分成, 商户 are in one only
    assert "共享充电宝" not in named or "充电宝" not in named  # one of overlapping words is enough
    assert key_terms([], corpus) == []
