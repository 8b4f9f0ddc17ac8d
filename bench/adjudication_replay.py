"""Dispatch success of an end-to-end replay of the development set, before and after rulings on its gaps.

Intake, router and tracker run as processes on local Kafka and PostgreSQL. Pass 1 posts the 160 dev reports;
simulated departments acknowledge a first dispatch that reached the labelled department and return the others
(职能不符), then finish every case so none stays open for duplicate linking. An adjudicator then rules on the
gap clusters (one ruling per cluster, saved as a rule, lead = the cluster's labelled department), and pass 2
posts the same reports again. Dispatch success (ROUTING §6) is read from the tracker's dispatch records.

    CASEROUTE_KAFKA_BOOTSTRAP=... CASEROUTE_DATABASE_URL=... python -m bench.adjudication_replay
"""

from __future__ import annotations

import asyncio
import json
import os
import sys
import tempfile
import uuid
from collections import Counter
from pathlib import Path
from typing import Any

import asyncpg
import httpx

from bench.machine import write
from bench.scratch import drop_topics
from tests.e2e.stack import ServiceProcess, running, wait_status
from tests.support.credentials import OPERATOR, TEST_AUTH_ENV, auth_headers
from tests.support.databases import scratch_database

DEV = Path(__file__).resolve().parents[2] / "shared" / "data" / "dev_cases.jsonl"
ADJUDICATOR = auth_headers("adjudicator", "replay")


def dev_rows() -> list[dict[str, Any]]:
    return [json.loads(line) for line in DEV.read_text(encoding="utf-8").splitlines() if line.strip()]


async def finish(tracker: httpx.AsyncClient, case_id: str) -> None:
    """The holding department acknowledges and reports back, so the case is closed for duplicate linking."""
    case = await wait_status(tracker, case_id, {"dispatched", "acknowledged"})
    who = auth_headers("department", case["department"])
    await tracker.post(f"/v1/cases/{case_id}/ack", headers=who)
    await tracker.post(f"/v1/cases/{case_id}/feedback", json={"outcome": "resolved", "text": "done"}, headers=who)


async def replay(intake: httpx.AsyncClient, tracker: httpx.AsyncClient, rows: list[dict[str, Any]], tag: str
                 ) -> dict[str, Any]:
    """Post every report; the departments answer the first dispatch by the label."""
    ids = []
    for row in rows:
        report = {**row["report"], "external_id": f"{row['report']['external_id']}-{tag}"}
        answer = await intake.post("/v1/reports", json=report)
        answer.raise_for_status()
        ids.append(answer.json()["case_id"])
    cases = {cid: await wait_status(tracker, cid, {"dispatched", "gap", "duplicate"}) for cid in ids}
    outcome: dict[str, Any] = {"ids": ids, "rules": Counter(), "gaps": [], "returned": []}
    for cid, row in zip(ids, rows, strict=True):
        case = cases[cid]
        outcome["rules"][case["rule"] or "—"] += 1
        if case["status"] == "gap":
            outcome["gaps"].append(cid)
            continue
        if case["status"] != "dispatched":
            continue
        who = auth_headers("department", case["department"])
        if case["department"] == row["expect"]["primary"]:
            await tracker.post(f"/v1/cases/{cid}/ack", headers=who)
            await tracker.post(f"/v1/cases/{cid}/feedback", json={"outcome": "resolved"}, headers=who)
        else:
            await tracker.post(f"/v1/cases/{cid}/return", json={"reason": "not_our_remit", "text": "职能不符"},
                               headers=who)
            outcome["returned"].append(cid)
    return outcome


async def first_dispatch_figures(dsn: str, ids: list[str]) -> dict[str, Any]:
    """ROUTING §6 from the tracker's own records: first dispatches accepted (acked, not returned) ÷ dispatched."""
    conn = await asyncpg.connect(dsn)
    try:
        rows = await conn.fetch("SELECT case_id, acked_at, returned_at FROM tracker_dispatches "
                                "WHERE attempt = 1 AND case_id = ANY($1::text[])", ids)
    finally:
        await conn.close()
    accepted = sum(1 for r in rows if r["acked_at"] is not None and r["returned_at"] is None)
    return {"reports": len(ids), "dispatched": len(rows), "accepted": accepted,
            "dispatch_success": round(accepted / len(rows), 4) if rows else None,
            "accepted_of_all_reports": round(accepted / len(ids), 4)}


