"""Acting on a case is authorised before the case's state is looked at: who may not read a case cannot learn
its state or holder by acting on it (404, as for a read), and only the street team of the case's own unit, an
operator or an admin closes it. A party to the case learns the state (409) as before."""

from __future__ import annotations

import asyncio
from pathlib import Path
from typing import Any

import httpx
import pytest

from intake.bootstrap import build as intake
from notifier.bootstrap import build as notifier
from router.bootstrap import build as router
from schemas.envelope import Envelope
from services.bus.memory import MemoryBus
from services.settings import KafkaSettings, Settings
from tests.conftest import dev_reports
from tests.integration.harness import running
from tests.support.case_events import transitions
from tests.support.credentials import auth_headers
from tests.support.service_apps import tracker

pytestmark = pytest.mark.timeout(90)

OPERATOR = auth_headers("operator", "li")
CALLED = "+86 139 8765 4321"  # the number a department quotes in its feedback
# duantang: a battery workshop, a hazard case (its feedback goes to the street team and safety-office).
ROUTED = {**dev_reports()[1], "external_id": "ACT-1"}
RETURNED = {**dev_reports()[0], "external_id": "ACT-3"}  # nanmen: an unlicensed shop
GAP = {"external_id": "ACT-2", "source": "grid", "reported_at": "2026-01-05T14:06:00+08:00",
       "location": {"unit": "baiyun", "address": "华兴社区"},
       "description": "华兴社区多家商户反映，共享充电宝运营商单方面撤走店内机柜，要求恢复或赔偿。"}


async def _until(client: httpx.AsyncClient, case_id: str, status: str) -> dict[str, Any]:
    async with asyncio.timeout(30):
        while (answer := await client.get(f"/v1/cases/{case_id}", headers=OPERATOR)).status_code != 200 \
                or answer.json()["status"] != status:
            await asyncio.sleep(0.05)
    return dict(answer.json())


async def test_acting_on_a_case_reveals_nothing_to_non_parties_and_only_its_street_team_closes_it(
        tmp_path: Path) -> None:
    settings = Settings(database_url=f"sqlite+aiosqlite:///{tmp_path / 'act.db'}",
                        kafka=KafkaSettings(bootstrap=None))
    async with running(settings, [intake, router, tracker, notifier]) as app:
        async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://t") as client:
            routed_id = (await client.post("/v1/reports", json=ROUTED, headers=OPERATOR)).json()["case_id"]
            gap_id = (await client.post("/v1/reports", json=GAP, headers=OPERATOR)).json()["case_id"]
            case = await _until(client, routed_id, "dispatched")
            await _until(client, gap_id, "gap")
            holder, unit = case["department"], case["unit"]
            involved = {holder, *case["decision"]["cooperating"], *case["decision"]["cc"]}
            stranger = next(d for d in ("culture", "ecology", "education") if d not in involved)
            routed, gap = f"/v1/cases/{routed_id}", f"/v1/cases/{gap_id}"
            checks: list[tuple[str, dict[str, str], dict[str, Any] | None, int]] = [
                # Not a party: answered as a read would be, whatever the state.
                (f"{routed}/ack", auth_headers("department", stranger), {}, 404),
                (f"{routed}/feedback", auth_headers("department", stranger), {"outcome": "resolved"}, 404),
                (f"{routed}/return", auth_headers("department", stranger), {"reason": "not_our_remit"}, 404),
                (f"{gap}/ack", auth_headers("department", holder), {}, 404),
                (f"{gap}/return", auth_headers("department", holder), {"reason": "not_our_remit"}, 404),
                (f"{routed}/close", auth_headers("department", "street-baiyun"), None, 404),
                # A street-named key of another role closes nothing; a department that is no street team neither.
                (f"{routed}/close", auth_headers("grid-app", f"street-{unit}"), None, 403),
                (f"{routed}/close", auth_headers("grid-app", "street-evil"), None, 403),
                (f"{routed}/close", auth_headers("department", holder), None, 403),
                # Parties learn the state.
                (f"{routed}/close", auth_headers("department", f"street-{unit}"), None, 409),
                (f"{gap}/close", OPERATOR, None, 409),
                (f"{gap}/close", auth_headers("department", "street-baiyun"), None, 409),
            ]
            wrong = []
            for path, headers, body, expected in checks:
                answer = await client.post(path, headers=headers, json=body)
                if answer.status_code != expected:
                    wrong.append(f"{path} {answer.status_code} ≠ {expected}: {answer.text[:160]}")
                elif expected == 404:
                    problem = answer.json()
                    assert problem["title"] == "Case not found", problem
                    assert holder not in problem["detail"] and "gap" not in problem["detail"].split("'")[0]
            assert not wrong, "\n".join(wrong)

            for step, body in (("ack", {}), ("feedback", {"outcome": "resolved", "text": f"已回电{CALLED}"})):
                answer = await client.post(f"{routed}/{step}", headers=auth_headers("department", holder), json=body)
                assert answer.status_code == 200, answer.text
            # After the feedback: still no other street team, and the case's own one closes it.
            assert (await client.post(f"{routed}/close", headers=auth_headers("department", "street-baiyun"))
                    ).status_code == 404
            assert (await client.post(f"{routed}/close", headers=auth_headers("grid-app", "street-evil"))
                    ).status_code == 403
            closed = await client.post(f"{routed}/close", headers=auth_headers("department", f"street-{unit}"))
            assert closed.status_code == 200 and closed.json()["status"] == "closed", closed.text
            returned_id = (await client.post("/v1/reports", json=RETURNED, headers=OPERATOR)).json()["case_id"]
            other = (await _until(client, returned_id, "dispatched"))["department"]
            answer = await client.post(f"/v1/cases/{returned_id}/return", headers=auth_headers("department", other),
                                       json={"reason": "not_our_remit", "text": f"已电话{CALLED}核实，非本部门"})
            assert answer.status_code == 200, answer.text
            bus: MemoryBus = app.state.runtime.bus
            async with asyncio.timeout(30):  # the outbox relay publishes them shortly after
                while True:
                    events = [Envelope.from_bytes(m.value) for m in bus.messages("caseroute.case-events.v1")]
                    if any(t["kind"] == "returned" for t in transitions(events, returned_id)):
                        break
                    await asyncio.sleep(0.05)
            notices = [Envelope.from_bytes(m.value) for m in bus.messages(f"caseroute.dispatch.street-{unit}.v1")]
    # The departments' free text leaves masked: feedback to the street team, a return's text on case-events.
    quoted = [e.data for e in notices if e.subject == routed_id and e.type == "caseroute.case.feedback"]
    assert quoted and all(d["text"] == "已回电+86 139****4321" for d in quoted), quoted
    returns = [t["detail"] for t in transitions(events, returned_id) if t["kind"] == "returned"]
    assert [d["text"] for d in returns] == ["已电话+86 139****4321核实，非本部门"]
