"""Linking new cases to subjects, a poll at a time, on both databases: a poll gives each case, subject, key and
tier announcement what one case at a time gives it, and a key another replica claimed between the read and the
insert goes to that replica's subject."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import UTC, datetime

import orjson
import pytest
from sqlalchemy import event, select

from schemas.decision import Decision, DecisionStatus, SubjectRef
from schemas.events import CaseRouted, EventType
from schemas.report import Hazard, Report
from services.envelopes import envelope
from tests.integration.tracker.support import deps  # noqa: F401  # the fixture
from tracker import subjects as linking
from tracker.handlers import Deps, record_routings
from tracker.store.models import Case, Subject, SubjectKey, TrackerOutbox
from tracker.subjects import subject_id_of

pytestmark = pytest.mark.timeout(120)
AT = datetime(2026, 11, 10, 2, 0, tzinfo=UTC)


def routed(case_id: str, keys: list[str], *, code: str | None = None) -> CaseRouted:
    report = Report.model_validate({"external_id": case_id, "source": "grid", "reported_at": AT.isoformat(),
                                    "location": {"unit": "nanmen", "address": "解放南路88号"},
                                    "description": "张记面馆油烟扰民"})
    decision = Decision(external_id=case_id, status=DecisionStatus.routed, rule="R9", primary="amr",
                        feedback_to=["street-nanmen"], deadline_days=20, ack_hours=24, hazard=Hazard.none,
                        unit="nanmen", confidence=0.9, catalogue_version="test",
                        subject=SubjectRef(keys=keys, name="张记面馆", address="解放南路88号", credit_code=code))
    return CaseRouted(case_id=case_id, decision=decision, report=report, accepted_at=AT)


async def route(to: Deps, cases: Sequence[CaseRouted]) -> None:
    await record_routings([envelope(source="test", event_type=EventType.case_routed, subject=c.case_id, payload=c)
                           for c in cases], to)


def poll(tag: str) -> tuple[list[CaseRouted], list[CaseRouted]]:
    """A first poll, then one with two cases of a new subject, a code that joins a name known in the same poll,
    and a case of a subject of the first poll."""
    a, b, c = (f"name:nanmen:{tag}:{x}" for x in "abc")
    code = f"uscc:{tag}"
    return ([routed(f"{tag}1", [c])],
            [routed(f"{tag}2", [a]), routed(f"{tag}3", [a]), routed(f"{tag}4", [b]),
             routed(f"{tag}5", [code, b], code=code), routed(f"{tag}6", [c])])


async def picture(of: Deps, tag: str) -> dict[str, object]:
    """Subjects by their least key's tag-free name, what each case and key belongs to, the tier announcements."""
    def own(value: str) -> str:
        return value.replace(tag, "")

    async with of.db.sessions() as session:
        keys = {own(k.key): k.subject_id for k in (await session.scalars(select(SubjectKey))).all() if tag in k.key}
        names = {sid: own(key) for key, sid in sorted(keys.items(), reverse=True)}  # a stable name per subject
        subjects = {names[s.id]: (s.tier, s.cases, s.credit_code is not None)
                    for s in (await session.scalars(select(Subject))).all() if s.id in names}
        cases = {own(c.case_id): names.get(c.subject_id or "") for c in (await session.scalars(select(Case))).all()
                 if c.case_id.startswith(tag)}
        values = (await session.scalars(select(TrackerOutbox.value).where(TrackerOutbox.key.startswith(tag)))).all()
    announced = sorted((own(event["case_id"]), names[tier["subject"]], sorted(map(own, tier["keys"])), tier["tier"])
                       for event in (orjson.loads(v)["data"] for v in values)
                       for t in event.get("transitions", []) if t["kind"] == "tier_changed"
                       for tier in [t["detail"]["subject_tier"]])
    return {"keys": {k: names[v] for k, v in keys.items()}, "subjects": subjects, "cases": cases,
            "announced": announced}


