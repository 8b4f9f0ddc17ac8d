"""Accuracy on the labelled dev set: ≥97% primary overall, 100% where structured facts decide."""

from __future__ import annotations

import json
from collections import Counter
from pathlib import Path
from typing import Any

import pytest

from router.domain.compiled import CompiledCatalogue
from router.domain.decide import decide
from schemas.report import Report

REPO = Path(__file__).resolve().parents[3]
DEV = REPO.parent / "shared" / "data" / "dev_cases.jsonl"  # the clone sits beside shared/


def _rows() -> list[dict[str, Any]]:
    if not DEV.exists():
        pytest.fail(f"dev set not found at {DEV}: the repository must sit beside shared/, as in CI")
    return [json.loads(line) for line in DEV.read_text(encoding="utf-8").splitlines() if line.strip()]


def test_dev_set_accuracy(cc: CompiledCatalogue) -> None:
    rows = _rows()
    primary = rule = hazard = structured = structured_ok = 0
    confusion: Counter[tuple[str, str]] = Counter()
    misses = []
    for row in rows:
        report, want = Report.model_validate(row["report"]), row["expect"]
        d = decide(report, cc)
        primary += d.primary == want["primary"]
        rule += d.rule == want["rule"]
        hazard += d.hazard == want["hazard"]
        if d.rule != want["rule"]:
            confusion[(want["rule"], d.rule)] += 1
        if d.primary != want["primary"]:
            misses.append((report.external_id, want["rule"], want["primary"], d.rule, d.primary))
        if row["report"].get("facts") or row["report"].get("category"):
            structured += 1
            structured_ok += d.primary == want["primary"]
    n = len(rows)
    print(
        f"\nprimary {primary / n:.3f}  rule {rule / n:.3f}  hazard {hazard / n:.3f}  "
        f"structured {structured_ok}/{structured}  confusion {dict(confusion)}"
    )
    assert primary / n >= 0.97, misses
    assert structured_ok == structured, misses
