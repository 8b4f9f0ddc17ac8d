"""Alembic environment of intake's tables."""

from intake.store import models  # noqa: F401  (registers the tables on the metadata)
from services.migrate import run_env

run_env()
