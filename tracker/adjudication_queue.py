"""The adjudication queue and what helps an adjudicator decide: similar earlier cases with their rulings,
and recent gap cases clustered by similar text and place (发现空白)."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import timedelta
from typing import Any

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from tracker.adjudication import CORPUS_CASES, PENDING, case_doc, corpus_of, places_of
from tracker.domain import similarity
from tracker.domain.case import Status
from tracker.handlers import Deps
from tracker.store import catalogue as versions
from tracker.store.models import Case, RulingRecord


async def _similar(session: AsyncSession, rows: Sequence[Case], places: frozenset[str], k: int = 3
                   ) -> dict[str, list[dict[str, Any]]]:
    past = (await session.execute(select(RulingRecord).order_by(RulingRecord.id.desc()).limit(CORPUS_CASES))
            ).scalars().all()
    docs = [similarity.Doc(str(p.id), tuple(similarity.terms(p.text, places)), p.unit) for p in past]
    records = {str(p.id): p for p in past}
    corpus = await corpus_of(session, places)
    out: dict[str, list[dict[str, Any]]] = {}
    for row in rows:
        query = case_doc(row, places)
        found = similarity.most_similar(query, [d for d in docs if records[d.key].case_id != row.case_id], k=k,
                                        corpus=corpus)
        out[row.case_id] = [{"case_id": records[d.key].case_id, "score": score, "text": records[d.key].text,
                             "ruling": _ruling_dict(records[d.key])} for d, score in found]
    return out


def _ruling_dict(r: RulingRecord) -> dict[str, Any]:
    return {"lead": r.lead, "cooperating": r.cooperating, "principle": r.principle, "basis": r.basis,
            "note": r.note, "adjudicator": r.adjudicator, "rule_id": r.rule_id, "at": r.at}


def queue_item(row: Case, similar: list[dict[str, Any]]) -> dict[str, Any]:
    state = row.state or {}
    return {"id": row.case_id, "case_id": row.case_id, "kind": "dispute" if row.status == "disputed" else "gap",
            "status": row.status, "unit": row.unit, "received_at": row.received_at, "report": row.report,
            "decision": row.decision, "returns": state.get("returns", []), "similar": similar}


async def queue(deps: Deps, *, kind: str | None = None, limit: int = 50, case_id: str | None = None
                ) -> list[dict[str, Any]]:
    """Gaps (R10) and disputes (from returns) waiting for a ruling, oldest first, each with its context."""
    statuses = {"gap": ("gap",), "dispute": ("disputed",)}.get(kind or "", PENDING)
    query = select(Case).where(Case.status.in_(statuses)).order_by(Case.received_at, Case.case_id).limit(limit)
    if case_id is not None:
        query = select(Case).where(Case.case_id == case_id, Case.status.in_(PENDING))
    async with deps.db.sessions() as session:
        rows = (await session.execute(query)).scalars().all()
        cat = versions.parsed(await versions.in_force(session, deps.settings))
        similar = await _similar(session, rows, places_of(cat))
    return [queue_item(r, similar.get(r.case_id, [])) for r in rows]


async def gap_clusters(deps: Deps, *, days: int = 30, threshold: float = 0.15, limit: int = 2000
                       ) -> list[dict[str, Any]]:
    """Recent gap cases grouped by similar text and place (发现空白), largest first, with suggested terms."""
    since = deps.now() - timedelta(days=days)
    async with deps.db.sessions() as session:
        rows = (await session.execute(select(Case).where(Case.status == Status.gap.value, Case.received_at >= since)
                                      .order_by(Case.received_at.desc()).limit(limit))).scalars().all()
        cat = versions.parsed(await versions.in_force(session, deps.settings))
        places = places_of(cat)
        corpus = await corpus_of(session, places)
    by_id = {r.case_id: r for r in rows}
    docs = [case_doc(r, places) for r in rows]
    out = []
    for group in similarity.clusters(docs, threshold=threshold, corpus=corpus):
        members = [by_id[d.key] for d in group]
        units = sorted({m.unit for m in members if m.unit})
        out.append({"size": len(members), "terms": similarity.key_terms([d.terms for d in group], corpus),
                    "units": units, "case_ids": [m.case_id for m in members],
                    "first_at": min(m.received_at for m in members), "last_at": max(m.received_at for m in members),
                    "titles": [(m.report or {}).get("title") or (m.report or {}).get("description", "")[:40]
                               for m in members[:5]]})
    return out
