"""Authorisation over the four services in one process: every role at every kind of call, allowed or refused.

Also: what a department receives and reads has the reporter's name and phone masked; overseers read them
whole and each such read is audited; subscription changes are audited with the caller.
"""

from __future__ import annotations

import asyncio
from pathlib import Path

import httpx
import pytest
from sqlalchemy import select

from intake.bootstrap import build as intake
from notifier.bootstrap import build as notifier
from notifier.store.models import NotifierAudit
from router.bootstrap import build as router
from schemas.envelope import Envelope
from services.bus.memory import MemoryBus
from services.settings import KafkaSettings, Settings
from tests.conftest import dev_reports
from tests.integration.harness import running
from tests.support.credentials import auth_headers, credential_for
from tests.support.service_apps import tracker
from tracker.store.models import TrackerAudit

pytestmark = pytest.mark.timeout(90)

NAME, PHONE = "张三丰", "13812345678"
REPORT = {**dev_reports()[0], "external_id": "SEC-1", "reporter_name": NAME, "reporter_phone": PHONE,
          "description": f"解放南路一家铝合金门窗店已经营半年，未办理营业执照。举报人{NAME}，电话{PHONE}。"}


def who(role: str, name: str) -> dict[str, str]:
    return auth_headers(role, name)


NOBODY: dict[str, str] = {}
FORGED = {"Authorization": "Bearer " + credential_for("admin", "x")[:-4] + "AAAA"}
OLD = {"Authorization": "Bearer " + credential_for("admin", "x", lifetime_s=-60)}


