"""HTTP-only models of the notifier's admin API (Create / Read / Update per noun)."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated

from pydantic import AnyHttpUrl, BaseModel, ConfigDict, Field, field_validator

from notifier.domain.recipients import SubscriberKind
from notifier.domain.vocabulary import valid_pattern

Owner = Annotated[str, Field(min_length=1, max_length=64, pattern=r"^[A-Za-z0-9_.-]+$")]
Secret = Annotated[str, Field(min_length=16, max_length=256)]
EventTypes = Annotated[list[str], Field(min_length=1, max_length=50)]


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
    """Change what is given; a new `secret` takes effect from the next attempt."""

    model_config = ConfigDict(extra="forbid")

    url: AnyHttpUrl | None = None
    secret: Secret | None = None
    event_types: EventTypes | None = None
    description: Annotated[str, Field(max_length=500)] | None = None
    active: bool | None = None

    _types = field_validator("event_types")(_check_types)


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
