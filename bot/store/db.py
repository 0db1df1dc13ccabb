"""The engine, sessions and schema upgrades for SQLite (embedded) and PostgreSQL (production)."""

from __future__ import annotations

import asyncio
import math
import sqlite3
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from alembic import command
from alembic.config import Config
from sqlalchemy import event, text
from sqlalchemy.engine import URL, Connection
from sqlalchemy.ext.asyncio import AsyncEngine, async_sessionmaker, create_async_engine
from sqlalchemy.ext.asyncio import AsyncSession as AsyncSession  # re-exported for callers
from sqlalchemy.pool import NullPool

MIGRATIONS = Path(__file__).resolve().parent / "migrations"

# Any constant works; it only has to be the same for every Hali process sharing one database.
_MIGRATION_LOCK_KEY = 0x4A411


@dataclass(frozen=True)
class StoreTimeouts:
    """How long the store may take, in seconds, before the caller is told it did not answer.

    `statement` None leaves statements unbounded (schema upgrades: they may wait for another process's).
    """

    connect: float = 3.0
    statement: float | None = 5.0
    pool: float = 3.0


def make_engine(url: str, *, timeouts: StoreTimeouts | None = None, **kwargs: Any) -> AsyncEngine:
    """An async engine with the settings each backend needs for concurrent use, every wait bounded."""
    timeouts = timeouts or StoreTimeouts()
    # A failing statement's error text would otherwise list its values (chat ids, report texts), and
    # logs are outside /forget and retention. The drivers' own text is kept out by bot/logs.py.
    kwargs.setdefault("hide_parameters", True)
    connect_args: dict[str, Any] = dict(kwargs.pop("connect_args", {}))
    if url.startswith("sqlite"):
        # A file shared by the bot and the CLI: WAL lets readers go on while one writer commits, and the
        # busy timeout makes a second writer wait, a bounded time, instead of failing at once.
        busy = timeouts.statement if timeouts.statement is not None else 30.0
        connect_args.setdefault("timeout", busy)
        if ":memory:" not in url:
            kwargs.setdefault("pool_timeout", timeouts.pool)
        engine = create_async_engine(url, connect_args=connect_args, **kwargs)

        @event.listens_for(engine.sync_engine, "connect")
        def _sqlite_pragmas(dbapi_conn: Any, _record: Any) -> None:
            cursor = dbapi_conn.cursor()
            if ":memory:" not in url:
                cursor.execute("PRAGMA journal_mode=WAL")
            cursor.execute("PRAGMA foreign_keys=ON")
            cursor.execute(f"PRAGMA busy_timeout={int(busy * 1000)}")
            cursor.execute("PRAGMA synchronous=NORMAL")
            cursor.close()

        return engine
    kwargs.setdefault("pool_pre_ping", True)
    if kwargs.get("poolclass") is not NullPool:
        kwargs.setdefault("pool_timeout", timeouts.pool)
    statement_ms = int(timeouts.statement * 1000) if timeouts.statement is not None else 0
    if url.startswith("postgresql+psycopg"):
        connect_args.setdefault("connect_timeout", max(1, math.ceil(timeouts.connect)))
        connect_args.setdefault("options", f"-c statement_timeout={statement_ms}")
    else:
        connect_args.setdefault("timeout", timeouts.connect)
        # The server cancels a slow statement (a lock held, a large scan); the client gives up a second
        # later on a server or network that does not answer at all.
        connect_args.setdefault("server_settings", {"statement_timeout": str(statement_ms)})
        if timeouts.statement is not None:
            connect_args.setdefault("command_timeout", timeouts.statement + 1)
    return create_async_engine(url, connect_args=connect_args, **kwargs)


def insert_ignore(dialect: str, table: Any) -> Any:
    """INSERT … ON CONFLICT DO NOTHING, in the given dialect."""
    if dialect == "postgresql":
        from sqlalchemy.dialects.postgresql import insert as pg_insert

        return pg_insert(table).on_conflict_do_nothing()
    from sqlalchemy.dialects.sqlite import insert as sqlite_insert

    return sqlite_insert(table).on_conflict_do_nothing()


def make_sessionmaker(engine: AsyncEngine) -> async_sessionmaker[AsyncSession]:
    return async_sessionmaker(engine, expire_on_commit=False)


def alembic_config(url: str | None = None) -> Config:
    cfg = Config()
    cfg.set_main_option("script_location", str(MIGRATIONS))
    if url:
        cfg.set_main_option("sqlalchemy.url", url.replace("%", "%%"))
    return cfg


async def upgrade_schema(engine: AsyncEngine, revision: str = "head") -> None:
    """Create or migrate the schema; safe when several processes start at once."""
    if engine.dialect.name == "sqlite":
        await asyncio.to_thread(_can_open, engine.url)
    if engine.dialect.name != "postgresql":
        async with engine.begin() as conn:
            await conn.run_sync(_upgrade, revision)
        return
    # Its own connection without the statement bound: it may wait for another process's upgrade, and a
    # migration's statements may take longer than any answer should.
    unbounded = make_engine(engine.url.render_as_string(hide_password=False), poolclass=NullPool,
                            timeouts=StoreTimeouts(statement=None))
    try:
        async with unbounded.begin() as conn:
            await conn.execute(text("SELECT pg_advisory_xact_lock(:k)"), {"k": _MIGRATION_LOCK_KEY})
            await conn.run_sync(_upgrade, revision)
    finally:
        await unbounded.dispose()


def _can_open(url: URL) -> None:
    """Open the SQLite file once without aiosqlite: when that fails, aiosqlite's thread outlives the event
    loop and prints a traceback after the error has been reported."""
    database = url.database or ""
    if not database or database == ":memory:" or url.query.get("uri"):
        return
    sqlite3.connect(database).close()


def _upgrade(connection: Connection, revision: str) -> None:
    cfg = alembic_config()
    cfg.attributes["connection"] = connection
    command.upgrade(cfg, revision)


async def current_revision(engine: AsyncEngine) -> str | None:
    from alembic.runtime.migration import MigrationContext

    def _current(connection: Connection) -> str | None:
        return MigrationContext.configure(connection).get_current_revision()

    async with engine.connect() as conn:
        return await conn.run_sync(_current)


__all__ = [
    "AsyncSession",
    "NullPool",
    "StoreTimeouts",
    "alembic_config",
    "current_revision",
    "insert_ignore",
    "make_engine",
    "make_sessionmaker",
    "upgrade_schema",
]


def rowcount(result: object) -> int:
    """How many rows an UPDATE or DELETE touched (`Result.rowcount`, which the async typing hides)."""
    return int(getattr(result, "rowcount", 0) or 0)
