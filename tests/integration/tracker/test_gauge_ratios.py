"""The gauges' ratios counted by the database equal the domain's figures over the same dispatch records."""

from __future__ import annotations

import random
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from schemas.events import ReturnReason
from services.db import Database
from services.migrate import upgrade
from tracker.domain import figures
from tracker.store.figures import dispatch_records, gauge_ratios
from tracker.store.models import Case, DispatchAttempt

MIGRATIONS = Path(__file__).resolve().parents[3] / "tracker" / "migrations"
NOW = datetime(2026, 3, 1, 12, tzinfo=UTC)
WINDOWS = {"24h": timedelta(hours=24), "7d": timedelta(days=7), "30d": timedelta(days=30)}
DEPARTMENTS = ["amr", "ecology", "urban-mgmt"]


def _case(rng: random.Random, i: int) -> tuple[Case, list[DispatchAttempt]]:
    # Some before the widest window; every tenth in the last hours, many of those still inside their ack window.
    first_at = NOW - timedelta(hours=rng.uniform(0, 6) if i % 10 == 0 else rng.uniform(0, 40 * 24))
    case = Case(case_id=f"G{i}", status="dispatched", attempt=1, state={}, received_at=first_at,
                updated_at=first_at, overdue=False)
    attempts = []
    for number in range(1, rng.choice([1, 1, 2, 3]) + 1):
        at = first_at + timedelta(hours=number - 1)
        returned = number < 3 and rng.random() < 0.3
        attempts.append(DispatchAttempt(
            case_id=case.case_id, attempt=number, department=rng.choice(DEPARTMENTS), dispatched_at=at,
            acked_at=at + timedelta(minutes=30) if rng.random() < 0.7 else None, ack_implied=False,
            returned_at=at + timedelta(hours=2) if returned else None,
            return_reason=ReturnReason.not_our_remit.value if returned else None))
    if rng.random() < 0.5:  # settled: the current (last) attempt holds the feedback
        attempts[-1].feedback_at = attempts[-1].dispatched_at + timedelta(days=1)
    # The case row holds its current dispatch and that dispatch's ack window (2 h for a hazard, else 24 h).
    case.attempt = len(attempts)
    case.ack_due_at = attempts[-1].dispatched_at + timedelta(hours=rng.choice([2, 24]))
    return case, attempts


async def _check_gauge_ratios(url: str) -> None:
    db = Database(url)
    try:
        await upgrade(db, "tracker", MIGRATIONS)
        rng = random.Random(3)
        async with db.transaction() as session:
            for i in range(400):
                case, attempts = _case(rng, i)
                session.add(case)
                await session.flush()
                session.add_all(attempts)
        starts = {name: NOW - span for name, span in WINDOWS.items()}
        end = NOW + timedelta(seconds=1)
        async with db.sessions() as session:
            ratios = await gauge_ratios(session, starts, end, now=NOW)
            records = await dispatch_records(session, min(starts.values()))
    finally:
        await db.dispose()
    for name, start in starts.items():
        success, accuracy = ratios[name]
        assert success == figures.dispatch_success(records, start, end, now=NOW), name
        assert accuracy == figures.first_dispatch_accuracy(records, start, end), name
        # The data exercise every count: accepted, failed, pending, and failed by a passed ack window alone.
        assert success.denominator > success.numerator > 0 and success.pending > 0 and accuracy.denominator > 0
    passed = [r for r in records if r.attempt == 1 and r.acked_at is None and r.returned_at is None
              and r.ack_due_at is not None and r.ack_due_at < NOW and r.dispatched_at >= starts["30d"]]
    assert passed


@pytest.mark.postgres
async def test_gauge_ratios_equal_the_domain_figures_on_postgres(fresh_postgres: str) -> None:
    await _check_gauge_ratios(fresh_postgres)


async def test_gauge_ratios_equal_the_domain_figures_on_sqlite(tmp_path: Path) -> None:
    await _check_gauge_ratios(f"sqlite+aiosqlite:///{tmp_path / 'tracker.db'}")
