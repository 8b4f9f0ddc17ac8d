"""Server-sent events for consoles: the events taken in, resumable with Last-Event-ID."""

from __future__ import annotations

import re
import time
from collections.abc import AsyncIterator, Sequence
from datetime import UTC, datetime, timedelta
from typing import Annotated, Any

import orjson
from fastapi import APIRouter, Header, Query, Request
from fastapi.responses import StreamingResponse
from sqlalchemy import func, select

from notifier.api.auth import AdminDep, RuntimeDep
from notifier.signals import Broadcast
from notifier.state import notifier_state
from notifier.store.models import ReceivedEvent
from services.db import Database
from services.problems import Problem

router = APIRouter(tags=["stream"], dependencies=[AdminDep])

BATCH = 500
# A seq seen after a gap may precede a still-uncommitted row (another replica's transaction):
# wait this long before passing a gap, so a resumed stream never skips an event.
GAP_SETTLE = timedelta(seconds=2)
# The largest seq the table can hold (a signed 64-bit column): a larger one would fail the stream's query.
MAX_SEQ = 2**63 - 1


def frame(seq: int, event_type: str, data: dict[str, Any]) -> bytes:
    """One SSE message; the id is the notifier's seq, which Last-Event-ID hands back."""
    return b"id: %d\nevent: %s\ndata: %s\n\n" % (seq, event_type.encode(), orjson.dumps(data))


def passable(rows: Sequence[tuple[int, datetime]], after: int, now: datetime) -> int:
    """How many of the rows (seq, received_at) after `after` can be sent now without risking a skip."""
    previous = after
    for index, (seq, received_at) in enumerate(rows):
        if seq != previous + 1 and received_at > now - GAP_SETTLE:
            return index
        previous = seq
    return len(rows)


async def _next(db: Database, after: int, department: str | None) -> tuple[int, list[tuple[int, str, dict[str, Any]]]]:
    """The new position and the events to send after `after`; the gap check runs over every department."""
    async with db.sessions() as session:
        heads = (await session.execute(
            select(ReceivedEvent.seq, ReceivedEvent.received_at, ReceivedEvent.department)
            .where(ReceivedEvent.seq > after).order_by(ReceivedEvent.seq).limit(BATCH)
        )).all()
        count = passable([(r.seq, r.received_at) for r in heads], after, datetime.now(UTC))
        if count == 0:
            return after, []
        wanted = [r.seq for r in heads[:count] if department is None or r.department == department]
        rows = (await session.execute(
            select(ReceivedEvent.seq, ReceivedEvent.type, ReceivedEvent.envelope)
            .where(ReceivedEvent.seq.in_(wanted)).order_by(ReceivedEvent.seq)
        )).all() if wanted else []
    return heads[count - 1].seq, [(r.seq, r.type, r.envelope) for r in rows]


async def _events(request: Request, db: Database, broadcast: Broadcast, after: int, department: str | None,
                  poll_s: float, heartbeat_s: float) -> AsyncIterator[bytes]:
    yield b"retry: 2000\n\n"
    last_sent = time.monotonic()
    # While the stream is open this process reads the dispatch topics it shows (every department's without
    # `department=`), so a console sees dispatches even when no subscription wants them.
    topics = notifier_state(request).topics
    token = topics.open_stream(department)
    try:
        while not await request.is_disconnected():
            after, events = await _next(db, after, department)
            for seq, event_type, envelope in events:
                yield frame(seq, event_type, envelope)
                last_sent = time.monotonic()
            if time.monotonic() - last_sent >= heartbeat_s:
                yield b": keepalive\n\n"  # keeps proxies from closing an idle stream
                last_sent = time.monotonic()
            if not events:
                await broadcast.wait(poll_s)
    finally:
        topics.close_stream(token)


@router.get("/v1/stream", response_class=StreamingResponse,
            responses={200: {"content": {"text/event-stream": {}}, "description": "an SSE stream"}})
async def stream(
    request: Request, runtime: RuntimeDep,
    department: Annotated[str | None, Query(description="only this department's events")] = None,
    last_event_id: Annotated[str | None, Header(alias="Last-Event-ID")] = None,
    since: Annotated[int | None, Query(ge=0, le=MAX_SEQ,
                                       description="start after this id (for clients without headers)")] = None,
) -> StreamingResponse:
    """Events as they are taken in; without Last-Event-ID (or `since`) the stream starts at the newest."""
    if last_event_id is not None:
        # ASCII digits only (str.isdigit takes '²', which int() refuses), and no more than the column holds.
        if not re.fullmatch(r"[0-9]{1,19}", last_event_id.strip()) or int(last_event_id) > MAX_SEQ:
            raise Problem(400, "Bad Last-Event-ID", "it must be an id this stream sent")
        after = int(last_event_id)
    elif since is not None:
        after = since
    else:
        async with runtime.db.sessions() as session:
            after = int(await session.scalar(select(func.max(ReceivedEvent.seq))) or 0)
    settings = runtime.settings.notifier
    body = _events(request, runtime.db, notifier_state(request).broadcast, after, department, settings.poll_s,
                   settings.sse_heartbeat_s)
    return StreamingResponse(body, media_type="text/event-stream",
                             headers={"cache-control": "no-cache", "x-accel-buffering": "no"})
