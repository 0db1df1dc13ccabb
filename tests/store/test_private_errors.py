"""A failing statement leaves no personal data in the log: neither its bound values nor the driver's quotes."""

from __future__ import annotations

import io
import logging
from collections.abc import AsyncIterator

import pytest
from sqlalchemy import insert
from sqlalchemy.exc import DBAPIError

from bot.logs import PrivateFormatter
from bot.store.models import ReportRow, UserRow
from bot.store.repo import Store

CHAT_ID = 987654321
REPORTER_KEY = "reporterkey" + "ab" * 10
TEXT = "my M-Pesa was taken twice, call me"


def _logged(exc: BaseException) -> str:
    """What `hali run` writes when a handler logs the error with its traceback."""
    out = io.StringIO()
    handler = logging.StreamHandler(out)
    handler.setFormatter(PrivateFormatter("%(levelname)s %(name)s: %(message)s"))
    log = logging.getLogger("tests.private_errors")
    log.addHandler(handler)
    log.propagate = False
    try:
        log.error("a statement failed", exc_info=exc)
    finally:
        log.removeHandler(handler)
    return out.getvalue()


async def _failure(store: Store, statement: object, values: dict[str, object]) -> DBAPIError:
    with pytest.raises(DBAPIError) as caught:
        async with store.engine.begin() as conn:
            await conn.execute(statement, values)  # type: ignore[call-overload]
    return caught.value


def _assert_private(text: str) -> None:
    for value in (str(CHAT_ID), REPORTER_KEY, TEXT):
        assert value not in text


async def test_a_failing_report_insert_logs_neither_chat_id_key_nor_text(store: Store) -> None:
    values = {"reference": "R1", "service_id": "no-such-service", "symptom": "payment", "text": TEXT,
              "reporter_key": REPORTER_KEY, "chat_id": CHAT_ID, "hour": 1}
    exc = await _failure(store, insert(ReportRow), values)  # a foreign key the store refuses

    _assert_private(str(exc))  # SQLAlchemy's own text: parameters hidden
    logged = _logged(exc)
    _assert_private(logged)
    assert "IntegrityError" in logged and "INSERT INTO reports" in logged  # still says what failed


async def test_a_duplicate_chat_is_logged_without_the_drivers_detail(store: Store) -> None:
    async with store.engine.begin() as conn:
        await conn.execute(insert(UserRow), {"chat_id": CHAT_ID})
    exc = await _failure(store, insert(UserRow), {"chat_id": CHAT_ID})

    logged = _logged(exc)
    _assert_private(logged)  # PostgreSQL's DETAIL would say: Key (chat_id)=(…) already exists
    assert "users" in logged


@pytest.fixture
async def pg_store(postgres_url: str) -> AsyncIterator[Store]:
    s = Store.from_url(postgres_url)
    await s.upgrade()
    yield s
    await s.close()


async def test_a_value_postgresql_refuses_is_not_quoted_in_the_log(pg_store: Store) -> None:
    exc = await _failure(pg_store, insert(UserRow), {"chat_id": TEXT})  # asyncpg quotes what it refused

    assert TEXT in str(exc.orig)  # the driver's own text does quote it
    logged = _logged(exc)
    assert TEXT not in logged
    assert "SQLSTATE" in logged
