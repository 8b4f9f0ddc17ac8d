"""Learning from the loop, with a human in it, on PostgreSQL (tracker in process): cases placed by a ruling or
by an accepted re-route are the examples; the tracker suggests the place they share (明湖社区, which the catalogue
lacks) for the unit they went to, with those cases; an operator cannot accept it, an adjudicator can, from the API
or the console, and the new catalogue version routes the next report naming the place to that unit."""

from __future__ import annotations

import asyncio
import re
from collections.abc import AsyncIterator
from datetime import UTC, datetime
from typing import Any

import httpx
import pytest
from fastapi import FastAPI
from sqlalchemy import select

from catalogue.loader import load_catalogue, parse_catalogue
from router.domain.compiled import compile_catalogue
from router.domain.decide import decide
from router.domain.suggest import suggest
from router.suggestions import example_of
from schemas.decision import Candidate, Decision
from schemas.events import CaseRouted, DepartmentReply, EventType, ReturnReason
from schemas.report import Report
from services.envelopes import envelope
from services.settings import KafkaSettings, Settings
from tests.integration.harness import running
from tests.support.credentials import auth_headers, credential_for
from tests.support.service_apps import tracker
from tracker.handlers import Deps, handle_reply, record_routing
from tracker.store.models import CatalogueVersion, TrackerAudit

pytestmark = [pytest.mark.postgres, pytest.mark.timeout(180)]
PLACE = "明湖社区"  # made up: in neither the division list nor the hand-kept gazetteer
UNIT = "ximen"
STATION = f"police-{UNIT}"
SUGGESTION = f"gazetteer:{UNIT}:{PLACE}"
ADJUDICATOR = auth_headers("adjudicator", "wang")
OPERATOR = auth_headers("operator", "li")
BASE = "http://tracker"
REAL = {"Origin": BASE, "Sec-Fetch-Site": "same-origin"}
FIGHT = "明湖社区门口每天深夜有人聚众打架斗殴，吵得居民睡不着。"
FIGHT_2 = "明湖社区有人酒后寻衅滋事、打架斗殴，希望管一管。"
CHARGING = "明湖社区居民楼楼道里有人给电动车飞线充电，存在火灾隐患。"
CHARGING_2 = "明湖社区住户在楼道私拉电线给电动车充电，很危险。"
CHARGING_4 = "明湖社区有居民把电动自行车推进电梯上楼充电，担心起火。"
CHARGING_3 = "明湖社区一栋住宅楼道堆满杂物，电瓶车飞线充电，容易着火。"


def report(external_id: str, text: str, **extra: Any) -> Report:
    return Report(external_id=external_id, source="grid", reported_at=datetime.now(UTC),
                  location={"unit": None, "address": None}, description=text, **extra)


@pytest.fixture
async def app(fresh_postgres: str) -> AsyncIterator[FastAPI]:
    settings = Settings(database_url=fresh_postgres, kafka=KafkaSettings(bootstrap=None),
                        console_secret="console-test-secret")  # type: ignore[arg-type]
    async with running(settings, [tracker]) as application:
        yield application


def deps_of(app: FastAPI) -> Deps:
    deps: Deps = app.state.tracker.state.deps
    return deps


def client_of(app: FastAPI) -> httpx.AsyncClient:
    return httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url=BASE)


async def routed(deps: Deps, case_id: str, rep: Report, decision: Decision, attempt: int = 1) -> None:
    payload = CaseRouted(case_id=case_id, attempt=attempt, decision=decision, report=rep)
    await record_routing(envelope(source="test", event_type=EventType.case_routed, subject=case_id,
                                  payload=payload), deps)


