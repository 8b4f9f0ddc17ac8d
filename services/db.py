"""Database engine and sessions (asyncpg on PostgreSQL, aiosqlite for the embedded mode).

What differs between the two lives here, so handlers and stores run the same code on both:
- row locks: statements say `with_for_update()` (`skip_locked=True` where another replica's rows are skipped);
  SQLite's dialect leaves the clause out, as its one writer at a time makes it needless;
- named locks across replicas: `Database.lock_transaction` for a transaction, `Database.session_lock` for as
  long as a connection lives (PostgreSQL advisory locks; nothing to take on SQLite, where one process writes);
- 64-bit ids: `BigId` (BIGINT on PostgreSQL, INTEGER on SQLite, whose autoincrementing rowid must be INTEGER);
- insert-on-conflict: `dialect_insert`, the ON CONFLICT clauses both databases spell alike;
- hot reads: `Database.fetch` runs one Core statement on asyncpg (PostgreSQL) or a SQLAlchemy connection (SQLite)
  and hands back the same rows.
"""

from __future__ import annotations

import asyncio
import logging
import os
import ssl
from collections.abc import AsyncIterator, Callable, Mapping
from contextlib import asynccontextmanager
from datetime import UTC, datetime
from functools import cache, lru_cache
from pathlib import Path
from typing import Any

import asyncpg
import orjson
from sqlalchemy import (
    BigInteger,
    DateTime,
    Dialect,
    Insert,
    Integer,
    Table,
    TypeDecorator,
    event,
    func,
    insert,
    select,
    text,
)
from sqlalchemy.dialects.postgresql import Insert as PgInsert
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import Insert as SqliteInsert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.engine import ExceptionContext, make_url
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine, AsyncSession, async_sessionmaker, create_async_engine
from sqlalchemy.orm import DeclarativeBase, Session
from sqlalchemy.sql import Select

log = logging.getLogger(__name__)


class Base(DeclarativeBase):
    """Declarative base; each service's tables carry its name as prefix and it alone writes them."""


# 64-bit ids on PostgreSQL; on SQLite only an INTEGER primary key is the autoincrementing rowid.
BigId = BigInteger().with_variant(Integer, "sqlite")


def is_sqlite(url: str) -> bool:
    return make_url(url).get_backend_name() == "sqlite"


async def lock_transaction(executor: AsyncSession | AsyncConnection, name: str, *, wait: bool = True) -> bool:
    """`Database.lock_transaction` for code that holds a session or connection but not its Database."""
    bind = executor.get_bind() if isinstance(executor, AsyncSession) else executor
    if bind.dialect.name == "sqlite":
        return True
    lock = func.pg_advisory_xact_lock if wait else func.pg_try_advisory_xact_lock
    taken = (await executor.execute(select(lock(func.hashtext(name))))).scalar()
    return wait or bool(taken)


def _sqlite_pragmas(dbapi_connection: Any, _record: Any) -> None:
    cursor = dbapi_connection.cursor()
    # WAL lets the API read while consumers write; busy_timeout waits instead of failing on a lock.
    cursor.execute("PRAGMA journal_mode=WAL")
    cursor.execute("PRAGMA busy_timeout=10000")
    cursor.execute("PRAGMA synchronous=NORMAL")
    cursor.close()


def private_sqlite_file(path: Path) -> None:
    """Create the database file readable and writable by its owner only (0600), before SQLite opens it: it
    holds reporters' names and phones and webhook secrets. SQLite creates the -wal and -shm files with the
    database file's permissions; files left by an earlier, laxer start are tightened too."""
    path.parent.mkdir(parents=True, exist_ok=True)
    os.close(os.open(path, os.O_RDWR | os.O_CREAT, 0o600))  # the umask can only take bits away from 0600
    for file in (path, path.with_name(f"{path.name}-wal"), path.with_name(f"{path.name}-shm")):
        if file.exists():
            file.chmod(0o600)


TlsOption = ssl.SSLContext | str | bool | None


