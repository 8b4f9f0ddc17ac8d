"""The catalogue event: a version on the compacted catalogue.v1 topic, built and read here for every service."""

from __future__ import annotations

from datetime import UTC, datetime

from catalogue.loader import parse_catalogue
from catalogue.model import Catalogue
from schemas.envelope import Envelope, TraceContext
from schemas.events import CataloguePublished, EventType, dataschema

SOURCE = "caseroute/catalogue"


def catalogue_event(catalogue: Catalogue, *, published_by: str, reason: str = "", from_case: str | None = None,
                    trace: TraceContext | None = None) -> Envelope:
    """The envelope of a catalogue version; the subject (and so the compacted topic's key) is the catalogue id,
    its district. `trace` is the publisher's current trace context (the kit knows it; this package does not)."""
    payload = CataloguePublished(catalogue_id=catalogue.district, version=catalogue.version,
                                 document=catalogue.model_dump(mode="json"), published_by=published_by,
                                 reason=reason, from_case=from_case, published_at=datetime.now(UTC))
    context = trace or TraceContext()
    return Envelope(source=SOURCE, type=EventType.catalogue_published, subject=catalogue.district,
                    dataschema=dataschema(EventType.catalogue_published, 1), traceparent=context.traceparent,
                    tracestate=context.tracestate, data=payload.model_dump(mode="json"))


def published_catalogue(published: CataloguePublished) -> Catalogue:
    """The version a catalogue.v1 event carries, validated; CatalogueError when it cannot be used."""
    return parse_catalogue(published.document, f"catalogue.v1 {published.version}")
