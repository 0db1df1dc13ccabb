"""What a log may say about a failed statement: its kind, its SQL and the schema objects, never its values.

SQLAlchemy's error text lists the bound parameters (the engines hide them: bot/store/db.py), but the
drivers quote values too: PostgreSQL's DETAIL ("Key (chat_id)=(…) already exists", "Failing row contains
(…)"), its data errors ('invalid input syntax for type integer: "…"'), asyncpg's "invalid input for query
argument $1: '…'". A description keeps PostgreSQL's primary message only for the classes of SQLSTATE whose
messages name tables, columns and constraints, and SQLite's messages, which do the same.
"""

from __future__ import annotations

import sqlite3

from sqlalchemy.exc import EmulatedDBAPIException, StatementError

# 08 connection, 23 integrity, 25 transaction state, 40 rollback, 42 syntax or access, 53 resources,
# 55 object state, 57 operator intervention (statement timeout, shutdown).
_NAMING_CLASSES = frozenset({"08", "23", "25", "40", "42", "53", "55", "57"})


def describe(exc: BaseException) -> str | None:
    """The error's text without the values it may quote, or None when it is not a database error."""
    if isinstance(exc, StatementError):
        orig = exc.orig
        text = f"({_name(orig)}) {_driver(orig)}" if orig is not None else type(exc).__name__
        return f"{text}\n[SQL: {exc.statement}]" if exc.statement else text
    if _is_driver_error(exc):
        return _driver(exc)
    return None


def _is_driver_error(exc: BaseException) -> bool:
    return isinstance(exc, sqlite3.Error | EmulatedDBAPIException) or _sqlstate(exc) is not None


def _driver(exc: BaseException) -> str:
    if isinstance(exc, sqlite3.Error):
        return str(exc)
    sqlstate = _sqlstate(exc)
    if sqlstate is None:
        return "(message hidden: it may quote values)"
    primary = _primary_message(exc)
    if primary and sqlstate[:2] in _NAMING_CLASSES:
        return f"{primary} [SQLSTATE {sqlstate}]"
    return f"[SQLSTATE {sqlstate}; message hidden: it may quote values]"


def _sqlstate(exc: BaseException) -> str | None:
    code = getattr(exc, "sqlstate", None) or getattr(exc, "pgcode", None)
    return code if isinstance(code, str) and len(code) == 5 else None


def _primary_message(exc: BaseException) -> str | None:
    """PostgreSQL's one-line message, without DETAIL, HINT or the statement's position."""
    inner = getattr(exc, "orig", None)  # SQLAlchemy's asyncpg adapter wraps asyncpg's own error
    for candidate in (exc, inner):
        message = getattr(candidate, "message", None)  # asyncpg
        if isinstance(message, str):
            return message
        diag = getattr(candidate, "diag", None)  # psycopg
        primary = getattr(diag, "message_primary", None)
        if isinstance(primary, str):
            return primary
    return None


def _name(exc: BaseException) -> str:
    kind = type(exc)
    return f"{kind.__module__}.{kind.__qualname__}"
