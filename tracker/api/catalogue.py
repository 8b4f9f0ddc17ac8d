"""Catalogue history: versions with who/when/why, structural diffs between any two, audited rollback; and the
suggestions the loop's placed cases make, which an adjudicator accepts into a new version."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Annotated, Any, Literal

from fastapi import APIRouter, Depends, Query
from pydantic import BaseModel, ConfigDict, Field
from sqlalchemy import select

from catalogue.diff import diff_catalogues
from catalogue.loader import CatalogueError
from services import audit
from services.caller import require_roles
from services.principal import Caller
from services.problems import Problem
from tracker import suggestions as loop
from tracker.api.deps import DepsDep
from tracker.handlers import Deps
from tracker.privacy import record_personal_reads
from tracker.store import catalogue as versions
from tracker.store.models import CatalogueVersion, TrackerAudit

router = APIRouter(tags=["catalogue"])
Reader = Annotated[Caller, Depends(require_roles("adjudicator", "operator", "admin"))]
# Rolling back undoes rulings saved as rules, and accepting suggestions changes where cases go: the adjudicators'
# own decision, or an administrator's.
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


class ExampleRead(BaseModel):
    case_id: str
    how: Literal["ruling", "reroute"]
    department: str
    at: datetime
    report: dict[str, Any]


class SuggestionRead(BaseModel):
    id: str
    kind: Literal["gazetteer", "alias"]
    target: str
    word: str
    support: list[str]
    seen_elsewhere: int


class SuggestionsRead(BaseModel):
    catalogue_version: str
    suggestions: list[SuggestionRead]


class AcceptBody(BaseModel):
    model_config = ConfigDict(extra="forbid")
    ids: Annotated[list[Annotated[str, Field(min_length=1, max_length=200)]], Field(min_length=1, max_length=200)]
    reason: Annotated[str, Field(min_length=1, max_length=2000)]


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
        audit.record(session, TrackerAudit, caller.actor, "catalogue.rollback", row.version,
                     {"to": version, "parent": row.parent, "reason": body.reason})
    return _read(row, row.version)


@router.get("/v1/catalogue/examples", response_model=list[ExampleRead])
async def list_examples(deps: DepsDep, caller: Reader, since: datetime | None = None,
                        limit: Annotated[int, Query(ge=1, le=loop.LIMIT)] = 500) -> list[dict[str, Any]]:
    """Cases a human placed, newest first: rulings (their lead) and accepted re-routes (the department that
    acknowledged the re-routed case and kept it). The reports are whole: reading one with the reporter's name or
    phone is audited as a read of personal data."""
    if since is not None and since.tzinfo is None:
        since = since.replace(tzinfo=UTC)  # a bare time is UTC, as every time the API answers
    placed = await loop.examples(deps, since=since, limit=limit)
    await record_personal_reads(deps.db, caller, [(p.example.case_id, p.example.report.model_dump(mode="json"))
                                                  for p in placed], via="GET /v1/catalogue/examples")
    return [p.as_dict() for p in placed]


@router.get("/v1/catalogue/suggestions", response_model=SuggestionsRead)
async def list_suggestions(deps: DepsDep, _: Reader) -> dict[str, Any]:
    """Gazetteer places and aliases the version in force lacks, learnt from the newest 5,000 placed cases, each
    with the cases that support it (and how many placed cases used the word but went elsewhere). Nothing
    changes until an adjudicator accepts some (POST /v1/catalogue/suggestions/accept)."""
    version, found = await loop.current(deps)
    return {"catalogue_version": version, "suggestions": [s.as_dict() for s in found]}


@router.post("/v1/catalogue/suggestions/accept", response_model=VersionRead,
             responses={403: {"description": "needs adjudicator or admin"},
                        409: {"description": "an id is not (or no longer) suggested"},
                        422: {"description": "the new catalogue would not validate"}})
async def accept_suggestions(body: AcceptBody, deps: DepsDep, caller: Restorer) -> dict[str, Any]:
    """Publish a new catalogue version with these suggestions added (audited as catalogue.publish with their
    ids); every router replica takes it into force from catalogue.v1."""
    try:
        row = await loop.accept(deps, body.ids, body.reason, caller)
    except loop.Stale as exc:
        raise Problem(409, "Not a current suggestion",
                      f"not suggested against catalogue {exc.version} (accepted already, or stale): "
                      f"{', '.join(exc.ids)}") from exc
    except CatalogueError as exc:
        raise Problem(422, "Invalid catalogue", str(exc)) from exc
    return _read(row, row.version)
