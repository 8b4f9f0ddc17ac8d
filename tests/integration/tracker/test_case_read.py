"""GET /v1/cases/{id} on PostgreSQL reads through the driver in one statement: the same answer as the ORM gives."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Any

import orjson
import pytest
from sqlalchemy import text

from schemas.events import DepartmentReply, ReturnReason
from tests.integration.tracker.support import decision, postgres_deps, route  # noqa: F401 (fixture)
from tracker.api.cases import _case_from_driver, _case_from_session, _Stored
from tracker.handlers import Deps, handle_reply

pytestmark = [pytest.mark.postgres, pytest.mark.timeout(120)]


async def _read(read: Callable[..., Awaitable[_Stored | None]], on: Deps, case_id: str, *,
                whole: bool = True) -> _Stored:
    stored = await read(on.db, case_id, whole=whole)
    assert stored is not None
    return stored


def _as_client_sees(body: dict[str, Any]) -> Any:
    return orjson.loads(orjson.dumps(body))


async def test_driver_read_answers_what_the_orm_read_answers(postgres_deps: Deps) -> None:  # noqa: F811
    deps = postgres_deps
    await route(deps, "R1", decision("amr", alternatives=("ecology",), hazard=True))  # one attempt, no returns
    await route(deps, "R2", decision("amr", alternatives=("ecology", "urban-mgmt")))
    await handle_reply(DepartmentReply(case_id="R2", department="amr", kind="return",
                                       reason=ReturnReason.not_our_remit, text="非本部门职责"), deps, actor="t")
    await route(deps, "R2", decision("ecology"), attempt=2)  # rerouted: a return, a transfer, a longer timeline
    await handle_reply(DepartmentReply(case_id="R2", department="ecology", kind="ack"), deps, actor="t")
    await route(deps, "R3", decision("amr", hazard=True))  # cc amr; a report naming its reporter
    async with deps.db.transaction() as session:
        await session.execute(text("UPDATE tracker_cases SET report = report || :personal WHERE case_id = 'R3'"),
                              {"personal": orjson.dumps({"reporter_name": "张三", "reporter_phone": "13812345678"})
                               .decode()})
    for case_id in ("R1", "R2", "R3"):
        for whole in (True, False):  # as an overseer reads it, and as it is read to be masked
            driver = await _read(_case_from_driver, deps, case_id, whole=whole)
            session_read = await _read(_case_from_session, deps, case_id, whole=whole)
            assert _as_client_sees(driver.body) == _as_client_sees(session_read.body)
            assert list(_as_client_sees(driver.body)) == list(_as_client_sees(session_read.body))  # field order
            assert driver.parties == session_read.parties  # who may read it: the same from both reads
            assert driver.report == session_read.report and driver.submitted_by == session_read.submitted_by
    r3 = await _read(_case_from_driver, deps, "R3")
    assert r3.report is not None and r3.report["reporter_name"] == "张三"
    assert {"amr", "street-nanmen"} & r3.parties.involved == {"amr"}
    assert (await _read(_case_from_driver, deps, "R1")).report is None, "an overseer's read parses no more"
    assert (await _read(_case_from_driver, deps, "R1", whole=False)).report is not None
    r2 = _as_client_sees((await _read(_case_from_driver, deps, "R2")).body)
    assert r2["transfers"] == 1 and r2["returns"][0]["department"] == "amr"
    assert len(r2["timeline"]) >= 4 and r2["timeline"][-1]["kind"] == "acknowledged"
    assert r2["report"]["external_id"] and r2["decision"]["primary"] == "ecology"


async def test_driver_read_of_a_missing_case_is_none(postgres_deps: Deps) -> None:  # noqa: F811
    deps = postgres_deps
    assert await _case_from_driver(deps.db, "NOPE", whole=True) is None


async def test_driver_read_outlives_its_connections_being_cut(postgres_deps: Deps) -> None:  # noqa: F811
    deps = postgres_deps
    await route(deps, "R4", decision("amr"))
    for _ in range(8):  # the read right after a cut races asyncpg noticing it: try the race a few times
        assert (await _read(_case_from_driver, deps, "R4")).body["case_id"] == "R4"  # the read pool is open now
        async with deps.db.sessions() as session:  # as a database restart would: every other connection ends
            cut = (await session.execute(text(
                "SELECT count(pg_terminate_backend(pid)) FROM pg_stat_activity"
                " WHERE datname = current_database() AND pid <> pg_backend_pid()"))).scalar_one()
        assert cut >= 1
        assert (await _read(_case_from_driver, deps, "R4")).body["case_id"] == "R4"
