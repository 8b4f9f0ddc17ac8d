"""Webhook signatures, and which secrets sign while one is rotated.

Two schemes, both HMAC-SHA256 over the exact body bytes:

- `Caseroute-Signature: t=<unix>,v1=<hex>[,v1=<hex>]`, keyed with the whole secret string as UTF-8 (a `whsec_`
  prefix included): the header every subscription has had since the first release.
- Standard Webhooks (`webhook-id`, `webhook-timestamp`, `webhook-signature: v1,<base64>[ v1,<base64>]`), keyed
  with the base64-decoded part after `whsec_`, as that specification defines it. Sent only for secrets of that
  form, so a receiver built on a Standard Webhooks library verifies us without code of its own.

During a rotation both headers carry one signature per valid secret, the new one first.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
import secrets as random_secrets
from collections.abc import Sequence
from datetime import datetime, timedelta

SIGNATURE_HEADER = "Caseroute-Signature"
EVENT_ID_HEADER = "Caseroute-Event-Id"
EVENT_TYPE_HEADER = "Caseroute-Event-Type"
DELIVERY_ID_HEADER = "Caseroute-Delivery-Id"
ATTEMPT_HEADER = "Caseroute-Delivery-Attempt"
STANDARD_ID_HEADER = "webhook-id"
STANDARD_TIMESTAMP_HEADER = "webhook-timestamp"
STANDARD_SIGNATURE_HEADER = "webhook-signature"
REPLAY_WINDOW_S = 300
STANDARD_PREFIX = "whsec_"
# Standard Webhooks keys are 24 to 64 random bytes; outside that a `whsec_…` string is treated as an opaque secret.
STANDARD_KEY_BYTES = (24, 64)


def digest(secret: str, timestamp: int, body: bytes) -> str:
    """Hex HMAC-SHA256 of `<timestamp>.` followed by the exact body bytes, keyed with the whole secret string."""
    return hmac.new(secret.encode(), f"{timestamp}.".encode() + body, hashlib.sha256).hexdigest()


def signature_header(secrets: Sequence[str], timestamp: int, body: bytes) -> str:
    """`t=<unix seconds>,v1=<hex>` with one `v1` per secret in the given order (the new secret first).

    The timestamp is signed too, so an old request cannot be replayed later.
    """
    if not secrets:
        raise ValueError("at least one secret signs")
    return ",".join([f"t={timestamp}", *(f"v1={digest(s, timestamp, body)}" for s in secrets)])


def verify(secret: str, header: str, body: bytes, now: int, window_s: int = REPLAY_WINDOW_S) -> bool:
    """What a receiver does: parse, reject outside the replay window, compare in constant time."""
    parts: dict[str, list[str]] = {}
    for item in header.split(","):
        key, _, value = item.strip().partition("=")
        parts.setdefault(key, []).append(value)
    try:
        timestamp = int(parts["t"][0])
    except (KeyError, ValueError):
        return False
    if abs(now - timestamp) > window_s:
        return False
    expected = digest(secret, timestamp, body)
    # Several v1 values may come while a secret is rotated; any match will do.
    return any(hmac.compare_digest(expected, candidate) for candidate in parts.get("v1", []))


def standard_key(secret: str) -> bytes | None:
    """The Standard Webhooks HMAC key of `whsec_<base64>`, or None when the secret is not of that form."""
    if not secret.startswith(STANDARD_PREFIX):
        return None
    encoded = secret[len(STANDARD_PREFIX):]
    try:
        # Strict: a URL-safe token (the form made before Standard Webhooks keys) must not pass as base64 by
        # having its `-` and `_` silently dropped, which is what a lenient decoder would do.
        key = base64.b64decode(encoded + "=" * (-len(encoded) % 4), validate=True)
    except (binascii.Error, ValueError):
        return None
    low, high = STANDARD_KEY_BYTES
    return key if low <= len(key) <= high else None


def new_secret() -> str:
    """A fresh secret that both schemes accept: `whsec_` and the base64 of 32 random bytes."""
    return STANDARD_PREFIX + base64.b64encode(random_secrets.token_bytes(32)).decode()


def standard_signature(key: bytes, message_id: str, timestamp: int, body: bytes) -> str:
    """`v1,<base64 HMAC-SHA256 of "<id>.<timestamp>.<body>">` as Standard Webhooks signs."""
    mac = hmac.new(key, f"{message_id}.{timestamp}.".encode() + body, hashlib.sha256).digest()
    return f"v1,{base64.b64encode(mac).decode()}"


def standard_headers(secrets: Sequence[str], message_id: str, timestamp: int, body: bytes) -> dict[str, str]:
    """The Standard Webhooks headers for those of the secrets that are standard keys (none: no headers)."""
    keys = [key for key in map(standard_key, secrets) if key is not None]
    if not keys:
        return {}
    return {
        STANDARD_ID_HEADER: message_id,
        STANDARD_TIMESTAMP_HEADER: str(timestamp),
        STANDARD_SIGNATURE_HEADER: " ".join(standard_signature(k, message_id, timestamp, body) for k in keys),
    }


def signing_secrets(current: str | None, previous: str | None, previous_until: datetime | None,
                    now: datetime) -> tuple[str, ...]:
    """The secrets that sign now: the current one, then the previous one while its overlap lasts."""
    if not current:
        return ()
    if previous and previous != current and previous_until is not None and now < previous_until:
        return (current, previous)
    return (current,)


def rotate(current: str, now: datetime, overlap_s: float) -> tuple[str | None, datetime | None]:
    """(previous secret, until when it still signs) once `current` is replaced.

    An overlap of 0 cuts over at once (a leaked secret). A rotation during an overlap drops the oldest secret:
    at most two sign.
    """
    if overlap_s <= 0:
        return None, None
    return current, now + timedelta(seconds=overlap_s)
