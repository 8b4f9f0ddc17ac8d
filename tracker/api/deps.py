"""FastAPI dependencies of the tracker API."""

from __future__ import annotations

from typing import Annotated

from fastapi import Depends, Request

from tracker.handlers import Deps
from tracker.state import tracker_state


async def get_deps(request: Request) -> Deps:
    deps = tracker_state(request).deps
    return deps


DepsDep = Annotated[Deps, Depends(get_deps)]
