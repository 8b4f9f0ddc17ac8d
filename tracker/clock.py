"""Periodic tasks of the tracker: the SLA clock and the figures behind the gauges."""

from __future__ import annotations

import asyncio
import json
import logging
import time
from datetime import date, timedelta

from services.runtime import Task
from services.settings import Settings
from tracker import metrics
from tracker import statement as statement_types
from tracker.domain.commands import EscalationKind
from tracker.domain.scorecard import Month, Settlement
from tracker.domain.sla import CALENDAR_DAYS, Calendar
from tracker.handlers import Deps, escalate_due
from tracker.store.figures import gauge_ratios, open_departments, open_overdue

log = logging.getLogger(__name__)
GAUGE_WINDOWS = {"24h": timedelta(hours=24), "7d": timedelta(days=7), "30d": timedelta(days=30)}


def calendar_from(settings: Settings) -> Calendar:
    """Calendar days by default; working days with the holiday table when configured."""
    if not settings.sla_working_days:
        return CALENDAR_DAYS
    table = json.loads(settings.sla_holidays_file.read_text()) if settings.sla_holidays_file else {}
    return Calendar(working_days=True,
                    holidays=frozenset(date.fromisoformat(d) for d in table.get("holidays", [])),
                    makeup_days=frozenset(date.fromisoformat(d) for d in table.get("makeup_days", [])))


async def _every(seconds: float, stopping: asyncio.Event) -> bool:
    try:
        await asyncio.wait_for(stopping.wait(), seconds)
    except TimeoutError:
        return True
    return False


def sla_clock(deps: Deps) -> Task:
    async def run(stopping: asyncio.Event) -> None:
        while await _every(deps.settings.sla_scan_s, stopping):
            try:
                while await escalate_due(deps, now=deps.now()) > 0:
                    pass
            except Exception as exc:  # the clock keeps ticking through a database restart
                log.warning("SLA scan failed: %r", exc)

    return run


def figures_refresher(deps: Deps) -> Task:
    async def run(stopping: asyncio.Event) -> None:
        scorecards_due = 0.0
        while await _every(deps.settings.figures_refresh_s, stopping):
            try:
                await refresh_gauges(deps)
                if time.monotonic() >= scorecards_due:  # a month of records: read less often than the ratios
                    scorecards_due = time.monotonic() + deps.settings.scorecard_refresh_s
                    await refresh_scorecards(deps)
            except Exception as exc:
                log.warning("figures refresh failed: %r", exc)

    return run


async def refresh_gauges(deps: Deps) -> None:
    """dispatch_success_ratio, dispatch_pending, first_dispatch_accuracy_ratio{window}, cases_overdue{…}."""
    now = deps.now()
    async with deps.db.sessions() as session:
        ratios = await gauge_ratios(session, {name: now - span for name, span in GAUGE_WINDOWS.items()},
                                    now + timedelta(seconds=1), now=now)
        overdue = await open_overdue(session)
        departments = await open_departments(session)
    for name, (success, accuracy) in ratios.items():
        metrics.dispatch_pending.labels(name).set(success.pending)
        if success.value is not None:
            metrics.dispatch_success_ratio.labels(name).set(success.value)
        else:  # no outcome in the window (yet): absent, as the console shows "—", not the last value seen
            metrics.dispatch_success_ratio.remove(name)
        if accuracy.value is not None:  # no settled case in the window yet: leave the series absent, not 0
            metrics.first_dispatch_accuracy_ratio.labels(name).set(accuracy.value)
        else:
            metrics.first_dispatch_accuracy_ratio.remove(name)
    set_overdue(overdue, departments)


def set_overdue(overdue: dict[tuple[str, str], int], departments: set[str]) -> None:
    """cases_overdue of every department that holds open cases or was reported before, 0 when none is overdue.

    Never cleared: a department's series exists at 0 before its first breach, so Prometheus sees 0 → 1 (a rise
    an hour-over-hour comparison or increase() can read) rather than a series that appears at 1. The departments
    are the catalogue's (bounded), so keeping those reported before costs a few series at most.
    """
    reported = {(s.labels["department"], s.labels["kind"])
                for family in metrics.cases_overdue.collect() for s in family.samples}
    kinds = {kind.value for kind in EscalationKind} | {kind for _, kind in overdue}
    known = departments | {department for department, _ in overdue} | {department for department, _ in reported}
    for department in sorted(known):
        for kind in sorted(kinds):
            metrics.cases_overdue.labels(department, kind).set(overdue.get((department, kind), 0))


async def refresh_scorecards(deps: Deps) -> None:
    """The scorecard gauges of the month so far, from the same computation as GET /v1/scorecards."""
    from tracker import statement  # reads the catalogue's department names: imported when first needed

    cards = await statement.scorecards(deps, Month.of(deps.now()))
    _, names = await statement.department_names(deps)
    set_scorecards(cards.departments, set(names))


def set_scorecards(cards: list[statement_types.ScorecardRead], known: set[str]) -> None:
    """Only catalogue departments get series (bounded labels); a ratio with nothing decided stays absent."""
    for c in cards:
        if c.department not in known:
            continue
        d = c.department
        if c.ack_on_time.value is not None:
            metrics.scorecard_ack_on_time_ratio.labels(d).set(c.ack_on_time.value)
        if c.feedback_on_time.value is not None:
            metrics.scorecard_feedback_on_time_ratio.labels(d).set(c.feedback_on_time.value)
        for settlement, n in ((Settlement.upheld, c.returns_upheld), (Settlement.overturned, c.returns_overturned),
                              (Settlement.rerouted, c.returns_rerouted), (Settlement.awaiting, c.returns_awaiting)):
            metrics.scorecard_returns.labels(d, settlement.value).set(n)
        metrics.scorecard_reopened_cases.labels(d).set(c.reopened)
        if c.median_ack_seconds is not None:
            metrics.scorecard_ack_median_seconds.labels(d).set(c.median_ack_seconds)
        if c.median_feedback_seconds is not None:
            metrics.scorecard_feedback_median_seconds.labels(d).set(c.median_feedback_seconds)