def postgres_tls(sslmode: str | None, rootcert: Path | None = None, cert: Path | None = None,
                 key: Path | None = None) -> TlsOption:
    """asyncpg's `ssl` argument for libpq-style settings: verify-ca/verify-full check the server's certificate."""
    if sslmode is None:
        return None
    if sslmode == "disable":
        return False
    if sslmode in ("allow", "prefer", "require") and rootcert is None and cert is None:
        return sslmode
    if sslmode not in ("allow", "prefer", "require", "verify-ca", "verify-full"):
        raise ValueError(f"unknown sslmode {sslmode!r}")
    context = ssl.create_default_context(cafile=str(rootcert) if rootcert else None)
    # verify-ca trusts the certificate chain but not the name in it; require checks neither (libpq semantics).
    context.check_hostname = sslmode == "verify-full"
    if sslmode in ("allow", "prefer", "require") and rootcert is None:
        context.verify_mode = ssl.CERT_NONE
    if cert is not None:
        context.load_cert_chain(str(cert), str(key) if key else None)
    return context


def make_engine(url: str, *, pool_size: int = 10, tls: TlsOption = None) -> AsyncEngine:
    """Engine for a URL; SQLite files get their folder created, owner-only permissions and WAL mode."""
    if is_sqlite(url):
        database = make_url(url).database
        if database and database != ":memory:":
            private_sqlite_file(Path(database))
        engine = create_async_engine(url, connect_args={"timeout": 10})
        event.listen(engine.sync_engine, "connect", _sqlite_pragmas)
        return engine
    engine = create_async_engine(
        url,
        # JSONB documents (reports, decisions, case states) written and read by orjson: the stdlib encoder
        # was a visible share of the consumers' CPU per case.
        json_serializer=_json_dumps,
        json_deserializer=orjson.loads,
        pool_size=pool_size,
        max_overflow=pool_size,
        # No pre-ping: on asyncpg it is BEGIN, a ping and ROLLBACK before every transaction, three round
        # trips and a visible share of each consumer's CPU per batch. A connection the server dropped fails
        # its first statement instead; _lost_connection marks that a disconnect, so the pool replaces every
        # connection older than it and the caller's retry (consumers) or 503 (intake) takes a fresh one.
        pool_pre_ping=False,
        pool_recycle=1800,
        pool_timeout=5,
        connect_args={"timeout": 5, "command_timeout": 30, **({} if tls is None else {"ssl": tls})},
    )
    event.listen(engine.sync_engine, "handle_error", _lost_connection)
    return engine


# What a pooled connection raises once the server has gone away under it (InternalClientError: used before
# asyncpg noticed the loss, "cannot switch to state ...").
_CONNECTION_LOST = (OSError, asyncpg.InterfaceError, asyncpg.PostgresConnectionError,
                    asyncpg.OperatorInterventionError, asyncpg.exceptions.InternalClientError)


_QUEUED_INSERTS = "queued_inserts"


def table_of(model: type) -> Table:
    """The Core table of a mapped class, for the hot statements that skip the ORM's unit of work."""
    table = model.__table__  # type: ignore[attr-defined]  # set by the declarative mapping
    assert isinstance(table, Table)
    return table


def dialect_insert(session: AsyncSession, table: Any) -> PgInsert | SqliteInsert:
    """An INSERT with the ON CONFLICT clauses of the session's database: PostgreSQL's, or SQLite's in the
    embedded mode (the two spell them alike)."""
    return insert_for(dialect_of(session), table)


def dialect_of(session: AsyncSession) -> str:
    """The name of the session's database dialect ("postgresql" or "sqlite"): the key of statements built once
    per dialect (an ON CONFLICT upsert costs more to build than to run)."""
    return session.get_bind().dialect.name


def insert_for(dialect: str, table: Any) -> PgInsert | SqliteInsert:
    """dialect_insert by the dialect's name, for statements built once (functools.cache) per dialect."""
    return sqlite_insert(table) if dialect == "sqlite" else pg_insert(table)


def insert_at_commit(session: AsyncSession, table: Table, row: dict[str, Any]) -> None:
    """Queue a row for `table`, inserted with the rest of its table's queue in one statement at commit.

    For append-only rows nothing in the transaction reads back (outbox events, timelines): a Core executemany
    costs a fraction of the ORM's unit of work with its RETURNING of generated keys. Rows keep the order
    queued, and are inserted after the session's pending ORM objects.
    """
    session.info.setdefault(_QUEUED_INSERTS, {}).setdefault(table, []).append(row)


