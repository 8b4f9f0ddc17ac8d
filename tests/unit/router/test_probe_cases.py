"""Hotline-style reports written apart from the dev set (fresh wording, no structured facts)."""

from __future__ import annotations

from pathlib import Path

from router.domain.compiled import CompiledCatalogue
from router.domain.decide import decide
from schemas.report import Report

PROBES = Path(__file__).parent / "fixtures" / "probe_cases.tsv"


def test_probe_cases_route_as_labelled(cc: CompiledCatalogue) -> None:
    rows = [line.split("\t") for line in PROBES.read_text(encoding="utf-8").splitlines() if line.strip()]
    misses = []
    for pid, rule, primary, hazard, address, text in rows:
        report = Report(
            external_id=pid,
            source="hotline",
            reported_at="2026-02-01T10:00:00+08:00",
            location={"address": address},
            description=text,
        )
        d = decide(report, cc)
        if d.primary != primary or d.hazard != hazard:
            misses.append((pid, rule, primary, d.rule, d.primary))
    assert len(misses) <= len(rows) * 0.05, misses
