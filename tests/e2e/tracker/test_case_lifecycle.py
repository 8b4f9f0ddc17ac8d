"""200 cases through ack, feedback, return, re-route, dispute and overdue, with four services as processes."""

from __future__ import annotations

import asyncio
import re
from collections import Counter
from pathlib import Path

import httpx
import pytest

from schemas.events import DepartmentReply, ReturnReason
from services.bus.base import OutgoingMessage
from services.bus.kafka import KafkaBus
from services.envelopes import envelope, headers_for
from services.settings import KafkaSettings
from tests.conftest import dev_reports
from tests.e2e.stack import ServiceProcess, running, wait_status
from tests.support.credentials import OPERATOR, auth_headers

pytestmark = [pytest.mark.e2e, pytest.mark.kafka, pytest.mark.postgres, pytest.mark.timeout(420)]
THREE_DAYS = str(3 * 24 * 3600)


def two_hundred_reports() -> list[dict]:  # type: ignore[type-arg]
    base = dev_reports()
    extra = []
    for i, report in enumerate(base[:40]):
        location = dict(report.get("location") or {})
        location["address"] = f"{location.get('address') or ''}东侧{i + 1}号"
        extra.append({**report, "external_id": f"{report['external_id']}-B", "location": location})
    return base + extra


def metric_sum(text: str, name: str, **labels: str) -> float:
    total = 0.0
    for line in text.splitlines():
        if line.startswith(name + "{") or line.startswith(name + " "):
            if all(f'{k}="{v}"' in line for k, v in labels.items()):
                total += float(line.rsplit(" ", 1)[1])
    return total