def _insert_queued(session: Session) -> None:
    queued = session.info.pop(_QUEUED_INSERTS, {})
    if queued:
        session.flush()  # the ORM's pending rows first: queued rows may refer to them (foreign keys)
    for table, rows in queued.items():
        session.execute(_insert_of(table), rows)


@cache
def _insert_of(table: Table) -> Insert:
    """A table's plain INSERT, built once (tables live as long as the process)."""
    return insert(table)


def _drop_queued(session: Session) -> None:
    session.info.pop(_QUEUED_INSERTS, None)


def _lost_connection(context: ExceptionContext) -> None:
    """Count asyncpg's ways of saying "the server is gone" as disconnects, which SQLAlchemy's own test misses."""
    original = context.original_exception
    cause = getattr(original, "__cause__", None)
    if isinstance(original, _CONNECTION_LOST) or isinstance(cause, _CONNECTION_LOST):
        context.is_disconnect = True


@lru_cache(maxsize=64)
def _asyncpg_statement(statement: Select[Any], dialect: Dialect) -> tuple[str, list[tuple[str, Any]]]:
    """A statement as asyncpg runs it ($1, $2, ...), compiled once, with its parameters in that order and the
    values the statement itself gives some of them (JSON keys, patterns)."""
    compiled = statement.compile(dialect=dialect)
    values = {name: bind.effective_value for bind, name in compiled.bind_names.items()}
    return compiled.string, [(name, values.get(name)) for name in compiled.positiontup or ()]


def _json_dumps(value: Any) -> str:
    return orjson.dumps(value, option=orjson.OPT_NON_STR_KEYS).decode()


class SessionLock:
    """A lock taken by `Database.session_lock`, held while its connection lives."""

    def __init__(self, conn: AsyncConnection | None, name: str) -> None:
        self._conn, self.name = conn, name

    async def check(self, statement: Select[Any] | None = None) -> bool | None:
        """Raise if the lock's connection is gone (and the lock with it). With a `statement` (a yes/no question
        such as "does the outbox hold rows?"), it is the read that tells, and its answer is returned; None when
        nothing was asked or there is no connection (SQLite)."""
        if self._conn is None:
            return None
        answer = (await self._conn.execute(statement if statement is not None else select(1))).scalar()
        return bool(answer) if statement is not None else None

    async def release(self) -> None:
        """Let go of the lock and discard its connection; quiet when the connection is gone already."""
        conn, self._conn = self._conn, None
        if conn is None:
            return
        try:
            # Closing an AsyncConnection only hands it back to the pool, where its session, and the session's
            # advisory lock, would live on: another replica could not take over. Unlock, then discard it.
            await conn.execute(select(func.pg_advisory_unlock(func.hashtext(self.name))))
        except Exception as exc:  # the connection is gone already, and the lock with it
            log.debug("session lock %s unlock: %r", self.name, exc)
        finally:
            try:
                await conn.invalidate()
            except Exception as exc:
                log.debug("session lock %s close: %r", self.name, exc)


