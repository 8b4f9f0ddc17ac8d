"""`caseroute route-eval`: a labelled set scored in process, with the figures the shared evaluation tool gives."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
from typer.testing import CliRunner

from caseroute.cli import app
from router.evaluate import decide_all, figures, read_labelled

REPO = Path(__file__).resolve().parents[3]
SHARED = REPO.parent / "shared"  # the clone sits beside shared/, as in CI

SHOP = {"external_id": "T-1", "source": "grid", "reported_at": "2026-01-05T14:06:00+08:00",
        "location": {"unit": "nanmen", "address": "解放南路"}, "title": "无照铝合金门窗店",
        "description": "解放南路一家铝合金门窗店未办理营业执照。"}
STALLS = {"external_id": "T-2", "source": "grid", "reported_at": "2026-01-05T09:13:00+08:00",
          "location": {"unit": "ximen", "address": "永丰社区菜场东门口"}, "title": "菜场东门水果摊占道",
          "description": "菜场东门口三四个水果摊摆到人行道上，行人通行不便。", "category": "street-occupation"}
NOTHING = {"external_id": "T-4", "source": "public", "reported_at": "2026-01-05T09:13:00+08:00",
           "description": "今天天气很好，谢谢你们。"}


def _expect(status: str, rule: str, primary: str, hazard: str = "none") -> dict[str, str]:
    return {"status": status, "rule": rule, "primary": primary, "hazard": hazard}


def _write(path: Path, rows: list[dict[str, Any]]) -> Path:
    path.write_text("".join(json.dumps(r, ensure_ascii=False) + "\n" for r in rows), encoding="utf-8")
    return path


@pytest.fixture()
def labelled(tmp_path: Path) -> Path:
    return _write(tmp_path / "tiny.jsonl", [
        {"report": SHOP, "expect": _expect("routed", "R8", "amr")},  # right
        {"report": STALLS, "expect": _expect("routed", "R9", "urban-mgmt")},  # right
        # labelled for another department: the router's urban-mgmt is then an automatic wrong dispatch
        {"report": {**STALLS, "external_id": "T-3"}, "expect": _expect("routed", "R9", "amr")},
        # the router holds it for a human (R10) though the label gives it an owner
        {"report": NOTHING, "expect": _expect("routed", "R9", "urban-mgmt", "safety")},
        # not a valid report (unknown source): a miss, neither dispatched nor held
        {"report": {**NOTHING, "external_id": "T-5", "source": "nowhere"},
         "expect": _expect("routed", "R5", "safety-office", "safety")},
    ])


def test_route_eval_prints_the_figures_and_writes_them_as_json(labelled: Path, tmp_path: Path) -> None:
    out = tmp_path / "figures.json"
    result = CliRunner().invoke(app, ["route-eval", str(labelled), "--min", "0.4", "--json", str(out)])
    assert result.exit_code == 0, result.output
    lines = result.output.splitlines()
    assert lines[:3] == ["wrong: T-3 R9 amr R9 urban-mgmt", "wrong: T-4 R9 urban-mgmt R10 establishment-office",
                         "wrong: T-5 R5 safety-office None None"]
    assert "by rule: R5 0/1, R8 1/1, R9 1/3" in lines
    assert ("dispatched to a wrong department automatically: 1/5; held for a human though it had an owner: 1/5"
            in lines)
    assert lines[-1] == "primary accuracy 0.400 (2/5); rule 0.600; hazard 0.600"
    figs = json.loads(out.read_text(encoding="utf-8"))
    assert (figs["n"], figs["primary_right"], figs["misdispatched"], figs["deferred"], figs["unreadable"]) == (
        5, 2, 1, 1, 1)
    assert figs["by_rule"] == {"R5": "0/1", "R8": "1/1", "R9": "1/3"}


def test_route_eval_fails_below_the_floor(labelled: Path) -> None:
    result = CliRunner().invoke(app, ["route-eval", str(labelled), "--min", "0.5"])
    assert result.exit_code == 1
    assert "primary accuracy 0.400 (2/5)" in result.output


def test_route_eval_names_the_line_of_a_bad_labelled_file(tmp_path: Path) -> None:
    bad = tmp_path / "bad.jsonl"
    bad.write_text(json.dumps({"report": SHOP, "expect": _expect("routed", "R8", "amr")}) + "\n"
                   + json.dumps({"report": SHOP, "expect": {"rule": "R8"}}) + "\n", encoding="utf-8")
    result = CliRunner().invoke(app, ["route-eval", str(bad)])
    assert result.exit_code == 2
    assert f"{bad}:2: \"expect\" needs status, primary, hazard" in result.output


def test_figures_are_those_of_the_shared_evaluation_tool(tmp_path: Path) -> None:
    """The same set scored by the tool the labelled sets came with (it runs `caseroute route` as a process)."""
    cases, tool = SHARED / "data" / "dev2a_cases.jsonl", SHARED / "tools" / "route_eval.py"
    if not (cases.exists() and tool.exists()):
        pytest.fail(f"{cases} and {tool} not found: the repository must sit beside shared/, as in CI")
    theirs_file = tmp_path / "theirs.json"
    caseroute = Path(sys.executable).parent / "caseroute"
    done = subprocess.run([sys.executable, str(tool), str(caseroute), str(cases), "--min", "0",
                           "--json", str(theirs_file)], capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stdout + done.stderr
    theirs = json.loads(theirs_file.read_text(encoding="utf-8"))
    rows = read_labelled(cases)
    ours = figures(rows, decide_all(rows))
    compared = [k for k in theirs if k != "seconds"]
    assert compared == ["n", "primary_accuracy", "rule_accuracy", "hazard_accuracy", "misdispatch_rate",
                        "deferred_rate", "by_rule", "wrong"]
    assert {k: ours[k] for k in compared} == {k: theirs[k] for k in compared}