async def rule_on_gaps(tracker: httpx.AsyncClient, labels: dict[str, str]) -> list[dict[str, Any]]:
    """One ruling per gap cluster, saved as a rule; the lead is the cluster's labelled department."""
    clusters = (await tracker.get("/v1/adjudications/clusters?days=366", headers=ADJUDICATOR)).json()
    rulings = []
    for cluster in clusters:
        members = cluster["case_ids"]
        lead = Counter(labels[c] for c in members).most_common(1)[0][0]
        answer = await tracker.post(f"/v1/adjudications/{members[0]}/ruling", headers=ADJUDICATOR, json={
            "lead": lead, "principle": "no_basis", "note": f"replay: {'、'.join(cluster['terms'])}",
            "save_as_rule": True, "also": members[1:]})
        answer.raise_for_status()
        rulings.append({"cases": len(members), "lead": lead, **{k: answer.json()[k] for k in
                                                                 ("rule_id", "terms", "catalogue_version")}})
    return rulings


async def main() -> None:
    rows = dev_rows()
    logs = Path(tempfile.mkdtemp(prefix="adjudication-replay-"))
    async with scratch_database("bench_adj") as (url, dsn):
        prefix = f"adj{uuid.uuid4().hex[:8]}."
        env = {**TEST_AUTH_ENV, "CASEROUTE_KAFKA_BOOTSTRAP": os.environ["CASEROUTE_KAFKA_BOOTSTRAP"],
               "CASEROUTE_DATABASE_URL": url, "CASEROUTE_TOPIC_PREFIX": prefix, "CASEROUTE_LOG_LEVEL": "WARNING"}
        services = {n: ServiceProcess(n, env, logs / f"{n}.log") for n in ("intake", "router", "tracker")}
        with running(list(services.values())):
            await asyncio.gather(*(s.wait_ready() for s in services.values()))
            async with httpx.AsyncClient(base_url=services["intake"].url, timeout=30, headers=OPERATOR) as intake, \
                    httpx.AsyncClient(base_url=services["tracker"].url, timeout=60, headers=OPERATOR) as tracker:
                before = await replay(intake, tracker, rows, "p1")
                figures_before = await first_dispatch_figures(dsn, before["ids"])
                labels = {cid: row["expect"]["primary"] for cid, row in zip(before["ids"], rows, strict=True)}
                rulings = await rule_on_gaps(tracker, labels)
                for cid in before["ids"]:  # every pass-1 case ends with feedback: none stays open
                    if cid in before["returned"] or cid in before["gaps"]:
                        await finish(tracker, cid)
                await asyncio.sleep(2.0)  # the router takes the last catalogue version
                after = await replay(intake, tracker, rows, "p2")
                figures_after = await first_dispatch_figures(dsn, after["ids"])
        await drop_topics(os.environ["CASEROUTE_KAFKA_BOOTSTRAP"], prefix)
    gap_rows = [i for i, row in enumerate(rows) if row["expect"]["rule"] == "R10"]
    ruled_after = sum(1 for i in gap_rows if after["ids"][i] not in after["gaps"])
    result = {
        "dev_set": str(DEV.name), "reports": len(rows), "gap_reports": len(gap_rows),
        "rulings": rulings, "rulings_count": len(rulings),
        "before": {**figures_before, "gaps": len(before["gaps"]), "rules": dict(before["rules"])},
        "after": {**figures_after, "gaps": len(after["gaps"]), "rules": dict(after["rules"]),
                  "gap_reports_routed_by_rulings": ruled_after},
    }
    path = write("adjudication", result)
    print(json.dumps(result, ensure_ascii=False, indent=2))
    print(f"written to {path}; service logs in {logs}", file=sys.stderr)


if __name__ == "__main__":
    asyncio.run(main())