async def test_two_hundred_cases_through_every_path(
        tmp_path: Path, kafka_bootstrap: str, fresh_postgres: str, topic_prefix: str) -> None:
    env = {"CASEROUTE_KAFKA_BOOTSTRAP": kafka_bootstrap, "CASEROUTE_DATABASE_URL": fresh_postgres,
           "CASEROUTE_TOPIC_PREFIX": topic_prefix, "CASEROUTE_KAFKA__PARTITIONS": "2",
           "CASEROUTE_FIGURES_REFRESH_S": "1"}
    services = {n: ServiceProcess(n, env, tmp_path / f"{n}.log") for n in ("intake", "router", "tracker")}
    with running(list(services.values())):
        await asyncio.gather(*(s.wait_ready() for s in services.values()))
        tracker = httpx.AsyncClient(base_url=services["tracker"].url, headers=OPERATOR, timeout=10)
        async with httpx.AsyncClient(base_url=services["intake"].url, headers=OPERATOR, timeout=10) as intake:
            case_ids = [(await intake.post("/v1/reports", json=r)).json()["case_id"] for r in two_hundred_reports()]
        assert len(set(case_ids)) == 200
        cases = {c: await wait_status(tracker, c, {"dispatched", "gap", "duplicate"}) for c in case_ids}
        dispatched = [c for c in case_ids if cases[c]["status"] == "dispatched"]
        gaps = [c for c in case_ids if cases[c]["status"] == "gap"]
        assert len(dispatched) >= 150, Counter(c["status"] for c in cases.values())

        # Plan: 40% ack+feedback, 15% return once, 10% return twice, 10% ack only, the rest left alone.
        n = len(dispatched)
        finished = dispatched[: int(n * 0.4)]
        returned_once = dispatched[int(n * 0.4): int(n * 0.55)]
        returned_twice = dispatched[int(n * 0.55): int(n * 0.65)]
        acked_only = dispatched[int(n * 0.65): int(n * 0.75)]
        untouched = dispatched[int(n * 0.75):]
        bus = KafkaBus(KafkaSettings(bootstrap=kafka_bootstrap))
        producer = bus.producer()

        async def reply(case_id: str, kind: str, via_topic: bool, **body: object) -> None:
            department = (await tracker.get(f"/v1/cases/{case_id}")).json()["department"]
            if via_topic:  # department systems that prefer Kafka: each on its own reply topic
                payload = DepartmentReply(case_id=case_id, department=department, kind=kind, **body)  # type: ignore[arg-type]
                event = envelope(source=f"dept/{department}", event_type=f"caseroute.reply.{kind}",
                                 subject=case_id, payload=payload)
                topic = f"{topic_prefix}replies.{department}.v1"
                value = event.to_bytes()
                await producer.send_batch([OutgoingMessage(topic, case_id, value, headers_for(event.id, value))])
                return
            answer = await tracker.post(f"/v1/cases/{case_id}/{'ack' if kind == 'ack' else kind}",
                                        json=body, headers=auth_headers("department", department))
            assert answer.status_code == 200, answer.text

        for i, c in enumerate(finished):
            await reply(c, "ack", via_topic=i % 3 == 0)
            await wait_status(tracker, c, {"acknowledged"})
            await reply(c, "feedback", via_topic=i % 3 == 1, outcome="resolved", text="已整改")
        for c in acked_only:
            await reply(c, "ack", via_topic=False)
        reasons = [ReturnReason.not_our_remit, ReturnReason.overlapping_remits, ReturnReason.wrong_unit]
        for i, c in enumerate(returned_once + returned_twice):
            await reply(c, "return", via_topic=i % 2 == 0, reason=reasons[i % 3].value, text="非本部门职责")
        after_first_return = {c: await wait_status(tracker, c, {"dispatched", "disputed"})
                              for c in returned_once + returned_twice}
        rerouted = [c for c, case in after_first_return.items() if case["status"] == "dispatched"]
        for c in rerouted:
            assert after_first_return[c]["attempt"] == 2
            assert after_first_return[c]["department"] != cases[c]["department"]
        for c in [c for c in returned_twice if c in rerouted]:
            await reply(c, "return", via_topic=False, reason="overlapping_remits", text="职能交叉")
            await wait_status(tracker, c, {"disputed"})

        # A department acts only on its own cases (one with no part in a case learns nothing of it: 404, as for a
        # read); illegal transitions are refused with the reason.
        other = await tracker.post(f"/v1/cases/{finished[0]}/ack", headers=auth_headers("department", "not-it"))
        assert other.status_code == 404 and other.headers["content-type"] == "application/problem+json"
        late = await tracker.post(f"/v1/cases/{finished[0]}/return", json={"reason": "duplicate"},
                                  headers=auth_headers("department", cases[finished[0]]['department']))
        assert late.status_code == 409 and "feedback" in late.json()["detail"]
        for c in finished:
            await wait_status(tracker, c, {"feedback"})
        await producer.stop()

        # Figures against our own count (ROUTING.md §6).
        returns_made = len(returned_once) + len(returned_twice) + len([c for c in returned_twice if c in rerouted])
        async with asyncio.timeout(30):
            while True:
                stats = (await tracker.get("/v1/stats", params={"window": "1d"})).json()
                if sum(stats["returns_by_reason"].values()) == returns_made:
                    break
                await asyncio.sleep(0.5)
        # Untouched cases are still inside their ack window: no outcome yet, shown apart (ROUTING.md §6).
        assert stats["dispatch_success"]["denominator"] == n - len(untouched)
        assert stats["dispatch_success"]["pending"] == len(untouched)
        assert stats["dispatch_success"]["numerator"] == len(finished) + len(acked_only)
        assert stats["gaps"] == len(gaps)
        metrics = (await tracker.get("/metrics")).text
        assert metric_sum(metrics, "dispatch_returns_total") == returns_made
        assert metric_sum(metrics, "cases_received_total") == 200
        # The gauge is refreshed every second (CASEROUTE_FIGURES_REFRESH_S): it reaches the figure /v1/stats
        # answers within a few refreshes, however loaded the machine.
        expected = pytest.approx((len(finished) + len(acked_only)) / (n - len(untouched)))
        async with asyncio.timeout(30):
            while metric_sum((await tracker.get("/metrics")).text, "dispatch_success_ratio",
                             window="24h") != expected:
                await asyncio.sleep(0.5)
        await tracker.aclose()

        # Three days later: two tracker replicas and a restart; each unacknowledged case escalates once.
        services["tracker"].stop()
        late_env = {**env, "CASEROUTE_SLA_CLOCK_OFFSET_S": THREE_DAYS, "CASEROUTE_SLA_SCAN_S": "0.3"}
        replicas = [ServiceProcess("tracker", late_env, tmp_path / f"tracker-late-{i}.log") for i in range(2)]
        with running(replicas):
            await asyncio.gather(*(r.wait_ready() for r in replicas))
            waiting_ack = [c for c in untouched] + [c for c in rerouted if c not in returned_twice]
            async with httpx.AsyncClient(base_url=replicas[0].url, headers=OPERATOR, timeout=10) as client:
                async with asyncio.timeout(60):
                    while sum(x.get("ack_overdue", 0) for x in
                              (await client.get("/v1/stats", params={"window": "1d"})).json()[
                                  "overdue_by_department"].values()) < len(waiting_ack):
                        await asyncio.sleep(0.5)
                await asyncio.sleep(2)  # time for a wrong second escalation to show
                stats = (await client.get("/v1/stats", params={"window": "1d"})).json()
                overdue = await client.get("/v1/cases", params={"overdue": "true", "limit": 500})
            raised = 0.0
            for replica in replicas:
                async with httpx.AsyncClient(base_url=replica.url, headers=OPERATOR, timeout=10) as client:
                    raised += metric_sum((await client.get("/metrics")).text, "escalations_total", kind="ack_overdue")
        assert sum(x.get("ack_overdue", 0) for x in stats["overdue_by_department"].values()) == len(waiting_ack)
        assert raised == len(waiting_ack)
        assert {c["case_id"] for c in overdue.json()["items"]} == set(waiting_ack)
        assert not re.search(r"Traceback", "".join(r.tail(200) for r in replicas))