async def placed_by_the_loop(app: FastAPI, client: httpx.AsyncClient, *, rule: tuple[str, ...] = ("G1", "G2")
                             ) -> None:
    """Two gap cases ruled to the station; one case re-routed to it and acknowledged (placed); one re-routed to
    it and not yet acknowledged (not placed: the station may still return it)."""
    deps = deps_of(app)
    compiled = compile_catalogue(load_catalogue(deps.settings.catalogue))
    gaps = {"G1": report("G-1", FIGHT, reporter_name="张三", reporter_phone="13912345678"),
            "G2": report("G-2", FIGHT_2)}
    for case_id, rep in gaps.items():
        decision = decide(rep, compiled)
        assert (decision.rule, decision.unit) == ("R10", None), "the router finds neither subject nor place"
        await routed(deps, case_id, rep, decision)
    for case_id, text in (("R1", CHARGING), ("R2", CHARGING_2)):
        rep = report(case_id, text)
        first = decide(rep, compiled)
        assert first.primary == "fire-brigade" and first.unit is None, "no unit: the station's district fallback"
        ranked = first.model_copy(update={"alternatives": [Candidate(department=STATION, rule="R1", score=0.5)]})
        await routed(deps, case_id, rep, ranked)
        await handle_reply(DepartmentReply(case_id=case_id, department="fire-brigade", kind="return",
                                           reason=ReturnReason.wrong_unit, text="属地派出所"), deps, actor="t")
        await routed(deps, case_id, rep, ranked.model_copy(update={"primary": STATION, "unit": UNIT}), attempt=2)
    await handle_reply(DepartmentReply(case_id="R1", department=STATION, kind="ack"), deps, actor="t")
    # Returned with no candidate left: a dispute, ruled to the station, which acknowledges: a ruling, not a re-route.
    disputed = report("R3", CHARGING_4)
    await routed(deps, "R3", disputed, decide(disputed, compiled).model_copy(update={"alternatives": []}))
    await handle_reply(DepartmentReply(case_id="R3", department="fire-brigade", kind="return",
                                       reason=ReturnReason.wrong_unit, text="属地派出所"), deps, actor="t")
    ruled = await client.post("/v1/adjudications/R3/ruling", headers=ADJUDICATOR,
                              json={"lead": STATION, "principle": "nearest"})
    assert ruled.status_code == 200, ruled.text
    await handle_reply(DepartmentReply(case_id="R3", department=STATION, kind="ack"), deps, actor="t")
    as_rule = await client.post("/v1/adjudications/G1/ruling", headers=ADJUDICATOR, json={
        "lead": STATION, "principle": "nearest", "save_as_rule": True, "terms": ["打架斗殴", "明湖社区"]})
    assert as_rule.status_code == 422, "a rule serves every unit: it names police-{unit}, not one station"
    for case_id in rule:
        ruled = await client.post(f"/v1/adjudications/{case_id}/ruling", headers=ADJUDICATOR,
                                  json={"lead": STATION, "principle": "nearest", "note": "明湖社区属西门"})
        assert ruled.status_code == 200, ruled.text
        assert ruled.json()["lead"] == STATION


async def test_rulings_and_accepted_reroutes_suggest_a_place_an_adjudicator_accepts(app: FastAPI) -> None:
    async with client_of(app) as client:
        assert (await client.get("/v1/catalogue/suggestions", headers=OPERATOR)).json()["suggestions"] == []
        await placed_by_the_loop(app, client)

        examples = await client.get("/v1/catalogue/examples", headers=OPERATOR)
        assert examples.status_code == 200, examples.text
        assert sorted((e["case_id"], e["how"], e["department"]) for e in examples.json()) == [
            ("G1", "ruling", STATION), ("G2", "ruling", STATION), ("R1", "reroute", STATION),
            ("R3", "ruling", STATION)]
        whole = next(e for e in examples.json() if e["case_id"] == "G1")["report"]
        assert whole["reporter_phone"] == "13912345678"  # an overseer's read: whole, and audited
        assert (await client.get("/v1/catalogue/examples", headers=auth_headers("department", STATION))
                ).status_code == 403
        assert (await client.get("/v1/catalogue/examples", params={"since": "2999-01-01T00:00:00Z"},
                                 headers=OPERATOR)).json() == []

        found = await client.get("/v1/catalogue/suggestions", headers=OPERATOR)
        assert found.status_code == 200, found.text
        by_id = {s["id"]: s for s in found.json()["suggestions"]}
        assert SUGGESTION in by_id, by_id
        place = by_id[SUGGESTION]
        assert (place["kind"], place["target"], place["word"]) == ("gazetteer", UNIT, PLACE)
        assert sorted(place["support"]) == ["G1", "G2", "R1", "R3"]
        before = found.json()["catalogue_version"]
        # `caseroute catalogue suggest --tracker` reads these examples and finds the same suggestions.
        from_cli = suggest(compile_catalogue(load_catalogue(deps_of(app).settings.catalogue)),
                           [example_of(row, n) for n, row in enumerate(examples.json(), start=1)])
        assert [s.as_dict() for s in from_cli] == found.json()["suggestions"]

        # Nothing changes by itself, nor by an operator.
        refused = await client.post("/v1/catalogue/suggestions/accept", headers=OPERATOR,
                                    json={"ids": [SUGGESTION], "reason": "x"})
        assert refused.status_code == 403
        unknown = await client.post("/v1/catalogue/suggestions/accept", headers=ADJUDICATOR,
                                    json={"ids": [SUGGESTION, "gazetteer:nanmen:没有这个村"], "reason": "x"})
        assert unknown.status_code == 409
        assert unknown.headers["content-type"].startswith("application/problem+json")
        assert "gazetteer:nanmen:没有这个村" in unknown.json()["detail"]
        assert [v["version"] for v in (await client.get("/v1/catalogue/versions", headers=OPERATOR)).json()] == [
            before]

        accepted = await client.post("/v1/catalogue/suggestions/accept", headers=ADJUDICATOR,
                                     json={"ids": [SUGGESTION], "reason": "明湖社区属西门街道"})
        assert accepted.status_code == 200, accepted.text
        version = accepted.json()
        assert version["parent"] == before and version["in_force"] and version["author"] == "adjudicator:wang"
        again = await client.post("/v1/catalogue/suggestions/accept", headers=ADJUDICATOR,
                                  json={"ids": [SUGGESTION], "reason": "twice"})
        assert again.status_code == 409, "accepted already: the new version knows the place"
        after = (await client.get("/v1/catalogue/suggestions", headers=OPERATOR)).json()
        assert after["catalogue_version"] == version["version"]
        assert SUGGESTION not in {s["id"] for s in after["suggestions"]}

        document = (await client.get(f"/v1/catalogue/versions/{version['version']}", headers=OPERATOR)
                    ).json()["document"]
        assert PLACE in document["gazetteer"][UNIT]
        diff = (await client.get(f"/v1/catalogue/versions/{version['version']}/diff", headers=OPERATOR)).json()
        assert PLACE in diff["text"]

    # The next report naming the place goes to the unit's station under the new version.
    third = decide(report("R-3", CHARGING_3), compile_catalogue(parse_catalogue(document, "new")))
    assert (third.primary, third.unit) == (STATION, UNIT)
    async with deps_of(app).db.sessions() as session:
        audited = (await session.execute(select(TrackerAudit.action, TrackerAudit.target, TrackerAudit.detail)
                                         .where(TrackerAudit.action.in_(["catalogue.publish", "case.read_personal"]))
                                         )).all()
    publish = [a for a in audited if a.action == "catalogue.publish"]
    assert [(a.target, a.detail["suggestions"]) for a in publish] == [(version["version"], [SUGGESTION])]
    assert sorted(publish[0].detail["support"][SUGGESTION]) == ["G1", "G2", "R1", "R3"]
    assert ("case.read_personal", "G1") in {(a.action, a.target) for a in audited
                                            if (a.detail or {}).get("via") == "GET /v1/catalogue/examples"}
    # The new version goes out on catalogue.v1 (through the outbox) for every router replica to take.
    bus, topic = app.state.runtime.bus, deps_of(app).settings.topic("catalogue.v1")
    async with asyncio.timeout(10):
        while not any(version["version"].encode() in m.value for m in bus.messages(topic)):
            await asyncio.sleep(0.1)


