"""A department reads a case, on PostgreSQL (the driver's read, as in production) and on SQLite: every phone
number in the report's text masked, whatever its form and whether or not the report has reporter fields, the
free text of returns masked too, and no callback or attachment link; the submitter sees its links; an overseer
reads the case whole, audited when it holds personal data."""

from __future__ import annotations

from typing import Any

import orjson
import pytest
from fastapi import Response
from sqlalchemy import select

from schemas.events import CaseRouted, DepartmentReply, EventType, ReturnReason
from schemas.report import Report
from services.envelopes import envelope
from services.principal import Caller
from tests.conftest import dev_reports
from tests.integration.tracker.support import decision, deps  # noqa: F401 (fixture)
from tracker.api.cases import get_case
from tracker.handlers import Deps, handle_reply, record_routing
from tracker.store.models import TrackerAudit

pytestmark = pytest.mark.timeout(120)

WRITTEN = ["+86 139 1234 5678", "8613912345678", "+8613912345678", "139-1234-5678", "139 1234 5678",
           "１３９１２３４５６７８", "0574-87654321"]
SUBMITTER = Caller("grid-app", "app-a")


def body(answer: Response) -> dict[str, Any]:
    return dict(orjson.loads(bytes(answer.body)))


async def _route(deps: Deps, case_id: str, **report: Any) -> None:  # noqa: F811
    routed = CaseRouted(case_id=case_id, decision=decision("amr", alternatives=("ecology",)),
                        report=Report.model_validate({**dev_reports()[0], **report}),
                        submitted_by=SUBMITTER.actor)
    await record_routing(envelope(source="test", event_type=EventType.case_routed, subject=case_id,
                                  payload=routed), deps)


async def test_a_department_reads_every_phone_number_masked_and_no_submitter_links(deps: Deps) -> None:  # noqa: F811
    text = "网格员记录：摊主电话" + "，".join(WRITTEN) + "。"
    links = {"callback_url": "https://grid.example/cb?token=s3cret", "attachments": ["https://store.example/p.jpg"]}
    await _route(deps, "P1", description=text, **links)  # no reporter fields at all
    await _route(deps, "P2", description=f"举报人李小龙，电话13800001111。{text}", reporter_name="李小龙",
                 reporter_phone="13800001111", **links)
    await handle_reply(DepartmentReply(case_id="P1", department="amr", kind="return",
                                       reason=ReturnReason.not_our_remit, text="已电话 139 1234 5678 联系，非本部门"),
                       deps, actor="department:amr")

    for case_id in ("P1", "P2"):
        for reader in (Caller("department", "amr"), Caller("department", "street-nanmen")):
            seen = body(await get_case(case_id, deps, reader))
            report, shown = seen["report"], orjson.dumps(seen).decode()
            assert all(number not in report["description"] for number in WRITTEN), report["description"]
            assert "1234" not in report["description"] and "１２３４" not in report["description"]
            assert "139****5678" in report["description"] and "0574-****4321" in report["description"]
            assert report["callback_url"] is None and report["attachments"] == []
            assert "s3cret" not in shown and "store.example" not in shown and "139 1234 5678" not in shown
        submitter_view = body(await get_case(case_id, deps, SUBMITTER))["report"]
        assert submitter_view["callback_url"] == links["callback_url"], "the submitter sees its own links"
        assert "139 1234 5678" not in submitter_view["description"], "but not the numbers it wrote"
    p2 = body(await get_case("P2", deps, Caller("department", "amr")))["report"]
    assert p2["reporter_name"] == "李**" and p2["reporter_phone"] == "138****1111"
    assert "李小龙" not in p2["description"] and "13800001111" not in p2["description"]
    p1 = body(await get_case("P1", deps, Caller("department", "amr")))  # returned by amr, which still reads it
    assert p1["returns"][0]["text"] == "已电话 139****5678 联系，非本部门"
    assert all("1234 5678" not in orjson.dumps(entry["detail"]).decode() for entry in p1["timeline"])

    operator = Caller("operator", "li")
    whole = {case_id: body(await get_case(case_id, deps, operator)) for case_id in ("P1", "P2")}
    assert whole["P1"]["report"]["description"] == text and whole["P2"]["report"]["reporter_phone"] == "13800001111"
    assert whole["P1"]["report"]["callback_url"] == links["callback_url"]
    async with deps.db.sessions() as session:
        audited = (await session.execute(select(TrackerAudit.target, TrackerAudit.actor, TrackerAudit.detail)
                                         .where(TrackerAudit.action == "case.read_personal"))).all()
    # Phone numbers in the text are personal data too (masked for departments): reading them whole is audited.
    via = "GET /v1/cases/{case_id}"
    assert sorted((a.target, a.actor, tuple(a.detail["fields"]), a.detail["via"]) for a in audited) == [
        ("P1", "operator:li", ("description",), via),
        ("P2", "operator:li", ("description", "reporter_name", "reporter_phone"), via)]
