"""The catalogue CLI and the batch route stream."""

from __future__ import annotations

import io
import json
from pathlib import Path

import pytest
import yaml
from typer.testing import CliRunner

from caseroute.catalogue_cli import catalogue_app
from catalogue.loader import DEFAULT_CATALOGUE, read_catalogue_file
from router.cli import route_stream
from router.domain.compiled import CompiledCatalogue
from schemas.decision import Decision
from schemas.report import Report
from tests.support.route_cli import route_lines


def test_validate_valid_catalogue_prints_a_summary() -> None:
    result = CliRunner().invoke(catalogue_app, ["validate", str(DEFAULT_CATALOGUE)])
    assert result.exit_code == 0 and "valid" in result.output and "matters" in result.output


def test_validate_prints_every_problem_and_exits_1(tmp_path: Path) -> None:
    data = read_catalogue_file()
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


def _line(external_id: str, description: str, address: str, at: str = "2026-01-05T14:06:00+08:00") -> str:
    return json.dumps(
        {
            "external_id": external_id,
            "source": "hotline",
            "reported_at": at,
            "location": {"unit": "gulou", "address": address},
            "description": description,
        },
        ensure_ascii=False,
    )


def _run(lines: list[str], **kw: object) -> tuple[int, list[dict[str, object]]]:
    out = io.BytesIO()
    errors = route_stream(io.BytesIO(("\n".join(lines) + "\n").encode()), out, **kw)  # type: ignore[arg-type]
    return errors, [json.loads(line) for line in out.getvalue().splitlines()]


def test_route_stream_links_repeats_within_the_batch() -> None:
    lines = [
        _line("A", "公园路18号门口有人占道经营，摆摊卖水果。", "公园路18号"),
        _line("B", "公园路18号门口又有小贩摆摊，占了人行道。", "公园路18号", "2026-01-06T09:00:00+08:00"),
        _line("C", "孝闻街3号门口有人摆摊占道。", "孝闻街3号", "2026-01-06T10:00:00+08:00"),
        _line("D", "公园路18号门口摊贩占道，第三次反映了。", "公园路18号", "2026-01-20T10:00:00+08:00"),
    ]
    errors, out = _run(lines, link_duplicates=True)
    assert errors == 0
    assert [d["status"] for d in out] == ["routed", "duplicate", "routed", "routed"]  # D is past the 7-day window
    assert out[1]["duplicate_of"] == "A" and out[0]["duplicate_of"] is None
    _, unlinked = _run(lines)
    assert all(d["status"] == "routed" for d in unlinked)


def test_route_stream_turns_an_unexpected_failure_into_an_error_line(monkeypatch: pytest.MonkeyPatch) -> None:
    import router.cli as cli

    real = cli.decide

    def flaky(report: Report, cc: CompiledCatalogue) -> Decision:
        if report.external_id == "B":
            raise KeyError("boom")
        return real(report, cc)

    monkeypatch.setattr(cli, "decide", flaky)
    lines = [_line(x, "电梯困人。", "公园路1号") for x in ("A", "B", "C")]
    errors, out = _run(lines)
    assert errors == 1
    assert [d["status"] for d in out] == ["routed", "error", "routed"]
    assert out[1]["external_id"] == "B" and "KeyError" in out[1]["error"]


def _cli(lines: list[str], jobs: int) -> tuple[int, list[dict[str, object]]]:
    decisions = [json.loads(line) for line in route_lines("\n".join(lines) + "\n", jobs=jobs).splitlines()]
    return sum(1 for d in decisions if d.get("status") == "error"), decisions


def test_a_large_batch_split_among_workers_comes_out_as_one_process_routes_it() -> None:
    from router.cli import PARALLEL_FROM

    kinds = ["电梯困人。", "公园路18号门口有人占道经营，摆摊卖水果。", "楼道里有人给电动车充电，电线从窗户拉下来。"]
    lines = [_line(f"L{i}", kinds[i % 3], f"公园路{i}号") for i in range(PARALLEL_FROM + 700)]
    lines[5] = "not json"
    lines[-3] = json.dumps({"external_id": "bad", "source": "fax", "reported_at": "2026-01-05", "description": "x"})
    one_errors, one = _cli(lines, jobs=1)
    split_errors, split = _cli(lines, jobs=2)
    assert split == one and split_errors == one_errors == 2
    assert [d["external_id"] for d in split][-4:] == [f"L{PARALLEL_FROM + 696}", "bad", f"L{PARALLEL_FROM + 698}",
                                                      f"L{PARALLEL_FROM + 699}"]


def test_a_catalogues_parsed_data_is_kept_by_digest_and_read_back_the_same(tmp_path: Path) -> None:
    cache = tmp_path / "cache"
    parsed = read_catalogue_file()
    assert read_catalogue_file(cache=cache) == parsed  # parsed, and kept
    kept = sorted(p.name for p in cache.iterdir())
    assert len(kept) == 2 and all(name.endswith(".yaml-data") for name in kept)  # the catalogue and its gazetteer
    assert read_catalogue_file(cache=cache) == parsed  # read back
    edited = tmp_path / "edited.yaml"
    edited.write_text(yaml.safe_dump({**parsed, "version": "edited"}, allow_unicode=True), encoding="utf-8")
    assert read_catalogue_file(edited, cache=cache)["version"] == "edited"  # other bytes, another entry
    dated = tmp_path / "dated.yaml"
    dated.write_text("since: 2026-01-01\n", encoding="utf-8")
    assert str(read_catalogue_file(dated, cache=cache)["since"]) == "2026-01-01"  # marshal cannot keep a date
    assert not any(p.name.startswith("dated") for p in cache.iterdir())
    assert str(read_catalogue_file(dated, cache=cache)["since"]) == "2026-01-01"
