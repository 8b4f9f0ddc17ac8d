"""Catalogue history: versions with who/when/why, structural diffs between any two, audited rollback."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Query
from pydantic import BaseModel, ConfigDict, Field
from sqlalchemy import select

from router.domain.diff import diff_catalogues
from router.domain.loader import CatalogueError
from services import audit
from services.caller import Caller, require_roles
from services.problems import Problem
from tracker.api.deps import DepsDep
from tracker.handlers import Deps
from tracker.store import catalogue as versions
from tracker.store.models import CatalogueVersion, TrackerAudit

router = APIRouter(tags=["catalogue"])
Reader = Annotated[Caller, Depends(require_roles("adjudicator", "operator", "admin"))]
# Rolling back undoes rulings saved as rules: the adjudicators' own decision, or an administrator's.
Restorer = Annotated[Caller, Depends(require_roles("adjudicator", "admin"))]


class VersionRead(BaseModel):
    version: str
    catalogue_id: str
    parent: str | None
    author: str
    reason: str
    from_case: str | None
    published_at: datetime
    rulings: int
    in_force: bool


class VersionDocument(VersionRead):
    document: dict[str, Any]


class ChangeRead(BaseModel):
    path: str
    kind: str
    before: Any = None
    after: Any = None
    words_added: list[str]
    words_removed: list[str]


class DiffRead(BaseModel):
    before: str
    after: str
    changes: list[ChangeRead]
    text: str


class RollbackBody(BaseModel):
    model_config = ConfigDict(extra="forbid")
    reason: Annotated[str, Field(min_length=1, max_length=2000)]


def _read(row: CatalogueVersion, latest: str) -> dict[str, Any]:
    return {"version": row.version, "catalogue_id": row.catalogue_id, "parent": row.parent, "author": row.author,
            "reason": row.reason, "from_case": row.from_case, "published_at": row.published_at,
            "rulings": len(row.document.get("rulings") or []), "in_force": row.version == latest}


async def history(deps: Deps, limit: int = 100) -> list[dict[str, Any]]:
    async with deps.db.transaction() as session:
        latest = await versions.in_force(session, deps.settings)
        rows = (await session.execute(select(CatalogueVersion).order_by(CatalogueVersion.id.desc()).limit(limit))
                ).scalars().all()
    return [_read(r, latest.version) for r in rows]


async def diff(deps: Deps, version: str, against: str | None) -> dict[str, Any]:
    """The diff from `against` (default: the version's parent) to `version`."""
    async with deps.db.transaction() as session:
        await versions.in_force(session, deps.settings)
        after = await versions.by_version(session, version)
        if after is None:
            raise Problem(404, "Version not found", f"no catalogue version {version!r}")
        base = against or after.parent
        before = await versions.by_version(session, base) if base else None
        if base and before is None:
            raise Problem(404, "Version not found", f"no catalogue version {base!r}")
    return diff_catalogues(before.document if before else {}, after.document).as_dict()


@router.get("/v1/catalogue/versions", response_model=list[VersionRead])
async def list_versions(deps: DepsDep, _: Reader, limit: Annotated[int, Query(ge=1, le=500)] = 100
                        ) -> list[dict[str, Any]]:
    """Published catalogue versions, newest (in force) first: who published each, when, why, from which case."""
    return await history(deps, limit)


@router.get("/v1/catalogue/versions/{version}", response_model=VersionDocument,
            responses={404: {"description": "no such version"}})
async def get_version(version: str, deps: DepsDep, _: Reader) -> dict[str, Any]:
    """One version with its document."""
    async with deps.db.transaction() as session:
        latest = await versions.in_force(session, deps.settings)
        row = await versions.by_version(session, version)
    if row is None:
        raise Problem(404, "Version not found", f"no catalogue version {version!r}")
    return {**_read(row, latest.version), "document": row.document}


@router.get("/v1/catalogue/versions/{version}/diff", response_model=DiffRead,
            responses={404: {"description": "no such version"}})
async def get_diff(version: str, deps: DepsDep, _: Reader,
                   against: Annotated[str | None, Query(max_length=120)] = None) -> dict[str, Any]:
    """What changed from `against` (default: its parent) to this version: rulings, matters, aliases, rules."""
    return await diff(deps, version, against)


@router.post("/v1/catalogue/versions/{version}/rollback", response_model=VersionRead,
             responses={403: {"description": "needs adjudicator or admin"}, 404: {"description": "no such version"}})
async def rollback(version: str, body: RollbackBody, deps: DepsDep, caller: Restorer) -> dict[str, Any]:
    """Put an earlier version back in force by publishing its document as a new version (audited)."""
    async with deps.db.transaction() as session:
        old = await versions.by_version(session, version)
        if old is None:
            raise Problem(404, "Version not found", f"no catalogue version {version!r}")
        try:
            row = await versions.publish(session, deps.settings, dict(old.document), caller=caller,
                                         reason=f"rollback to {version}: {body.reason}")
        except CatalogueError as exc:
            raise Problem(422, "Invalid catalogue", str(exc)) from exc
        audit.record(session, TrackerAudit, caller, "catalogue.rollback", row.version,
                     {"to": version, "parent": row.parent, "reason": body.reason})
    return _read(row, row.version)