class Database:
    """One engine and session factory per process, made in the lifespan, never at import."""

    def __init__(self, url: str, *, pool_size: int = 10, tls: TlsOption = None) -> None:
        self.url = url
        self.tls = tls
        self.pool_size = pool_size
        self.engine = make_engine(url, pool_size=pool_size, tls=tls)
        self._reads: asyncpg.Pool | None = None  # fetch()'s pool, opened on first use
        self._reads_lock = asyncio.Lock()
        # A session class of our own, so commit listeners (the outbox relay's wake-up) stay per database.
        self.session_class: type[Session] = type("CaserouteSession", (Session,), {})
        self.sessions = async_sessionmaker(self.engine, expire_on_commit=False, sync_session_class=self.session_class)
        event.listen(self.session_class, "before_commit", _insert_queued)
        event.listen(self.session_class, "after_rollback", _drop_queued)

    def on_commit(self, callback: Callable[[Session], None]) -> None:
        """Call `callback(session)` after every commit of this database's sessions."""
        event.listen(self.session_class, "after_commit", callback)

    @property
    def sqlite(self) -> bool:
        return is_sqlite(self.url)

    async def lock_transaction(self, executor: AsyncSession | AsyncConnection, name: str, *, wait: bool = True
                               ) -> bool:
        """Take the lock `name` until `executor`'s transaction ends, across replicas (a PostgreSQL advisory lock);
        with `wait` off, False at once when another transaction holds it. On SQLite one process writes: True."""
        return await lock_transaction(executor, name, wait=wait)

    async def session_lock(self, name: str, *, settings: Mapping[str, int] | None = None) -> SessionLock | None:
        """Take the lock `name` for as long as the returned hold lives, across replicas: a PostgreSQL advisory lock
        on a connection of its own outside any transaction (set up with `settings`, e.g. TCP keepalives, so a
        dead holder's lock is let go); None at once when another holds it. On SQLite one process writes: a hold
        of nothing, always given."""
        if self.sqlite:
            return SessionLock(None, name)
        conn = await self.engine.connect()
        try:
            conn = await conn.execution_options(isolation_level="AUTOCOMMIT")  # no transaction left open
            for setting, value in (settings or {}).items():
                await conn.execute(text(f"SET {setting} = {int(value)}"))
            got = bool((await conn.execute(select(func.pg_try_advisory_lock(func.hashtext(name))))).scalar())
        except BaseException:
            await conn.close()
            raise
        if not got:
            await conn.close()
            return None
        return SessionLock(conn, name)

    @asynccontextmanager
    async def transaction(self) -> AsyncIterator[AsyncSession]:
        """A session inside one transaction: committed on success, rolled back on error."""
        async with self.sessions() as session, session.begin():
            yield session

    async def fetch(self, statement: Select[Any], **params: Any) -> list[dict[str, Any]]:
        """The rows of a hot read as dicts, alike on both databases: on PostgreSQL straight on asyncpg, on SQLite
        through a SQLAlchemy connection.

        For the few reads whose cost is SQLAlchemy rather than the query: its execution layer (~0.7 ms of CPU a
        statement) and BEGIN/ROLLBACK are most of the CPU of a one-row read. The statement is compiled for
        PostgreSQL once and run on a small asyncpg pool of its own, outside any transaction; a connection lost
        (a database restart) is replaced and the read tried once more. Values come back as asyncpg gives them,
        without the column types' processing: select text, numbers, booleans and timestamps (aware on both),
        and cast JSON documents to Text.
        """
        if self.sqlite:
            async with self.engine.connect() as conn:
                return [dict(row) for row in (await conn.execute(statement, params)).mappings()]
        sql, literals = _asyncpg_statement(statement, self.engine.dialect)
        args = [params[name] if name in params else value for name, value in literals]
        for attempt in (1, 2):
            pool = self._reads or await self._open_reads()
            try:
                return [dict(row) for row in await pool.fetch(sql, *args)]
            except _CONNECTION_LOST:
                if attempt == 2:
                    raise
                await pool.expire_connections()  # the others were cut too: open new ones as they are needed
        raise AssertionError("unreachable")

    async def _open_reads(self) -> asyncpg.Pool:
        async with self._reads_lock:
            if self._reads is None:
                dsn = make_url(self.url).set(drivername="postgresql").render_as_string(hide_password=False)
                self._reads = await asyncpg.create_pool(dsn, min_size=1, max_size=self.pool_size, timeout=5,
                                                        command_timeout=30,
                                                        **({} if self.tls is None else {"ssl": self.tls}))
        return self._reads

    async def ping(self) -> bool:
        try:
            async with self.engine.connect() as conn:
                await conn.execute(text("SELECT 1"))
            return True
        except Exception:
            return False

    async def dispose(self) -> None:
        if self._reads is not None:
            await self._reads.close()
            self._reads = None
        await self.engine.dispose()


def json_type() -> Any:
    """JSON documents: JSONB on PostgreSQL (indexable), JSON text on SQLite."""
    from sqlalchemy import JSON
    from sqlalchemy.dialects.postgresql import JSONB

    return JSON().with_variant(JSONB(), "postgresql")


class UtcDateTime(TypeDecorator[datetime]):
    """Timestamps stored as UTC and read back timezone-aware, on SQLite as on PostgreSQL."""

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is not None and value.tzinfo is None:
            raise ValueError("naive datetime: caseroute stores aware timestamps only")
        return value.astimezone(UTC) if value is not None else None

    def process_result_value(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is not None and value.tzinfo is None:
            return value.replace(tzinfo=UTC)
        return value