def hidden(html: str, name: str) -> str:
    match = re.search(rf'name="{name}" value="([^"]+)"', html)
    return match.group(1) if match else ""


async def log_in(client: httpx.AsyncClient, role: str, name: str) -> None:
    form = await client.get("/console/login")
    answer = await client.post("/console/login", headers=REAL, data={
        "credential": credential_for(role, name), "login_token": hidden(form.text, "login_token")})
    assert answer.status_code == 303, answer.text[:500]


async def test_the_console_lists_suggestions_with_their_cases_and_accepts_them(app: FastAPI) -> None:
    async with client_of(app) as api:
        await placed_by_the_loop(app, api, rule=("G2",))
    async with client_of(app) as console:  # G1 ruled from the console's form, which offers the unit's station
        await log_in(console, "adjudicator", "zhou")
        form = await console.get("/console/adjudications/G1")
        assert f'<option value="{STATION}">西门街道派出所' in form.text
        ruled = await console.post("/console/adjudications/G1/ruling", headers=REAL, data={
            "lead": STATION, "principle": "nearest", "csrf_token": hidden(form.text, "csrf_token")})
        assert ruled.status_code == 200, ruled.text[:800]
    async with client_of(app) as operator:
        await log_in(operator, "operator", "li")
        read_only = await operator.get("/console/suggestions")
        assert read_only.status_code == 200 and PLACE in read_only.text
        assert f'value="{SUGGESTION}"' not in read_only.text, "no checkbox for an operator"
        refused = await operator.post("/console/suggestions/accept", headers=REAL, data={
            "ids": [SUGGESTION], "reason": "x", "csrf_token": hidden(read_only.text, "csrf_token")})
        assert refused.status_code == 403
    async with client_of(app) as client:
        await log_in(client, "adjudicator", "wang")
        listed = await client.get("/console/suggestions")
        assert listed.status_code == 200
        assert 'href="/console/suggestions"' in listed.text  # in the navigation
        row = next(r for r in listed.text.split("<tr>") if PLACE in r)
        assert f'value="{SUGGESTION}"' in row and "西门街道" in row
        assert all(f'href="/console/cases/{c}"' in row for c in ("G1", "G2", "R1"))
        forged = await client.post("/console/suggestions/accept", headers=REAL,
                                   data={"ids": [SUGGESTION], "reason": "x", "csrf_token": "guessed"})
        assert forged.status_code == 403
        done = await client.post("/console/suggestions/accept", headers=REAL, data={
            "ids": [SUGGESTION], "reason": "明湖社区属西门街道", "csrf_token": hidden(listed.text, "csrf_token")})
        assert done.status_code == 200, done.text[:800]
        async with deps_of(app).db.sessions() as session:
            newest = (await session.execute(select(CatalogueVersion).order_by(CatalogueVersion.id.desc()).limit(1))
                      ).scalar_one()
        assert newest.author == "adjudicator:wang" and PLACE in newest.document["gazetteer"][UNIT]
        assert newest.version in done.text and f'href="/console/catalogue/{newest.version}/diff"' in done.text
        assert f'value="{SUGGESTION}"' not in done.text, "accepted: no longer suggested"
        stale = await client.post("/console/suggestions/accept", headers=REAL, data={
            "ids": [SUGGESTION], "reason": "again", "csrf_token": hidden(listed.text, "csrf_token")})
        assert stale.status_code == 409 and SUGGESTION in stale.text
