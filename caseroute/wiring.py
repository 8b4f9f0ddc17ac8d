"""Each service's builder as `caseroute <service>` runs it: the tracker gets the router's decision procedure."""

from __future__ import annotations

from functools import partial

from services.runner import Builder

SERVICES = ("intake", "router", "tracker", "notifier")


def builder(service: str) -> Builder:
    """The build function of one service, its ports wired (imported here, so a command loads only its service)."""
    if service == "tracker":
        from router.routing import CatalogueRouting
        from tracker.bootstrap import build

        # In process: the tracker re-routes by saved rules and learns suggestions with the router's own decide().
        return partial(build, routing=CatalogueRouting())
    if service not in SERVICES:
        raise ValueError(f"no service {service!r}; one of {', '.join(SERVICES)}")
    built: Builder = __import__(f"{service}.bootstrap", fromlist=["build"]).build
    return built
