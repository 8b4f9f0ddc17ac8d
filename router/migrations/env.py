"""Alembic environment of the router's tables."""

from router.store import models  # noqa: F401  (registers the tables on the metadata)
from services.migrate import run_env

run_env()
