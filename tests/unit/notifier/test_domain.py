"""Pure rules of the notifier: signature, backoff, vocabulary, recipients, supervision notices."""

from __future__ import annotations

import base64
import hashlib
import hmac
import re
import secrets
import time
from datetime import UTC, datetime, timedelta

import pytest
from standardwebhooks import Webhook, WebhookVerificationError

from notifier.domain.backoff import RetryPolicy, after_failure, delay_s
from notifier.domain.notices import human, notice_id, supervision_notice
from notifier.domain.recipients import CaseFacts, Incoming, SubscriberKind, SubscriptionView, recipients
from notifier.domain.signature import (
    new_secret,
    rotate,
    signature_header,
    signing_secrets,
    standard_headers,
    standard_key,
    verify,
)
from notifier.domain.vocabulary import event_type_of, matches, valid_pattern

T0 = datetime(2026, 1, 5, 8, 0, tzinfo=UTC)


def test_signature_is_hmac_of_timestamp_dot_body_and_verifies_in_window() -> None:
    body = b'{"id":"e1"}'
    header = signature_header(["s3cret-s3cret-s3cret"], 1_700_000_000, body)
    expected = hmac.new(b"s3cret-s3cret-s3cret", b"1700000000." + body, hashlib.sha256).hexdigest()
    assert header == f"t=1700000000,v1={expected}"
    assert verify("s3cret-s3cret-s3cret", header, body, now=1_700_000_100)
    assert not verify("s3cret-s3cret-s3cret", header, body + b" ", now=1_700_000_100)
    assert not verify("another-secret-xxxx", header, body, now=1_700_000_100)
    assert not verify("s3cret-s3cret-s3cret", header, body, now=1_700_000_301)  # replayed too late
    assert not verify("s3cret-s3cret-s3cret", "v1=abc", body, now=1_700_000_000)
    rotated = f"t=1700000000,v1={'0' * 64},v1={expected}"
    assert verify("s3cret-s3cret-s3cret", rotated, body, now=1_700_000_000)


def test_rotation_signs_with_the_new_then_the_old_secret_in_both_schemes_each_verifiable_alone() -> None:
    old, new, body, now = new_secret(), new_secret(), b'{"id":"e1","data":"\xc3\xa9"}', int(time.time())
    header = signature_header([new, old], now, body)
    assert re.fullmatch(r"t=\d+,v1=[0-9a-f]{64},v1=[0-9a-f]{64}", header)
    assert header.split(",")[1] == f"v1={hmac.new(new.encode(), f'{now}.'.encode() + body, hashlib.sha256).hexdigest()}"
    assert verify(old, header, body, now=now) and verify(new, header, body, now=now)
    assert not verify(new_secret(), header, body, now=now)
    standard = standard_headers([new, old], "e1", now, body)
    assert standard["webhook-id"] == "e1" and standard["webhook-timestamp"] == str(now)
    assert re.fullmatch(r"v1,[A-Za-z0-9+/]{43}= v1,[A-Za-z0-9+/]{43}=", standard["webhook-signature"])
    # The official Standard Webhooks library, as a receiver holding either secret, accepts the request.
    for secret in (old, new):
        assert Webhook(secret).verify(body, standard) == {"id": "e1", "data": "é"}
    with pytest.raises(WebhookVerificationError):
        Webhook(new_secret()).verify(body, standard)


def test_the_standard_key_is_the_decoded_base64_after_whsec_and_other_secrets_get_no_standard_headers() -> None:
    raw = secrets.token_bytes(32)
    assert standard_key("whsec_" + base64.b64encode(raw).decode()) == raw
    assert standard_key("whsec_" + base64.b64encode(raw).decode().rstrip("=")) == raw  # unpadded, as SDKs allow
    assert new_secret().startswith("whsec_") and len(standard_key(new_secret()) or b"") == 32
    # Where a key is standard, the official library (which decodes leniently) derives the same key from it.
    for secret in ("whsec_" + base64.b64encode(secrets.token_bytes(24)).decode().rstrip("="), new_secret()):
        headers = standard_headers([secret], "e1", int(time.time()), b"{}")
        assert Webhook(secret).verify(b"{}", headers) == {}
    # A URL-safe token with `-` or `_` (as most secrets made before were), own secrets and too-short keys are not
    # standard keys: only Caseroute-Signature signs them, keyed with the whole string.
    for other in ("whsec_Zm9v-YmFy_" + "A" * 27, "my-own-secret-123456", "whsec_" + base64.b64encode(
            b"x" * 16).decode(), "whsec_integration-secret-0123456789"):
        assert standard_key(other) is None
        assert standard_headers([other], "e1", 1, b"{}") == {}


