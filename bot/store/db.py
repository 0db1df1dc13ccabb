"""The engine, sessions and schema upgrades for SQLite (embedded) and PostgreSQL (production)."""

from __future__ import annotations

import asyncio
import sqlite3
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


def make_engine(url: str, **kwargs: Any) -> AsyncEngine:
    """An async engine with the settings each backend needs for concurrent use."""
    if url.startswith("sqlite"):
        # A file shared by the bot and the CLI: WAL lets readers go on while one writer commits,
        # and busy_timeout makes a second writer wait instead of failing at once.
        engine = create_async_engine(url, connect_args={"timeout": 30}, **kwargs)

        @event.listens_for(engine.sync_engine, "connect")
        def _sqlite_pragmas(dbapi_conn: Any, _record: Any) -> None:
            cursor = dbapi_conn.cursor()
            if ":memory:" not in url:
                cursor.execute("PRAGMA journal_mode=WAL")
            cursor.execute("PRAGMA foreign_keys=ON")
            cursor.execute("PRAGMA busy_timeout=30000")
            cursor.execute("PRAGMA synchronous=NORMAL")
            cursor.close()

        return engine
    kwargs.setdefault("pool_pre_ping", True)
    return create_async_engine(url, **kwargs)


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
    async with engine.begin() as conn:
        if conn.dialect.name == "postgresql":
            await conn.execute(text("SELECT pg_advisory_xact_lock(:k)"), {"k": _MIGRATION_LOCK_KEY})
        await conn.run_sync(_upgrade, revision)


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
    "alembic_config",
    "current_revision",
    "insert_ignore",
    "make_engine",
    "make_sessionmaker",
    "upgrade_schema",
]
