"""Alembic, the one migration tool: each service has its own versions folder and version table."""

from __future__ import annotations

import asyncio
from pathlib import Path

from alembic import command
from alembic.config import Config
from sqlalchemy import MetaData
from sqlalchemy.engine import Connection

from services.db import Base, BigId, Database


def alembic_config(service: str, migrations_dir: Path, url: str) -> Config:
    """Config for one service's migrations; its version table is `alembic_version_<service>`."""
    config = Config()
    config.set_main_option("script_location", str(migrations_dir))
    config.set_main_option("sqlalchemy.url", url.replace("%", "%%"))
    config.attributes["service"] = service
    return config


def version_table(service: str) -> str:
    return f"alembic_version_{service}"


def _upgrade(connection: Connection, config: Config) -> None:
    config.attributes["connection"] = connection
    command.upgrade(config, "head")


async def upgrade(db: Database, service: str, migrations_dir: Path) -> None:
    """Apply a service's migrations at start; concurrent replicas serialise on an advisory lock."""
    config = alembic_config(service, migrations_dir, db.url)
    async with db.engine.begin() as conn:
        await db.lock_transaction(conn, f"migrate:{service}")
        await conn.run_sync(_upgrade, config)


def run_env(target_metadata: MetaData | None = None) -> None:
    """Body of every service's migrations/env.py: run on the connection `upgrade` handed over."""
    from alembic import context

    config = context.config
    connection = config.attributes.get("connection")
    if connection is None:  # the alembic CLI: open our own connection from the URL
        db = Database(config.get_main_option("sqlalchemy.url") or "")

        async def _run() -> None:
            async with db.engine.begin() as conn:
                await conn.run_sync(_configure_and_run, config, target_metadata)
            await db.dispose()

        asyncio.run(_run())
        return
    _configure_and_run(connection, config, target_metadata)


def _configure_and_run(connection: Connection, config: object, target_metadata: MetaData | None) -> None:
    from alembic import context

    service = context.config.attributes.get("service", "caseroute")
    context.configure(
        connection=connection,
        target_metadata=target_metadata or Base.metadata,
        version_table=version_table(service),
        render_as_batch=connection.dialect.name == "sqlite",
    )
    with context.begin_transaction():
        context.run_migrations()


def create_outbox_table(name: str) -> None:
    """Migration step shared by every service that publishes (columns of OutboxMixin)."""
    import sqlalchemy as sa
    from alembic import op

    op.create_table(
        name,
        sa.Column("id", BigId, primary_key=True,
                  autoincrement=True),
        sa.Column("topic", sa.String(255), nullable=False),
        sa.Column("key", sa.String(128), nullable=False),
        sa.Column("event_id", sa.String(64), nullable=False),
        sa.Column("value", sa.LargeBinary(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
    )


def create_inbox_table(name: str) -> None:
    """Migration step shared by every service that consumes (columns of InboxMixin)."""
    import sqlalchemy as sa
    from alembic import op

    op.create_table(
        name,
        sa.Column("event_id", sa.String(64), primary_key=True),
        sa.Column("processed_at", sa.DateTime(timezone=True), nullable=False),
    )
