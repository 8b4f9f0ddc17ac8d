"""Catalogue versions as events in the router: publish one on catalogue.v1 (admin CLI); take one into force in
every replica. The event itself is built and read in catalogue.events."""

from __future__ import annotations

import logging
from pathlib import Path
from typing import TYPE_CHECKING

from catalogue.events import catalogue_event, published_catalogue
from catalogue.loader import CatalogueError
from schemas.envelope import Envelope
from schemas.events import CataloguePublished
from services.bus.base import Bus, OutgoingMessage
from services.consumer import PoisonMessage
from services.envelopes import headers_for
from services.logctx import current_trace
from services.settings import Settings

if TYPE_CHECKING:  # not at run time: the admin CLI publishes without building an engine
    from router.engine import Engine

log = logging.getLogger(__name__)


async def publish_catalogue(bus: Bus, settings: Settings, event: Envelope) -> None:
    """Send a catalogue version to the compacted topic (admin CLI; rulings go through the tracker's outbox)."""
    topic = settings.topic("catalogue.v1")
    await bus.ensure_topics([topic], compacted=True)
    producer = bus.producer()
    try:
        await producer.send_batch([OutgoingMessage(topic, event.subject, event.to_bytes(),
                                                   headers_for(event.id, b""))])
    finally:
        await producer.stop()


def take_into_force(event: Envelope, engine: Engine) -> bool:
    """Validate and swap; a broken catalogue is refused (dead-lettered) and the working one stays."""
    published = CataloguePublished.model_validate(event.data)
    if published.catalogue_id != engine.catalogue.district:
        log.info("ignoring catalogue %s of %s", published.version, published.catalogue_id)
        return False
    try:
        catalogue = published_catalogue(published)
    except CatalogueError as exc:
        raise PoisonMessage(f"invalid catalogue {published.version}: {exc}") from exc
    return engine.swap(catalogue)


def publish_command(file: Path, credential: str | None, reason: str) -> None:
    """`caseroute catalogue publish FILE`: validate, then send it to catalogue.v1 for every router replica.

    A catalogue change needs the admin role: the credential is checked like an API call's, the caller
    becomes `published_by`, and the publication is written to auth_audit.
    """
    import asyncio

    import typer

    from catalogue.loader import load_catalogue
    from services.auth.cli import audit, authorised
    from services.bus.kafka import KafkaBus
    from services.settings import get_settings

    settings = get_settings()
    if not settings.kafka.bootstrap:
        typer.echo("set CASEROUTE_KAFKA_BOOTSTRAP: catalogue versions travel on Kafka", err=True)
        raise typer.Exit(2)
    try:
        catalogue = load_catalogue(file)
    except CatalogueError as exc:
        typer.echo(str(exc), err=True)
        raise typer.Exit(1) from None
    try:
        caller = authorised(settings, credential, "admin")
    except ValueError as exc:
        typer.echo(f"not allowed: {exc}", err=True)
        raise typer.Exit(3) from None
    event = catalogue_event(catalogue, published_by=caller.actor, reason=reason, trace=current_trace())
    asyncio.run(publish_catalogue(KafkaBus(settings.kafka), settings, event))
    audit(settings, caller, "catalogue.publish", catalogue.district,
          {"version": catalogue.version, "event_id": event.id, "reason": reason})
    typer.echo(f"published {catalogue.district} {catalogue.version} on {settings.topic('catalogue.v1')}")
