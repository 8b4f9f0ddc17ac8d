"""The monthly job: on the 1st the statement of the month just ended goes to safety-office (区安委办).

Exactly once with several tracker replicas, by the SLA clock's means: a row whose primary key is the claim
(the month here, the breach key there), inserted with ON CONFLICT DO NOTHING in the same transaction that
stages the event in the outbox. The replica whose insert came back sends; the others, and every later tick,
find the row. A replica that dies before committing claimed nothing, so the next tick of any replica sends it.
The event (statements.v1) carries links and the headline figures; the notifier delivers it to safety-office's
subscriptions that asked for `report.monthly`.
"""

from __future__ import annotations

import asyncio
import logging
from datetime import datetime

from sqlalchemy import select

from schemas.events import EventType, StatementPublished
from services.db import dialect_insert
from services.envelopes import envelope
from services.outbox import stage
from services.runtime import Task
from tracker import statement
from tracker.domain.scorecard import Month
from tracker.handlers import Deps
from tracker.notices import SOURCE, SUPERVISOR
from tracker.store.models import StatementSent, TrackerOutbox

log = logging.getLogger(__name__)
TOPIC = "statements.v1"


def links(base_url: str, month: Month) -> dict[str, str]:
    base = f"{base_url.rstrip('/')}/v1/reports/monthly"
    return {kind: f"{base}{suffix}?month={month}" for kind, suffix in (("json", ""), ("xlsx", ".xlsx"),
                                                                        ("pdf", ".pdf"))}


async def send_statement(deps: Deps, *, now: datetime) -> str | None:
    """Produce the statement of the month before `now` and stage its event, unless some replica did; the month
    sent by this call, or None."""
    month = Month.of(now).previous()
    async with deps.db.sessions() as session:
        if await session.get(StatementSent, str(month)) is not None:
            return None  # the common case, every tick of the month: no need to count anything
    data = await statement.monthly(deps, month)
    f = data.figures
    payload = StatementPublished(
        month=str(month), to=SUPERVISOR, since=data.since, until=data.until, produced_at=data.produced_at,
        links=links(deps.settings.public_base_url, month), received=data.cases.received, dispatched=f.dispatched,
        dispatch_success=f.dispatch_success.value, first_dispatch_accuracy=f.first_dispatch_accuracy.value,
        returns=sum(f.returns_by_reason.values()),
        escalations=sum(sum(kinds.values()) for kinds in f.overdue_by_department.values()), gaps=f.gaps)
    event = envelope(source=SOURCE, event_type=EventType.statement_monthly, subject=f"statement-{month}",
                     payload=payload)
    async with deps.db.transaction() as session:
        claim = dialect_insert(session, StatementSent).values(
            month=str(month), produced_at=now, event_id=event.id, summary=payload.model_dump(mode="json"),
        ).on_conflict_do_nothing(index_elements=["month"]).returning(StatementSent.month)
        if (await session.execute(claim)).scalar_one_or_none() is None:
            return None  # another replica claimed it between our look and our insert
        stage(session, TrackerOutbox, deps.settings.topic(TOPIC), event)
    log.info("monthly statement %s produced and staged for %s", month, SUPERVISOR)
    return str(month)


async def sent(deps: Deps) -> list[str]:
    async with deps.db.sessions() as session:
        return list((await session.execute(select(StatementSent.month).order_by(StatementSent.month))).scalars())


def statement_task(deps: Deps) -> Task:
    async def run(stopping: asyncio.Event) -> None:
        # A tick, then the look: a tracker that starts (a deploy, a test) does not count a month at once.
        while True:
            try:
                await asyncio.wait_for(stopping.wait(), deps.settings.statement_check_s)
                return
            except TimeoutError:
                pass
            if not deps.settings.statement_enabled:
                continue
            try:
                await send_statement(deps, now=deps.now())
            except Exception as exc:  # a database restart: the next tick tries again
                log.warning("monthly statement failed: %r", exc)

    return run
