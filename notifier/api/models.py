"""HTTP-only models of the notifier's admin API (Create / Read / Update per noun)."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated

from pydantic import AnyHttpUrl, BaseModel, ConfigDict, Field, field_validator, model_validator

from notifier.domain.recipients import SubscriberKind
from notifier.domain.vocabulary import valid_pattern

Owner = Annotated[str, Field(min_length=1, max_length=64, pattern=r"^[A-Za-z0-9_.-]+$")]
Secret = Annotated[str, Field(min_length=16, max_length=256)]
EventTypes = Annotated[list[str], Field(min_length=1, max_length=50)]
MAX_OVERLAP_S = 30 * 24 * 3600  # a month: longer and a secret meant to be retired is in effect still current


def _check_types(value: list[str] | None) -> list[str] | None:
    if value is None:
        return None
    bad = [t for t in value if not valid_pattern(t)]
    if bad:
        raise ValueError(f"unknown event types {bad}: use e.g. dispatch.primary, case.acknowledged, case.*, *")
    return sorted(set(value))


class SubscriptionCreate(BaseModel):
    """A new subscription; leave `secret` out and one is made (and shown in this answer only)."""

    model_config = ConfigDict(extra="forbid")

    kind: SubscriberKind
    owner: Owner  # department code, report source (grid, hotline, …) or supervisor (safety-office)
    channel: str = "webhook"
    url: AnyHttpUrl
    secret: Secret | None = None
    event_types: EventTypes
    description: Annotated[str, Field(max_length=500)] | None = None

    _types = field_validator("event_types")(_check_types)


class SubscriptionUpdate(BaseModel):
    """Change what is given; a new `secret` signs from the next attempt, the old one beside it for the overlap."""

    model_config = ConfigDict(extra="forbid")

    url: AnyHttpUrl | None = None
    secret: Secret | None = None
    # Seconds the replaced secret keeps signing beside the new one; unset: CASEROUTE_NOTIFIER_ROTATION_OVERLAP_S.
    # 0 retires it at once (a leaked secret).
    secret_overlap_s: Annotated[int, Field(ge=0, le=MAX_OVERLAP_S)] | None = None
    event_types: EventTypes | None = None
    description: Annotated[str, Field(max_length=500)] | None = None
    active: bool | None = None

    _types = field_validator("event_types")(_check_types)

    @model_validator(mode="after")
    def _overlap_needs_secret(self) -> SubscriptionUpdate:
        if self.secret_overlap_s is not None and self.secret is None:
            raise ValueError("secret_overlap_s applies to a rotation: give the new secret with it")
        return self


class SubscriptionRead(BaseModel):
    """A subscription as the API shows it: never with its secret."""

    id: str
    kind: SubscriberKind
    owner: str
    channel: str
    url: str
    event_types: list[str]
    description: str | None
    active: bool
    created_at: datetime
    updated_at: datetime
    # Until when the secret replaced by the last rotation still signs beside the current one; null: it does not.
    previous_secret_expires_at: datetime | None = None


class SubscriptionCreated(SubscriptionRead):
    secret: str


class DeliveryRead(BaseModel):
    """One (event, recipient) delivery and where it stands."""

    id: int
    event_id: str
    event_type: str
    case_id: str
    recipient: str
    subscription_id: str | None
    url: str | None
    status: str  # pending | delivered | dead
    attempts: int
    next_attempt_at: datetime
    created_at: datetime
    delivered_at: datetime | None
    last_status: int | None
    last_error: str | None


class DeliveryPage(BaseModel):
    items: list[DeliveryRead]
    next_cursor: int | None
