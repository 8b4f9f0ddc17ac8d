"""The catalogue CLI and the batch route stream."""

from __future__ import annotations

import io
import json
from pathlib import Path

import yaml
from typer.testing import CliRunner

from router.cli import catalogue_app, route_stream
from router.domain.loader import DEFAULT_CATALOGUE


def test_validate_valid_catalogue_prints_a_summary() -> None:
    result = CliRunner().invoke(catalogue_app, ["validate", str(DEFAULT_CATALOGUE)])
    assert result.exit_code == 0 and "valid" in result.output and "matters" in result.output


def test_validate_prints_every_problem_and_exits_1(tmp_path: Path) -> None:
    data = yaml.safe_load(DEFAULT_CATALOGUE.read_text(encoding="utf-8"))
    data["matters"]["pricing"]["department"] = "nobody"
    data["rules"]["safety_office"] = "nobody-either"
    bad = tmp_path / "bad.yaml"
    bad.write_text(yaml.safe_dump(data, allow_unicode=True), encoding="utf-8")
    result = CliRunner().invoke(catalogue_app, ["validate", str(bad)])
    assert result.exit_code == 1
    assert "matters.pricing.department" in result.output and "rules.safety_office" in result.output


def test_route_stream_keeps_order_and_reports_bad_lines() -> None:
    good = {
        "external_id": "A",
        "source": "grid",
        "reported_at": "2026-01-05T14:06:00+08:00",
        "location": {"unit": "nanmen"},
        "description": "电梯困人。",
    }
    bad = {
        "external_id": "B",
        "source": "fax",
        "reported_at": "2026-01-05T14:06:00+08:00",
        "description": "x",
    }
    lines = [json.dumps(good), json.dumps(bad), "not json", json.dumps({**good, "external_id": "C"})]
    out = io.BytesIO()
    errors = route_stream(io.BytesIO(("\n".join(lines) + "\n").encode()), out)
    decoded = [json.loads(line) for line in out.getvalue().splitlines()]
    assert [d["external_id"] for d in decoded] == ["A", "B", None, "C"]
    assert [d["status"] for d in decoded] == ["routed", "error", "error", "routed"]
    assert errors == 2 and decoded[0]["rule"] == "R4" and "catalogue_version" in decoded[0]
