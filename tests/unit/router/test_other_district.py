"""Another district ships its own catalogue and gets its own routing with no code change."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pytest

from catalogue.loader import load_catalogue
from router.domain.compiled import CompiledCatalogue, compile_catalogue
from router.domain.decide import decide
from schemas.report import Report

OTHER = Path(__file__).parent / "fixtures" / "other_district.yaml"


@pytest.fixture(scope="module")
def other() -> CompiledCatalogue:
    return compile_catalogue(load_catalogue(OTHER))


def test_catering_fumes_follow_this_districts_ruling(
    other: CompiledCatalogue, cc: CompiledCatalogue, make_report: Callable[..., Report]
) -> None:
    text = "楼下饭店油烟扰民，熏得窗户都不敢开。"
    here = decide(make_report(text, address="东湖街道湖滨路"), other)
    assert (here.rule, here.primary, here.catalogue_version) == ("R9", "environment", "riverside-2026.1")
    assert decide(make_report(text, address="南门街道"), cc).primary == "urban-mgmt"


def test_unit_templates_and_fallbacks_are_the_districts_own(
    other: CompiledCatalogue, make_report: Callable[..., Report]
) -> None:
    d = decide(make_report("小区楼道里电动车充电。", address="岭下村"), other)
    assert (d.rule, d.primary, d.feedback_to, d.ack_hours) == (
        "R1",
        "pcs-west",
        ["team-west", "safety-council"],
        1,
    )
    d = decide(make_report("小区楼道里电动车充电。", address="不知道哪里"), other)
    assert (d.primary, d.unit_fallback) == ("fire-dept", True)


def test_licence_chain_and_deadlines_come_from_the_catalogue(
    other: CompiledCatalogue, make_report: Callable[..., Report]
) -> None:
    d = decide(make_report("一家KTV没有营业执照，娱乐经营许可证也没有。", address="东湖社区"), other)
    assert (d.rule, d.primary, d.cooperating, d.deadline_days) == (
        "R7",
        "culture",
        ["market", "team-east"],
        30,
    )
    d = decide(make_report("村里施工队正在建房，没有规划许可证。", address="岭下村"), other)
    assert (d.rule, d.primary, d.cooperating) == ("R6", "planning", ["city"])


def test_gap_goes_to_this_districts_adjudicator(
    other: CompiledCatalogue, make_report: Callable[..., Report]
) -> None:
    d = decide(make_report("想问一下宠物殡葬店归谁管。", address="东湖街道"), other)
    assert (d.rule, d.primary, d.deadline_days) == ("R10", "arbitration", 3)