async def test_every_role_is_allowed_exactly_what_it_may_do(tmp_path: Path) -> None:
    settings = Settings(database_url=f"sqlite+aiosqlite:///{tmp_path / 'all.db'}",
                        kafka=KafkaSettings(bootstrap=None))
    async with running(settings, [intake, router, tracker, notifier]) as app:
        async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://t") as client:
            posted = await client.post("/v1/reports", json=REPORT, headers=who("grid-app", "app-a"))
            assert posted.status_code == 202, posted.text
            case_id = posted.json()["case_id"]
            case_url = f"/v1/cases/{case_id}"
            async with asyncio.timeout(30):
                while (case := await client.get(case_url, headers=who("operator", "ops"))).status_code != 200 \
                        or case.json()["status"] != "dispatched":
                    await asyncio.sleep(0.05)
            holder = case.json()["department"]
            assert holder

            checks: list[tuple[str, str, dict[str, str], int, dict[str, object] | None]] = [
                # who may submit
                ("POST", "/v1/reports", NOBODY, 401, {**REPORT, "external_id": "SEC-2"}),
                ("POST", "/v1/reports", FORGED, 401, {**REPORT, "external_id": "SEC-2"}),
                ("POST", "/v1/reports", OLD, 401, {**REPORT, "external_id": "SEC-2"}),
                ("POST", "/v1/reports", who("department", holder), 403, {**REPORT, "external_id": "SEC-2"}),
                ("POST", "/v1/reports", who("adjudicator", "adj"), 403, {**REPORT, "external_id": "SEC-2"}),
                ("POST", "/v1/reports", who("hotline", "12345"), 202, {**REPORT, "external_id": "SEC-3",
                                                                       "source": "hotline"}),
                # who sees the case
                ("GET", case_url, NOBODY, 401, None),
                ("GET", case_url, FORGED, 401, None),
                ("GET", case_url, who("department", holder), 200, None),
                ("GET", case_url, who("department", "not-it"), 404, None),
                ("GET", case_url, who("department", f"street-{case.json()['unit']}"), 200, None),
                ("GET", case_url, who("grid-app", "app-a"), 200, None),
                ("GET", case_url, who("grid-app", "app-b"), 404, None),
                ("GET", case_url, who("hotline", "12345"), 404, None),
                ("GET", case_url, who("adjudicator", "adj"), 200, None),
                ("GET", case_url, who("admin", "root"), 200, None),
                ("GET", "/v1/stats", NOBODY, 401, None),
                ("GET", "/v1/stats", who("department", holder), 200, None),
                # who acts on it
                ("POST", f"{case_url}/ack", who("department", "not-it"), 404, {}),  # not a party: as a read
                ("POST", f"{case_url}/ack", who("grid-app", "app-a"), 403, {}),
                ("POST", f"{case_url}/ack", who("operator", "ops"), 403, {}),
                ("POST", f"{case_url}/ack", NOBODY, 401, {}),
                ("POST", f"{case_url}/ack", who("department", holder), 200, {}),
                ("POST", f"{case_url}/close", who("grid-app", "app-a"), 403, None),
                ("POST", f"{case_url}/close", who("department", "not-it"), 403, None),
                # router preview and the notifier's admin API
                ("POST", "/v1/route:preview", NOBODY, 401, REPORT),
                ("POST", "/v1/route:preview", who("department", holder), 403, REPORT),
                ("POST", "/v1/route:preview", who("grid-app", "app-a"), 200, REPORT),
                ("GET", "/v1/subscriptions", NOBODY, 401, None),
                ("GET", "/v1/subscriptions", who("operator", "ops"), 403, None),
                ("GET", "/v1/subscriptions", who("department", holder), 403, None),
                ("GET", "/v1/subscriptions", who("admin", "root"), 200, None),
                ("GET", "/v1/deliveries", who("operator", "ops"), 403, None),
                ("GET", "/v1/stream", who("department", holder), 403, None),
                ("GET", "/v1/notifier/events?case_id=" + case_id, who("department", holder), 403, None),
                ("GET", "/v1/notifier/events?case_id=" + case_id, who("operator", "ops"), 200, None),
            ]
            wrong = []
            for method, path, headers, expected, body in checks:
                answer = await client.request(method, path, headers=headers, json=body)
                if answer.status_code != expected:
                    wrong.append(f"{method} {path} as {headers and _role(headers)}: {answer.status_code} "
                                 f"≠ {expected} {answer.text[:200]}")
                if expected in (401, 403):
                    assert answer.headers["content-type"] == "application/problem+json"
            assert not wrong, "\n".join(wrong)

            listings = {}
            for role, name in (("department", holder), ("department", "not-it"), ("grid-app", "app-a"),
                               ("grid-app", "app-b"), ("operator", "ops")):
                page = await client.get("/v1/cases", headers=who(role, name), params={"limit": 500})
                listings[(role, name)] = {c["case_id"] for c in page.json()["items"]}
            assert case_id in listings[("department", holder)] and case_id in listings[("operator", "ops")]
            assert case_id in listings[("grid-app", "app-a")]
            assert not listings[("department", "not-it")] and not listings[("grid-app", "app-b")]

            department_view = (await client.get(case_url, headers=who("department", holder))).json()["report"]
            operator_view = (await client.get(case_url, headers=who("operator", "ops"))).json()["report"]
            subscribed = await client.post("/v1/subscriptions", headers=who("admin", "root"), json={
                "kind": "department", "owner": holder, "url": "http://127.0.0.1:9/hook", "event_types": ["*"]})
            assert subscribed.status_code == 201
            await client.delete(f"/v1/subscriptions/{subscribed.json()['id']}", headers=who("admin", "root"))
        bus: MemoryBus = app.state.runtime.bus
        dispatched = [Envelope.from_bytes(m.value).data for m in bus.messages(f"caseroute.dispatch.{holder}.v1")]
        async with app.state.runtime.db.sessions() as session:
            reads = (await session.execute(select(TrackerAudit))).scalars().all()
            changes = (await session.execute(select(NotifierAudit).order_by(NotifierAudit.id))).scalars().all()

    print(f"\nauthorisation checks: {len(checks)} calls + {len(listings)} listings")
    assert len(checks) == 36
    # Masked for the department, in its API view and on its topic; whole for the operator.
    assert department_view["reporter_name"] == "张**" and department_view["reporter_phone"] == "138****5678"
    assert PHONE not in department_view["description"] and NAME not in department_view["description"]
    assert operator_view["reporter_name"] == NAME and operator_view["reporter_phone"] == PHONE
    assert dispatched and all(PHONE not in d["description"] and NAME not in d["description"] for d in dispatched)
    assert "138****5678" in dispatched[0]["description"]
    # Each overseer's read of personal data is audited with the caller; the department's masked reads are not.
    readers = {r.actor for r in reads if r.action == "case.read_personal" and r.target == case_id}
    assert readers == {"operator:ops", "adjudicator:adj", "admin:root"}
    assert [(c.action, c.actor) for c in changes] == [("subscription.create", "admin:root"),
                                                      ("subscription.deactivate", "admin:root")]


def _role(headers: dict[str, str]) -> str:
    import jwt

    token = headers["Authorization"].split()[1]
    claims = jwt.decode(token, options={"verify_signature": False})
    return f"{claims['caseroute_role']}:{claims['caseroute_name']}"
