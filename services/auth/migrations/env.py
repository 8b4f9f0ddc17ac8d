"""Alembic environment of the auth kit's tables (version table alembic_version_auth)."""

from services.auth import models  # noqa: F401  (registers the tables on the metadata)
from services.migrate import run_env

run_env()
