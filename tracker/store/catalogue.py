"""Catalogue versions the tracker keeps: the one in force, publishing a new one (outbox → catalogue.v1), history."""

from __future__ import annotations

from datetime import UTC, datetime
from functools import lru_cache
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from catalogue.events import catalogue_event
from catalogue.loader import load_catalogue, parse_catalogue
from catalogue.model import Catalogue
from catalogue.versions import next_version
from services.db import dialect_insert, lock_transaction, table_of
from services.logctx import current_trace
from services.outbox import stage
from services.principal import Caller
from services.settings import Settings
from tracker.store.models import CatalogueVersion, TrackerOutbox

LOCK = "tracker-catalogue-versions"


@lru_cache(maxsize=16)
def _parsed(version: str, document: str) -> Catalogue:
    import orjson

    return parse_catalogue(orjson.loads(document), f"catalogue {version}")


def parsed(row: CatalogueVersion) -> Catalogue:
    """The version's document as a validated Catalogue (parsed once per version)."""
    import orjson

    return _parsed(row.version, orjson.dumps(row.document, option=orjson.OPT_SORT_KEYS).decode())


async def _lock(session: AsyncSession) -> None:
    # One publisher at a time, so two rulings never both build on the same version and lose one rule.
    await lock_transaction(session, LOCK)


async def hold(session: AsyncSession) -> None:
    """Take the publishers' lock for this transaction before reading the version a new one builds on (an accept
    that computes its document from the version in force); publish() takes it again, which is allowed."""
    await _lock(session)


async def latest(session: AsyncSession) -> CatalogueVersion | None:
    return (await session.execute(select(CatalogueVersion).order_by(CatalogueVersion.id.desc()).limit(1))
            ).scalar_one_or_none()


async def in_force(session: AsyncSession, settings: Settings) -> CatalogueVersion:
    """The newest version; the first call records the catalogue file the router starts from."""
    row = await latest(session)
    if row is not None:
        return row
    await _lock(session)
    row = await latest(session)
    if row is None:
        catalogue = load_catalogue(settings.catalogue)
        # Two first requests at once both find nothing: on SQLite (no advisory lock) the second one's insert
        # waits for the first to commit, then does nothing, and both read the same row.
        await session.execute(dialect_insert(session, table_of(CatalogueVersion)).values(
            catalogue_id=catalogue.district, version=catalogue.version, parent=None,
            author="system:catalogue-file", reason="the catalogue file the router starts from", from_case=None,
            document=catalogue.model_dump(mode="json"), published_at=datetime.now(UTC),
        ).on_conflict_do_nothing(index_elements=["version"]))
        row = await latest(session)
        assert row is not None
    return row


_NEWEST = select(func.max(CatalogueVersion.id))  # built once: it is read by every poll of routed.v1


class InForce:
    """The version in force, parsed, for one database: each call reads the newest version's id (a row of a few
    bytes) and the document (tens of kB of JSONB to send, decode, re-encode and hash) only when that id is new.
    Versions are only ever added, never changed, so an id names one document."""

    def __init__(self) -> None:
        self._held: tuple[int, Catalogue] | None = None

    async def __call__(self, session: AsyncSession, settings: Settings) -> Catalogue:
        newest = (await session.execute(_NEWEST)).scalar_one_or_none()
        if self._held is not None and newest == self._held[0]:
            return self._held[1]
        row = await in_force(session, settings)
        catalogue = parsed(row)
        self._held = (row.id, catalogue)
        return catalogue


async def publish(session: AsyncSession, settings: Settings, document: dict[str, Any], *, caller: Caller,
                  reason: str, from_case: str | None = None) -> CatalogueVersion:
    """Validate and record a new version built on the one in force, and stage it for catalogue.v1."""
    await _lock(session)
    parent = await in_force(session, settings)
    count = (await session.execute(select(func.count()).select_from(CatalogueVersion))).scalar_one()
    version = next_version(parent.version, int(count))
    catalogue = parse_catalogue({**document, "version": version}, f"catalogue {version}")
    row = CatalogueVersion(catalogue_id=catalogue.district, version=version, parent=parent.version,
                           author=caller.actor, reason=reason, from_case=from_case,
                           document=catalogue.model_dump(mode="json"), published_at=datetime.now(UTC))
    session.add(row)
    await session.flush()
    stage(session, TrackerOutbox, settings.topic("catalogue.v1"),
          catalogue_event(catalogue, published_by=caller.actor, reason=reason, from_case=from_case,
                          trace=current_trace()))
    return row


async def record_seen(session: AsyncSession, *, catalogue_id: str, version: str, document: dict[str, Any],
                      author: str, reason: str, from_case: str | None, published_at: datetime) -> bool:
    """A version published by someone else (the admin CLI) joins the history; False when already known."""
    known = (await session.execute(select(CatalogueVersion.id).where(CatalogueVersion.version == version))
             ).scalar_one_or_none()
    if known is not None:
        return False
    await _lock(session)
    parent = await latest(session)
    session.add(CatalogueVersion(catalogue_id=catalogue_id, version=version,
                                 parent=parent.version if parent else None, author=author, reason=reason,
                                 from_case=from_case, document=document, published_at=published_at))
    return True


async def by_version(session: AsyncSession, version: str) -> CatalogueVersion | None:
    return (await session.execute(select(CatalogueVersion).where(CatalogueVersion.version == version))
            ).scalar_one_or_none()
