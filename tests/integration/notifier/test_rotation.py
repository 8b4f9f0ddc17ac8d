"""Rotating a webhook secret on real Kafka and PostgreSQL: receivers on the old and on the new secret both verify
real HTTP deliveries during the overlap, only the new one after it. The receivers verify as WEBHOOKS.md says
(`independent_verify`, written from the document) and with the official Standard Webhooks library."""

from __future__ import annotations

import asyncio
import base64
import re
import secrets
import time
from datetime import UTC, datetime

import httpx
import pytest
from standardwebhooks import Webhook, WebhookVerificationError

from tests.integration.notifier.receiver import Receiver, independent_verify
from tests.integration.notifier.support import AUTH, Feeder, InProcessNotifier, eventually, notifier_settings

pytestmark = [pytest.mark.kafka, pytest.mark.postgres, pytest.mark.timeout(120)]

OVERLAP_S = 8.0  # long enough for a delivery on a busy machine, short enough to wait out in the test
CASEROUTE_SIGNATURE = re.compile(r"t=(\d+)((?:,v1=[0-9a-f]{64})+)")
STANDARD_SIGNATURE = re.compile(r"v1,[A-Za-z0-9+/]{43}=(?: v1,[A-Za-z0-9+/]{43}=)*")


def _verifies(secret: str, headers: dict[str, str], body: bytes) -> tuple[bool, bool]:
    """(WEBHOOKS.md's check of Caseroute-Signature, the Standard Webhooks library's check) with this secret."""
    ours = independent_verify(secret, headers["caseroute-signature"], body, time.time())
    try:
        Webhook(secret).verify(body, headers)
        standard = True
    except WebhookVerificationError:
        standard = False
    return ours, standard


def _signatures(headers: dict[str, str]) -> tuple[int, int]:
    """How many v1 signatures each header carries, after checking both headers' format against WEBHOOKS.md."""
    ours = CASEROUTE_SIGNATURE.fullmatch(headers["caseroute-signature"])
    assert ours, headers["caseroute-signature"]
    assert STANDARD_SIGNATURE.fullmatch(headers["webhook-signature"]), headers["webhook-signature"]
    assert headers["webhook-id"] == headers["caseroute-event-id"]
    assert headers["webhook-timestamp"] == ours.group(1)
    return ours.group(2).count(",v1="), len(headers["webhook-signature"].split(" "))


async def test_receivers_on_the_old_and_the_new_secret_both_verify_during_the_overlap_only_the_new_after(
        kafka_bootstrap: str, fresh_postgres: str, topic_prefix: str) -> None:
    settings = notifier_settings(kafka_bootstrap, topic_prefix, fresh_postgres, rotation_overlap_s=OVERLAP_S)
    new = "whsec_" + base64.b64encode(secrets.token_bytes(32)).decode()
    receiver = Receiver(new)  # answers 2xx to what verifies with the new secret: the lane never waits on a retry
    feeder = await Feeder.start(settings, ["fire"])
    await receiver.start()
    try:
        async with InProcessNotifier(settings) as notifier, \
                httpx.AsyncClient(base_url=notifier.url, timeout=10) as client:
            created = await client.post("/v1/subscriptions", headers=AUTH, json={
                "kind": "department", "owner": "fire", "url": receiver.url, "event_types": ["*"]})
            assert created.status_code == 201, created.text
            sub, old = created.json(), created.json()["secret"]  # made by the notifier: a Standard Webhooks key

            receiver.secret = old
            await feeder.dispatch("C20260105-00001", "fire")
            await eventually(lambda: len(receiver.accepted) == 1, 60)
            before = receiver.seen[-1]
            assert _signatures(before[0]) == (1, 1)
            assert _verifies(old, before[0], before[1]) == (True, True)
            assert _verifies(new, before[0], before[1]) == (False, False)

            rotated = await client.patch(f"/v1/subscriptions/{sub['id']}", headers=AUTH, json={"secret": new})
            assert rotated.status_code == 200, rotated.text
            until = datetime.fromisoformat(rotated.json()["previous_secret_expires_at"]).timestamp()
            receiver.secret = new
            await feeder.transition("C20260105-00001", "fire", "acknowledged")
            await eventually(lambda: len(receiver.accepted) == 2, 60)
            during = receiver.seen[-1]
            assert during[2] < until, "the delivery came after the overlap: raise OVERLAP_S for this machine"
            assert _signatures(during[0]) == (2, 2)
            assert _verifies(old, during[0], during[1]) == (True, True)  # a receiver not yet switched
            assert _verifies(new, during[0], during[1]) == (True, True)  # a receiver already switched
            new_first = Webhook(new).sign(during[0]["webhook-id"], datetime.fromtimestamp(
                int(during[0]["webhook-timestamp"]), UTC), during[1].decode())
            assert during[0]["webhook-signature"].startswith(new_first + " ")

            await asyncio.sleep(max(0.0, until - time.time()) + 0.5)
            shown = (await client.get(f"/v1/subscriptions/{sub['id']}", headers=AUTH)).json()
            assert shown["previous_secret_expires_at"] is None
            await feeder.transition("C20260105-00001", "fire", "feedback")
            await eventually(lambda: len(receiver.accepted) == 3, 60)
            after = receiver.seen[-1]
            assert _signatures(after[0]) == (1, 1)
            assert _verifies(old, after[0], after[1]) == (False, False)
            assert _verifies(new, after[0], after[1]) == (True, True)
            assert receiver.bad_signatures == 0
    finally:
        await receiver.stop()
        await feeder.stop()
