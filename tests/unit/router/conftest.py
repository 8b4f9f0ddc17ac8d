"""Shared fixtures: the compiled default catalogue and a report builder."""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime, timedelta, timezone
from typing import Any

import pytest

from catalogue.loader import load_catalogue
from router.domain.compiled import CompiledCatalogue, compile_catalogue
from router.domain.decide import decide
from schemas.decision import Decision
from schemas.report import Report


@pytest.fixture(scope="session")
def cc() -> CompiledCatalogue:
    return compile_catalogue(load_catalogue())


def _report(
    description: str,
    *,
    title: str | None = None,
    address: str | None = None,
    unit: str | None = None,
    category: str | None = None,
    **facts: Any,
) -> Report:
    """A hotline-style report; keyword facts go to `facts`."""
    return Report(
        external_id="T-1",
        source="hotline",
        reported_at=datetime(2026, 2, 1, 10, 0, tzinfo=timezone(timedelta(hours=8))),
        location={"unit": unit, "address": address},
        title=title,
        description=description,
        category=category,
        facts=facts,
    )


@pytest.fixture()
def make_report() -> Callable[..., Report]:
    return _report


@pytest.fixture()
def route(cc: CompiledCatalogue) -> Callable[..., Decision]:
    def _route(description: str, **kw: Any) -> Decision:
        return decide(_report(description, **kw), cc)

    return _route
