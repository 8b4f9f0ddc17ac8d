"""GET /v1/cases/{id} on PostgreSQL reads through the driver in one statement: the same answer as the ORM gives."""

from __future__ import annotations

from typing import Any

import orjson
import pytest
from sqlalchemy import text

from schemas.events import DepartmentReply, ReturnReason
from services.problems import Problem
from tests.integration.tracker.test_tracker_on_postgres import decision, deps, route  # noqa: F401 (fixture)
from tracker.api.cases import _case_from_driver, _case_from_session
from tracker.handlers import Deps, handle_reply

pytestmark = [pytest.mark.postgres, pytest.mark.timeout(120)]


def _as_client_sees(body: dict[str, Any]) -> Any:
    return orjson.loads(orjson.dumps(body))


async def test_driver_read_answers_what_the_orm_read_answers(deps: Deps) -> None:  # noqa: F811
    await route(deps, "R1", decision("amr", alternatives=("ecology",), hazard=True))  # one attempt, no returns
    await route(deps, "R2", decision("amr", alternatives=("ecology", "urban-mgmt")))
    await handle_reply(DepartmentReply(case_id="R2", department="amr", kind="return",
                                       reason=ReturnReason.not_our_remit, text="非本部门职责"), deps, actor="t")
    await route(deps, "R2", decision("ecology"), attempt=2)  # rerouted: a return, a transfer, a longer timeline
    await handle_reply(DepartmentReply(case_id="R2", department="ecology", kind="ack"), deps, actor="t")
    for case_id in ("R1", "R2"):
        driver = _as_client_sees(await _case_from_driver(deps.db, case_id))
        assert driver == _as_client_sees(await _case_from_session(deps.db, case_id))
        assert list(driver) == list(_as_client_sees(await _case_from_session(deps.db, case_id)))  # field order too
    r2 = _as_client_sees(await _case_from_driver(deps.db, "R2"))
    assert r2["transfers"] == 1 and r2["returns"][0]["department"] == "amr"
    assert len(r2["timeline"]) >= 4 and r2["timeline"][-1]["kind"] == "acknowledged"
    assert r2["report"]["external_id"] and r2["decision"]["primary"] == "ecology"


async def test_driver_read_of_a_missing_case_is_404(deps: Deps) -> None:  # noqa: F811
    with pytest.raises(Problem) as raised:
        await _case_from_driver(deps.db, "NOPE")
    assert raised.value.status == 404


async def test_driver_read_outlives_its_connections_being_cut(deps: Deps) -> None:  # noqa: F811
    await route(deps, "R4", decision("amr"))
    for _ in range(8):  # the read right after a cut races asyncpg noticing it: try the race a few times
        assert (await _case_from_driver(deps.db, "R4"))["case_id"] == "R4"  # the read pool is open now
        async with deps.db.sessions() as session:  # as a database restart would: every other connection ends
            cut = (await session.execute(text(
                "SELECT count(pg_terminate_backend(pid)) FROM pg_stat_activity"
                " WHERE datname = current_database() AND pid <> pg_backend_pid()"))).scalar_one()
        assert cut >= 1
        assert (await _case_from_driver(deps.db, "R4"))["case_id"] == "R4"
