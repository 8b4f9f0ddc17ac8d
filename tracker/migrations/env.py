"""Alembic environment of the tracker's tables."""

from services.migrate import run_env
from tracker.console import store  # noqa: F401  (registers the console's sessions table too)
from tracker.store import models  # noqa: F401  (registers the tables on the metadata)

run_env()
