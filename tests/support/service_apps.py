"""A service's app as deployed, built but not started: for tests of its HTTP surface that need no server."""

from __future__ import annotations

from fastapi import FastAPI

from caseroute.wiring import builder
from services.runner import build_app
from services.runtime import Runtime
from services.settings import KafkaSettings, Settings


def service_app(service: str) -> FastAPI:
    """The app `caseroute <service>` serves, over an in-memory SQLite and the in-process bus: nothing connects."""
    settings = Settings(database_url="sqlite+aiosqlite://", kafka=KafkaSettings(bootstrap=None), service=service)
    runtime = Runtime.create(settings)
    return build_app(runtime, [builder(service)(runtime)], service)


# The tracker's builder as `caseroute tracker` wires it: with the router's decision procedure.
tracker = builder("tracker")
