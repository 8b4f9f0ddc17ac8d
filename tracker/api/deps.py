"""FastAPI dependencies of the tracker API."""

from __future__ import annotations

from typing import Annotated

from fastapi import Depends, Request

from tracker.handlers import Deps


async def get_deps(request: Request) -> Deps:
    deps: Deps = request.app.state.tracker.state["deps"]
    return deps


DepsDep = Annotated[Deps, Depends(get_deps)]
