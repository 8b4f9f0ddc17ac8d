"""When to try a failed delivery again, and when to give up (the horizon)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta


@dataclass(frozen=True, slots=True)
class RetryPolicy:
    """Exponential backoff with jitter, capped, until `horizon_s` after the delivery was created."""

    base_s: float = 1.0
    cap_s: float = 3600.0
    horizon_s: float = 24 * 3600.0
    max_retry_after_s: float = 3600.0


def delay_s(policy: RetryPolicy, attempts: int, jitter: float) -> float:
    """Delay after the `attempts`-th failure; `jitter` in [0, 1) spreads the upper half of the step.

    Half fixed and half random ("equal jitter"): waits still grow every time, yet receivers that
    come back are not hit by every subscriber's retries at the same instant.
    """
    step = min(policy.cap_s, policy.base_s * 2 ** max(0, attempts - 1))
    return step / 2 + step / 2 * jitter


@dataclass(frozen=True, slots=True)
class Verdict:
    """After a failed attempt: dead (horizon passed) or the time of the next attempt."""

    dead: bool
    next_attempt_at: datetime


def after_failure(policy: RetryPolicy, *, attempts: int, horizon_from: datetime, now: datetime,
                  jitter: float, retry_after_s: float | None = None) -> Verdict:
    """Next attempt time, or dead when the horizon has passed; the last try falls on the horizon itself."""
    deadline = horizon_from + timedelta(seconds=policy.horizon_s)
    if now >= deadline:
        return Verdict(True, now)
    wait = delay_s(policy, attempts, jitter)
    if retry_after_s is not None:
        # The receiver asked for a pause (429/503 Retry-After): honour it, within reason.
        wait = max(wait, min(retry_after_s, policy.max_retry_after_s))
    return Verdict(False, min(now + timedelta(seconds=wait), deadline))
