"""Alembic environment of the notifier's tables."""

from notifier.store import models  # noqa: F401  (registers the tables on the metadata)
from services.migrate import run_env

run_env()
