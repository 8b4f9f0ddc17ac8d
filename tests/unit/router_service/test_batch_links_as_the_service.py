"""`caseroute route --link-duplicates` links the reports of a batch as the router service links them (both ask
router.domain.linking.OpenCases): the same reports become duplicates of the same cases."""

from __future__ import annotations

import io
import json
import random
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from sqlalchemy import select

from catalogue.loader import load_catalogue
from router.cli import route_stream
from router.domain.compiled import compile_catalogue
from router.domain.decide import decide
from router.domain.linking import link_duplicates
from router.engine import Engine
from router.handlers import route_reports
from router.store.models import RoutedCase
from schemas.events import EventType, ReportAccepted
from schemas.report import Report
from services.db import Database
from services.envelopes import envelope
from services.migrate import upgrade
from services.settings import KafkaSettings, Settings
from tests.conftest import dev_reports

pytestmark = pytest.mark.timeout(120)
MIGRATIONS = Path(__file__).resolve().parents[3] / "router" / "migrations"
METRE = 1 / 111_195  # degrees of latitude


def reports() -> list[Report]:
    """The dev reports, each at a point of its own, and repeats of some: at the same address a day later, 20 m
    away, 80 m away (past the distance), at the same address in another unit, nine days later (past the window),
    a day before the original; shuffled, so some lines come before their originals."""
    rng = random.Random(16)
    rows = [{**row, "external_id": f"D{i}", "location": {**row["location"],  # type: ignore[dict-item]
                                                         "lat": 29.80 + (i % 40) * 0.003,
                                                         "lon": 121.50 + (i // 40) * 0.003}}
            for i, row in enumerate(dev_reports())]
    lines = list(rows)
    for n, row in enumerate(rng.sample(rows, 60)):
        at = datetime.fromisoformat(row["reported_at"])  # type: ignore[arg-type]
        place: dict[str, object] = row["location"]  # type: ignore[assignment]
        lat: float = place["lat"]  # type: ignore[assignment]
        variants = [
            (at + timedelta(days=1), {}),
            (at + timedelta(hours=5), {"address": None, "lat": lat + 20 * METRE}),
            (at + timedelta(hours=6), {"address": None, "lat": lat + 80 * METRE}),
            (at + timedelta(hours=7), {"unit": "gulou" if place.get("unit") != "gulou" else "nanmen", "lat": None}),
            (at + timedelta(days=9), {}),
            (at - timedelta(days=1), {}),
        ]
        for v, (when, moved) in rng.sample(list(enumerate(variants)), 3):  # v: which variant
            lines.append({**row, "external_id": f"R{n}-{v}", "reported_at": when.isoformat(),
                          "location": {**place, **moved}})
    rng.shuffle(lines)
    return [Report.model_validate(line) for line in lines]


def _by_cli(batch: list[Report]) -> dict[str, tuple[str, str | None]]:
    out = io.BytesIO()
    errors = route_stream(io.BytesIO(b"".join(r.model_dump_json().encode() + b"\n" for r in batch)), out,
                          link_duplicates=True, jobs=1)
    assert errors == 0
    decided = [json.loads(line) for line in out.getvalue().splitlines()]
    return {d["external_id"]: (d["status"], d["duplicate_of"]) for d in decided}


def test_the_cli_links_as_the_services_planner() -> None:
    batch, rules = reports(), load_catalogue().settings.duplicate
    cc = compile_catalogue(load_catalogue())
    plan = link_duplicates([(r.external_id, r, decide(r, cc)) for r in batch], {}, rules)
    planned = {r.external_id: (x.decision.status.value, x.decision.duplicate_of)
               for r, x in zip(batch, plan, strict=True)}
    by_cli = _by_cli(batch)
    assert by_cli == planned
    statuses = [status for status, _ in by_cli.values()]
    assert statuses.count("duplicate") >= 40 and statuses.count("routed") >= 100  # both kinds, many of each


async def test_the_cli_links_as_the_service_does_poll_by_poll(tmp_path: Path) -> None:
    """Through the handler, in polls of 25: the earlier polls' cases come from the database."""
    url = f"sqlite+aiosqlite:///{tmp_path / 'r.db'}"
    db, batch = Database(url), reports()
    await upgrade(db, "router", MIGRATIONS)
    settings, engine = Settings(database_url=url, kafka=KafkaSettings(bootstrap=None)), Engine.from_file(None)
    events = [envelope(source="test", event_type=EventType.report_accepted, subject=r.external_id,
                       payload=ReportAccepted(case_id=r.external_id, report=r, accepted_at=datetime.now(UTC)))
              for r in batch]
    try:
        for start in range(0, len(events), 25):
            await route_reports(events[start:start + 25], db=db, settings=settings, engine=engine)
        async with db.sessions() as session:
            rows = (await session.scalars(select(RoutedCase))).all()
            by_service = {r.case_id: (r.decision["status"], r.decision.get("duplicate_of")) for r in rows}
    finally:
        await db.dispose()
    assert by_service == _by_cli(batch)
