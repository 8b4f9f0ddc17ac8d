"""GET /v1/cases/{id} reads in one statement, on asyncpg straight on PostgreSQL and through SQLAlchemy on SQLite:
the same answer on both as the plain ORM read gives."""

from __future__ import annotations

from typing import Any

import orjson
import pytest
from sqlalchemy import select, text

from schemas.events import DepartmentReply, ReturnReason
from services.db import Database
from services.pii import personal_fields
from tests.integration.tracker.support import decision, deps, postgres_deps, route  # noqa: F401 (fixture)
from tracker.api.cases import CaseSummary, TimelineRead, _Stored, read_case
from tracker.handlers import Deps, handle_reply
from tracker.store.cases import parties_of
from tracker.store.models import Case, TimelineEntry

pytestmark = [pytest.mark.timeout(120)]


async def _plain_read(db: Database, case_id: str, *, whole: bool) -> _Stored | None:
    """The same answer through the ORM, the plain path the one-statement read must agree with."""
    async with db.sessions() as session:
        case = await session.get(Case, case_id)
        if case is None:
            return None
        rows = (await session.execute(
            select(*(getattr(TimelineEntry, name) for name in TimelineRead.model_fields))
            .where(TimelineEntry.case_id == case_id).order_by(TimelineEntry.id)
        )).mappings().all()
    attempts = case.state.get("attempts", [])
    body = {**{name: getattr(case, name) for name in CaseSummary.model_fields}, "report": case.report,
            "decision": case.decision, "returns": case.state.get("returns", []),
            "transfers": max(0, len(attempts) - 1), "timeline": [dict(r) for r in rows]}
    report = case.report if not whole or personal_fields(case.report) else None
    return _Stored(body, parties_of(case), report, case.submitted_by)


async def _read(on: Deps, case_id: str, *, whole: bool = True, plain: bool = False) -> _Stored:
    stored = await (_plain_read if plain else read_case)(on.db, case_id, whole=whole)
    assert stored is not None
    return stored


def _as_client_sees(body: dict[str, Any]) -> Any:
    return orjson.loads(orjson.dumps(body))


async def test_the_one_statement_read_answers_what_the_orm_read_answers(deps: Deps) -> None:  # noqa: F811
    await route(deps, "R1", decision("amr", alternatives=("ecology",), hazard=True))  # one attempt, no returns
    await route(deps, "R2", decision("amr", alternatives=("ecology", "urban-mgmt")))
    await handle_reply(DepartmentReply(case_id="R2", department="amr", kind="return",
                                       reason=ReturnReason.not_our_remit, text="非本部门职责"), deps, actor="t")
    await route(deps, "R2", decision("ecology"), attempt=2)  # rerouted: a return, a transfer, a longer timeline
    await handle_reply(DepartmentReply(case_id="R2", department="ecology", kind="ack"), deps, actor="t")
    await route(deps, "R3", decision("amr", hazard=True))  # cc amr; a report naming its reporter
    async with deps.db.transaction() as session:
        r3 = await session.get(Case, "R3")
        assert r3 is not None
        r3.report = {**(r3.report or {}), "reporter_name": "张三", "reporter_phone": "13812345678"}
    for case_id in ("R1", "R2", "R3"):
        for whole in (True, False):  # as an overseer reads it, and as it is read to be masked
            one = await _read(deps, case_id, whole=whole)
            plain = await _read(deps, case_id, whole=whole, plain=True)
            assert _as_client_sees(one.body) == _as_client_sees(plain.body)
            assert list(_as_client_sees(one.body)) == list(_as_client_sees(plain.body))  # field order
            assert one.parties == plain.parties  # who may read it: the same from both reads
            assert one.report == plain.report and one.submitted_by == plain.submitted_by
    read3 = await _read(deps, "R3")
    assert read3.report is not None and read3.report["reporter_name"] == "张三"
    assert {"amr", "street-nanmen"} & read3.parties.involved == {"amr"}
    assert (await _read(deps, "R1")).report is None, "an overseer's read parses no more"
    assert (await _read(deps, "R1", whole=False)).report is not None
    r2 = _as_client_sees((await _read(deps, "R2")).body)
    assert r2["transfers"] == 1 and r2["returns"][0]["department"] == "amr"
    assert len(r2["timeline"]) >= 4 and r2["timeline"][-1]["kind"] == "acknowledged"
    assert r2["report"]["external_id"] and r2["decision"]["primary"] == "ecology"


async def test_the_read_of_a_missing_case_is_none(deps: Deps) -> None:  # noqa: F811
    assert await read_case(deps.db, "NOPE", whole=True) is None


@pytest.mark.postgres
async def test_the_driver_read_outlives_its_connections_being_cut(postgres_deps: Deps) -> None:  # noqa: F811
    await route(postgres_deps, "R4", decision("amr"))
    for _ in range(8):  # the read right after a cut races asyncpg noticing it: try the race a few times
        assert (await _read(postgres_deps, "R4")).body["case_id"] == "R4"  # the read pool is open now
        async with postgres_deps.db.sessions() as session:  # as a database restart would: every other connection ends
            cut = (await session.execute(text(
                "SELECT count(pg_terminate_backend(pid)) FROM pg_stat_activity"
                " WHERE datname = current_database() AND pid <> pg_backend_pid()"))).scalar_one()
        assert cut >= 1
        assert (await _read(postgres_deps, "R4")).body["case_id"] == "R4"