def test_the_previous_secret_signs_until_its_overlap_ends_and_an_overlap_of_zero_retires_it() -> None:
    previous, until = rotate("old-secret-0123456789", T0, 3600)
    assert (previous, until) == ("old-secret-0123456789", T0 + timedelta(hours=1))
    assert signing_secrets("new", previous, until, T0) == ("new", "old-secret-0123456789")
    assert signing_secrets("new", previous, until, T0 + timedelta(minutes=59)) == ("new", "old-secret-0123456789")
    assert signing_secrets("new", previous, until, T0 + timedelta(hours=1)) == ("new",)
    assert rotate("old-secret-0123456789", T0, 0) == (None, None)
    assert signing_secrets("new", None, None, T0) == ("new",)
    assert signing_secrets(None, previous, until, T0) == ()  # unsigned stays unsigned


def test_backoff_grows_with_jitter_within_bounds_and_is_capped() -> None:
    policy = RetryPolicy(base_s=1, cap_s=60, horizon_s=3600)
    assert [delay_s(policy, n, 0.0) for n in (1, 2, 3, 4)] == [0.5, 1, 2, 4]
    assert [delay_s(policy, n, 0.999) for n in (1, 2, 3)] == [0.9995, 1.999, 3.998]
    assert delay_s(policy, 30, 0.0) == 30 and delay_s(policy, 30, 1.0) == 60


def test_failure_before_horizon_retries_and_after_horizon_is_dead() -> None:
    policy = RetryPolicy(base_s=10, cap_s=600, horizon_s=3600)
    retry = after_failure(policy, attempts=3, horizon_from=T0, now=T0 + timedelta(minutes=5), jitter=0.5)
    assert not retry.dead and retry.next_attempt_at == T0 + timedelta(minutes=5, seconds=30)
    last = after_failure(policy, attempts=40, horizon_from=T0, now=T0 + timedelta(minutes=59, seconds=50),
                         jitter=0.5)
    assert not last.dead and last.next_attempt_at == T0 + timedelta(hours=1)  # a last try on the horizon
    dead = after_failure(policy, attempts=41, horizon_from=T0, now=T0 + timedelta(hours=1), jitter=0.5)
    assert dead.dead
    paused = after_failure(policy, attempts=1, horizon_from=T0, now=T0, jitter=0, retry_after_s=120)
    assert paused.next_attempt_at == T0 + timedelta(seconds=120)


def test_vocabulary_types_and_patterns() -> None:
    assert event_type_of("dispatch", "caseroute.case.dispatched", {"role": "cc"}) == "dispatch.cc"
    assert event_type_of("case-events", "caseroute.case.transition", {"to_status": "acknowledged"}) == \
        "case.acknowledged"
    assert event_type_of("case-events", "caseroute.case.escalated", {"to_status": "dispatched"}) == "case.escalated"
    assert event_type_of("case-events", "caseroute.case.transition",
                         {"kind": "escalated", "to_status": "dispatched"}) == "case.escalated"
    # A subject's tier changing leaves the case's status as it was: its own type, not a second case.dispatched.
    for kind in ("tier_changed", "subject_merged"):
        assert event_type_of("case-events", "caseroute.case.transition",
                             {"kind": kind, "to_status": "dispatched"}) == "case.tier_changed"
    assert valid_pattern("case.tier_changed")
    assert matches(["case.*"], "case.closed") and matches(["*"], "dispatch.primary")
    assert not matches(["case.closed"], "case.feedback") and not matches(["dispatch.*"], "case.dispatched")
    assert valid_pattern("case.*") and valid_pattern("dispatch.primary") and not valid_pattern("rm -rf")


