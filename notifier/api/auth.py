"""Who may use the notifier's admin API (subscriptions, deliveries, the event stream): callers of role admin."""

from __future__ import annotations

from typing import Annotated

from fastapi import Depends, Request

from services.caller import require_roles
from services.principal import Caller
from services.runtime import Runtime


def get_runtime(request: Request) -> Runtime:
    runtime: Runtime = request.app.state.runtime
    return runtime


RuntimeDep = Annotated[Runtime, Depends(get_runtime)]
AdminDep = Depends(require_roles("admin"))
AdminCaller = Annotated[Caller, AdminDep]