async def test_a_poll_links_as_one_case_at_a_time(deps: Deps) -> None:  # noqa: F811
    for tag, one_by_one in (("P", False), ("Q", True)):
        first, second = poll(tag)
        await route(deps, first)
        for part in ([[c] for c in second] if one_by_one else [second]):
            await route(deps, part)
    polled, single = await picture(deps, "P"), await picture(deps, "Q")
    # A poll announces each subject once, on its last new case, with every key it holds by then; one at a time, a
    # subject's first case announces it and a case that leaves its tier as it was announces nothing.
    assert polled.pop("announced") == [("1", "name:nanmen::c", ["name:nanmen::c"], "A"),
                                       ("3", "name:nanmen::a", ["name:nanmen::a"], "A"),
                                       ("5", "name:nanmen::b", ["name:nanmen::b", "uscc:"], "A")]
    assert single.pop("announced") == [("1", "name:nanmen::c", ["name:nanmen::c"], "A"),
                                       ("2", "name:nanmen::a", ["name:nanmen::a"], "A"),
                                       ("4", "name:nanmen::b", ["name:nanmen::b"], "A")]
    assert polled == single
    # The code and the name: one subject, the name's, which now knows its code.
    assert polled["subjects"] == {"name:nanmen::a": ("A", 2, False), "name:nanmen::c": ("A", 2, False),
                                  "name:nanmen::b": ("A", 2, True)}
    assert polled["cases"] == {"1": "name:nanmen::c", "2": "name:nanmen::a", "3": "name:nanmen::a",
                               "4": "name:nanmen::b",
                               "5": "name:nanmen::b", "6": "name:nanmen::c"}


async def test_a_key_claimed_by_another_replica_meanwhile_stays_with_its_subject(
        deps: Deps, monkeypatch: pytest.MonkeyPatch) -> None:  # noqa: F811
    known, new = "name:nanmen:K:known", "name:nanmen:K:new"
    await route(deps, [routed("K1", [known])])
    read = linking._owners
    stale = [True]

    async def owners_read_before_the_other_commit(session: object, keys: Sequence[str]) -> dict[str, str]:
        if stale.pop() if stale else False:
            return {}  # as if the first case's transaction committed just after this read
        return await read(session, keys)  # type: ignore[arg-type]

    monkeypatch.setattr(linking, "_owners", owners_read_before_the_other_commit)
    await route(deps, [routed("K2", [new, known])])
    async with deps.db.sessions() as session:
        keys = {k.key: k.subject_id for k in (await session.scalars(select(SubjectKey))).all()}
        case = await session.get(Case, "K2")
        values = (await session.scalars(select(TrackerOutbox.value).where(TrackerOutbox.key == "K2"))).all()
    announced = [t["detail"]["subject_tier"] for v in values for t in orjson.loads(v)["data"]["transitions"]
                 if t["kind"] == "tier_changed"]
    assert keys == {known: subject_id_of(known), new: subject_id_of(new)}  # the known key kept its subject
    assert case is not None and case.subject_id == subject_id_of(new)
    assert announced == [{"subject": subject_id_of(new), "keys": [new], "tier": "A"}]


async def test_a_poll_of_new_subjects_writes_each_row_once_and_reads_none_back(deps: Deps) -> None:  # noqa: F811
    await route(deps, [routed("W0", ["name:nanmen:W:warm"])])  # the catalogue in force recorded, parsed
    seen: list[str] = []

    def statement(conn: object, cursor: object, text: str, *args: object) -> None:
        seen.append(" ".join(text.split()))

    event.listen(deps.db.engine.sync_engine, "before_cursor_execute", statement)
    try:
        await route(deps, [routed(f"W{n}", [f"name:nanmen:W:{n}"]) for n in (1, 2, 3)])
    finally:
        event.remove(deps.db.engine.sync_engine, "before_cursor_execute", statement)
    async with deps.db.sessions() as session:
        linked = {c.case_id: c.subject_id for c in (await session.scalars(select(Case))).all()}
        subjects = {s.id: (s.cases, s.tier) for s in (await session.scalars(select(Subject))).all()}

    assert not [s for s in seen if s.startswith(("UPDATE tracker_cases", "UPDATE tracker_subjects"))]
    read_back = ("FROM tracker_subjects", "FROM tracker_cases WHERE tracker_cases.subject_id")
    assert not [s for s in seen if any(what in s for what in read_back)]
    assert all(linked[f"W{n}"] == subject_id_of(f"name:nanmen:W:{n}") for n in (1, 2, 3))
    assert all(subjects[subject_id_of(f"name:nanmen:W:{n}")] == (1, "A") for n in (1, 2, 3))
