"""Webhook signatures: HMAC-SHA256 over `<timestamp>.<body>`, in the manner of Stripe's and GitHub's."""

from __future__ import annotations

import hashlib
import hmac

SIGNATURE_HEADER = "Caseroute-Signature"
EVENT_ID_HEADER = "Caseroute-Event-Id"
EVENT_TYPE_HEADER = "Caseroute-Event-Type"
DELIVERY_ID_HEADER = "Caseroute-Delivery-Id"
ATTEMPT_HEADER = "Caseroute-Delivery-Attempt"
REPLAY_WINDOW_S = 300


def digest(secret: str, timestamp: int, body: bytes) -> str:
    """Hex HMAC-SHA256 of `<timestamp>.` followed by the exact body bytes."""
    return hmac.new(secret.encode(), f"{timestamp}.".encode() + body, hashlib.sha256).hexdigest()


def signature_header(secret: str, timestamp: int, body: bytes) -> str:
    """`t=<unix seconds>,v1=<hex>`: the timestamp is signed too, so an old request cannot be replayed later."""
    return f"t={timestamp},v1={digest(secret, timestamp, body)}"


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
