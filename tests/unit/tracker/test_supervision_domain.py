"""Credit codes, credit tiers and triggers as pure functions (issue 15 §1–3): no Kafka, no database."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from pydantic import ValidationError

from catalogue.model import Supervision, TierScoring, Trigger
from schemas.credit_code import ALPHABET, check_character, credit_code_problem
from schemas.report import Facts
from tracker.domain.credit import SubjectCase, assess, reason_label, tier_for
from tracker.domain.triggers import fired, window_of

NOW = datetime(2026, 11, 20, 4, 0, tzinfo=UTC)
SCORING = TierScoring()  # the default catalogue's: B ≥ 2, C ≥ 5, D ≥ 9
TRIGGERS = Supervision().triggers


def case(n: int, days_ago: float = 1, **kw: object) -> SubjectCase:
    return SubjectCase(f"C{n}", NOW - timedelta(days=days_ago), **kw)  # type: ignore[arg-type]


@pytest.mark.parametrize("code", ["91350100M000100Y43", "91330203MA2H7K8B0D"])
def test_valid_credit_codes_pass(code: str) -> None:
    assert credit_code_problem(code) is None


def test_the_check_digit_is_the_standards() -> None:
    # GB 32100-2015: weights 3^i mod 31, check = 31 − Σ mod 31 (31 → 0), in the alphabet without I O Z S V.
    assert len(ALPHABET) == 31 and not set("IOZSV") & set(ALPHABET)
    first17 = "91350100M000100Y4"
    total = sum(ALPHABET.index(c) * pow(3, i, 31) for i, c in enumerate(first17))
    assert check_character(first17) == ALPHABET[(31 - total % 31) % 31] == "3"


@pytest.mark.parametrize(("code", "why"), [
    ("91350100M000100Y44", "check digit"), ("91350100M000100Y4", "18 characters"), ("91350100M00O100Y43", "O"),
])
def test_bad_credit_codes_say_why(code: str, why: str) -> None:
    problem = credit_code_problem(code)
    assert problem is not None and why in problem


def test_facts_normalise_and_check_the_code() -> None:
    assert Facts(credit_code=" 91350100m000100y43 ").credit_code == "91350100M000100Y43"
    with pytest.raises(ValidationError, match="check digit"):
        Facts(credit_code="91350100M000100Y44")


def test_tier_thresholds() -> None:
    assert [tier_for(s, SCORING) for s in (0, 1.9, 2, 4.9, 5, 8.9, 9, 30)] == ["A", "A", "B", "B", "C", "C", "D", "D"]


def test_a_clean_single_report_is_tier_a() -> None:
    assert assess([case(1)], SCORING, now=NOW).tier == "A"


def test_unfounded_reports_do_not_count_against_the_subject() -> None:
    record = [case(i, outcome="not_found") for i in range(6)] + [case(9)]
    assessment = assess(record, SCORING, now=NOW)
    assert assessment.tier == "A" and assessment.score == 0


def test_violations_late_rectification_and_repeats_add_up() -> None:
    record = [case(1, outcome="penalised", feedback_late=True), case(2, outcome="rectification_ordered"),
              case(3, outcome="resolved"), case(4, outcome="not_found")]
    assessment = assess(record, SCORING, now=NOW)
    # penalised 3 + rectification 2 + late 2 + repeats (3 founded reports: 2 beyond the first) 2 = 9 → D
    assert assessment.score == 9 and assessment.tier == "D"
    assert [reason_label(r) for r in assessment.reasons] == [
        "责令整改 ×1 +2", "行政处罚 ×1 +3", "整改超期（反馈督办） ×1 +2", "重复举报（不含查无实据） ×2 +2"]


def test_the_window_forgets_old_cases() -> None:
    record = [case(1, days_ago=400, outcome="shut_down"), case(2, days_ago=400, outcome="penalised")]
    assert assess(record, SCORING, now=NOW).tier == "A"


def test_scoring_is_catalogue_data() -> None:
    strict = TierScoring.model_validate({"repeat_report_points": 3, "thresholds": {"B": 1, "C": 2, "D": 3}})
    assert assess([case(1), case(2)], strict, now=NOW).tier == "D"
    with pytest.raises(ValidationError, match="rise"):
        TierScoring.model_validate({"thresholds": {"B": 5, "C": 2, "D": 9}})


def test_repeat_reports_fire_at_the_third_report_of_a_window() -> None:
    repeat = [t for t in TRIGGERS if t.kind == "repeat_reports"]
    same_window = [c for c in (case(i, days_ago=0.1 * i) for i in range(1, 4))]
    assert fired(repeat, "S1", same_window[:2], same_window[1], "A") == []
    (firing,) = fired(repeat, "S1", same_window, same_window[2], "A")
    assert firing.key == f"repeat-reports:S1:{window_of(same_window[2].reported_at, 30)}"
    # Whichever report arrives third fires, and names the same window: replicas agree on the key.
    again = fired(repeat, "S1", same_window, same_window[0], "A")
    assert [f.key for f in again] == [firing.key]


def test_recurrence_after_a_penalty_within_90_days() -> None:
    recurrence = [t for t in TRIGGERS if t.kind == "recurrence"]
    earlier = case(1, days_ago=40, outcome="penalised", feedback_at=NOW - timedelta(days=30))
    new = case(2, days_ago=0)
    assert [f.trigger.id for f in fired(recurrence, "S1", [earlier, new], new, "B")] == ["recurrence"]
    resolved = case(1, days_ago=40, outcome="resolved", feedback_at=NOW - timedelta(days=30))
    assert fired(recurrence, "S1", [resolved, new], new, "B") == []
    long_ago = case(1, days_ago=200, outcome="penalised", feedback_at=NOW - timedelta(days=120))
    assert fired(recurrence, "S1", [long_ago, new], new, "B") == []


def test_hazard_case_on_a_low_tier_subject() -> None:
    hazard_tier = [t for t in TRIGGERS if t.kind == "hazard_tier"]
    new = case(1, hazard=True)
    assert fired(hazard_tier, "S1", [new], new, "B") == []
    assert [f.trigger.id for f in fired(hazard_tier, "S1", [new], new, "C")] == ["hazard-low-tier"]
    assert fired(hazard_tier, "S1", [case(2)], case(2), "D") == []


def test_triggers_are_validated_catalogue_data() -> None:
    with pytest.raises(ValidationError, match="outcomes"):
        Trigger(id="r", name="r", kind="recurrence")
    with pytest.raises(ValidationError, match="repeat"):
        Supervision(triggers=[TRIGGERS[0], TRIGGERS[0]])


def test_a_change_of_scoring_or_triggers_shows_in_the_catalogue_diff() -> None:
    from catalogue.diff import diff_catalogues
    from catalogue.loader import load_catalogue

    before = load_catalogue().model_dump(mode="json")
    after = load_catalogue().model_dump(mode="json")
    after["supervision"]["tiers"]["thresholds"]["D"] = 12
    after["supervision"]["triggers"][0]["reports"] = 4
    paths = {c.path for c in diff_catalogues(before, after).changes}
    assert any("supervision" in p and "thresholds" in p for p in paths), paths
    assert any("supervision" in p and "triggers" in p for p in paths), paths
