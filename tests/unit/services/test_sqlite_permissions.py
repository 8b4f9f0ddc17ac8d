"""The embedded mode's SQLite file holds reporters' names and phones and webhook secrets: it and its WAL and
shared-memory files are the owner's alone (0600), whatever the umask, and an older laxer file is tightened."""

from __future__ import annotations

import os
import stat
from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy import text

from services.db import Database


@pytest.fixture
def lax_umask() -> Iterator[None]:
    previous = os.umask(0o022)  # the usual default: files world-readable
    yield
    os.umask(previous)


def mode(path: Path) -> int:
    return stat.S_IMODE(path.stat().st_mode)


@pytest.mark.usefixtures("lax_umask")
async def test_the_database_file_and_its_wal_and_shm_are_the_owners_alone(tmp_path: Path) -> None:
    path = tmp_path / "var" / "caseroute.db"
    db = Database(f"sqlite+aiosqlite:///{path}")
    try:
        async with db.transaction() as session:  # WAL mode: the write creates -wal and -shm beside the file
            await session.execute(text("CREATE TABLE t (secret TEXT)"))
            await session.execute(text("INSERT INTO t VALUES ('13812345678')"))
        files = [path, path.with_name("caseroute.db-wal"), path.with_name("caseroute.db-shm")]
        assert all(f.exists() for f in files)
        assert {f.name: oct(mode(f)) for f in files} == {f.name: "0o600" for f in files}
    finally:
        await db.dispose()


@pytest.mark.usefixtures("lax_umask")
async def test_a_file_left_world_readable_is_tightened_at_start(tmp_path: Path) -> None:
    path = tmp_path / "old.db"
    path.touch(mode=0o644)
    path.chmod(0o644)
    db = Database(f"sqlite+aiosqlite:///{path}")
    try:
        async with db.transaction() as session:
            await session.execute(text("SELECT 1"))
        assert oct(mode(path)) == "0o600"
    finally:
        await db.dispose()
