"""Periodic tasks of the tracker: the SLA clock and the figures behind the gauges."""

from __future__ import annotations

import asyncio
import json
import logging
from datetime import date, timedelta

from services.runtime import Task
from services.settings import Settings
from tracker import metrics
from tracker.domain.commands import EscalationKind
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
        while await _every(deps.settings.figures_refresh_s, stopping):
            try:
                await refresh_gauges(deps)
            except Exception as exc:
                log.warning("figures refresh failed: %r", exc)

    return run


async def refresh_gauges(deps: Deps) -> None:
    """dispatch_success_ratio, first_dispatch_accuracy_ratio{window} and cases_overdue{department,kind}."""
    now = deps.now()
    async with deps.db.sessions() as session:
        ratios = await gauge_ratios(session, {name: now - span for name, span in GAUGE_WINDOWS.items()},
                                    now + timedelta(seconds=1))
        overdue = await open_overdue(session)
        departments = await open_departments(session)
    for name, (success, accuracy) in ratios.items():
        if success.value is not None:
            metrics.dispatch_success_ratio.labels(name).set(success.value)
        if accuracy.value is not None:  # no settled case in the window yet: leave the series absent, not 0
            metrics.first_dispatch_accuracy_ratio.labels(name).set(accuracy.value)
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
