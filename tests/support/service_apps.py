"""A service's app as deployed, built but not started: for tests of its HTTP surface that need no server."""

from __future__ import annotations

from fastapi import FastAPI

from services.runner import build_app
from services.runtime import Runtime
from services.settings import KafkaSettings, Settings


def service_app(service: str) -> FastAPI:
    """The app `caseroute <service>` serves, over an in-memory SQLite and the in-process bus: nothing connects."""
    settings = Settings(database_url="sqlite+aiosqlite://", kafka=KafkaSettings(bootstrap=None), service=service)
    runtime = Runtime.create(settings)
    build = __import__(f"{service}.bootstrap", fromlist=["build"]).build
    return build_app(runtime, [build(runtime)], service)