def _sub(id_: str, kind: SubscriberKind, owner: str, *types: str) -> SubscriptionView:
    return SubscriptionView(id_, kind, owner, types)


SUBS = [
    _sub("d1", SubscriberKind.department, "market-regulation", "dispatch.*", "case.escalated"),
    _sub("d2", SubscriberKind.department, "fire-brigade", "*"),
    _sub("s1", SubscriberKind.supervisor, "safety-office", "case.escalated"),
    _sub("s2", SubscriberKind.supervisor, "district-office", "case.escalated", "case.closed"),
    _sub("g1", SubscriberKind.reporter, "grid", "case.closed"),
]
CASE = CaseFacts("C1", source="grid", callback_url="http://grid.example/cb/1", department="market-regulation")


def test_dispatch_reaches_only_its_department() -> None:
    found = recipients(Incoming("dispatch.primary", "C1", "market-regulation"), SUBS, CASE)
    assert [r.key for r in found] == ["sub:d1"]


def test_escalation_reaches_the_named_supervisor_and_the_department_that_asked() -> None:
    found = recipients(Incoming("case.escalated", "C1", "market-regulation", "safety-office"), SUBS, CASE)
    assert [r.key for r in found] == ["sub:d1", "sub:s1"]


def test_reporter_hears_status_changes_by_callback_signed_with_its_system_subscription() -> None:
    found = recipients(Incoming("case.closed", "C1", "market-regulation"), SUBS, CASE)
    assert [(r.key, r.subscription_id, r.url) for r in found] == [
        ("sub:s2", "s2", None), ("sub:g1", "g1", None), ("callback", "g1", "http://grid.example/cb/1")]
    assert found[-1].lane("C1") == "callback|C1"
    assert [r.key for r in recipients(Incoming("case.feedback", "C1", "market-regulation"), SUBS, CASE)] == \
        ["callback"]
    assert recipients(Incoming("case.returned", "C1", "market-regulation"), SUBS, CASE) == []


def test_supervision_notice_says_department_case_and_how_overdue() -> None:
    case = CaseFacts("C1", department="market-regulation", dispatched_at=T0, ack_hours=2, deadline_days=5)
    escalation = {"id": "e-9", "subject": "C1", "time": "2026-01-05T13:30:00+00:00", "trace": {},
                  "data": {"case_id": "C1", "department": "market-regulation", "at": "2026-01-05T13:30:00+00:00",
                           "to_status": "dispatched", "detail": {"kind": "ack_overdue", "attempt": 1,
                                                                 "to": "safety-office"}}}
    notice = supervision_notice(escalation, case)
    assert notice["id"] == notice_id("e-9") == supervision_notice(escalation, case)["id"]
    assert notice["data"]["department"] == "market-regulation" and notice["subject"] == "C1"
    assert notice["data"]["overdue_seconds"] == 3.5 * 3600 and notice["data"]["overdue"] == "3 h 30 min"
    assert notice["data"]["due_at"] == "2026-01-05T10:00:00+00:00"
    assert human(2 * 86400 + 3 * 3600) == "2 d 3 h" and human(720) == "12 min"
    unknown = supervision_notice(escalation, None)
    assert unknown["data"]["overdue_seconds"] is None and unknown["data"]["department"] == "market-regulation"


def test_sse_frames_and_gap_rule() -> None:
    from notifier.api.stream import frame, passable

    assert frame(7, "case", {"a": 1}) == b'id: 7\nevent: case\ndata: {"a":1}\n\n'
    old, new = T0, T0 + timedelta(seconds=10)
    now = T0 + timedelta(seconds=11)
    assert passable([(4, old), (5, old), (6, new)], after=3, now=now) == 3
    assert passable([(4, old), (6, new), (7, new)], after=3, now=now) == 1  # 5 may still commit: wait
    assert passable([(4, old), (6, old), (7, new)], after=3, now=now) == 3  # 5 never came: move on
