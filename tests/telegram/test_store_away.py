"""When the store is away: citizens are still answered, from memory, and told plainly what was not saved.

The store is made to fail where a real outage shows, under the queries: every statement the engine
sends fails as a refused connection does (both stores), or, on PostgreSQL, the database stops taking
connections and the bot's are cut.
"""

from __future__ import annotations

import logging
from collections.abc import Iterator
from typing import Any

import pytest
from sqlalchemy import event
from sqlalchemy.exc import OperationalError

from bot.core.recipient import Recipient
from bot.store.repo import Store
from tests.conftest import _admin
from tests.telegram.conftest import Harness

ALICE = 3001
JUMA = 3002


class StoreSwitch:
    """Every statement on the store's engine fails as a database out of reach does, while `away`."""

    def __init__(self, store: Store) -> None:
        self.engine = store.engine.sync_engine
        self.away = False
        event.listen(self.engine, "before_cursor_execute", self._statement)

    def _statement(self, conn: Any, cursor: Any, statement: str, *args: Any) -> None:
        if self.away:
            raise OperationalError(statement, None, ConnectionRefusedError(111, "Connection refused"))

    def close(self) -> None:
        event.remove(self.engine, "before_cursor_execute", self._statement)


@pytest.fixture
def switch(hali: Harness) -> Iterator[StoreSwitch]:
    # The board asks the store again at once once it is back, rather than 5 s later.
    hali.app.bot_data["hali"].engine.board.retry_after = 0
    s = StoreSwitch(hali.store)
    yield s
    s.away = False
    s.close()


def board(hali: Harness) -> Any:
    return hali.app.bot_data["hali"].engine.board


async def test_a_status_question_is_answered_from_the_last_snapshot_with_its_age(
        hali: Harness, switch: StoreSwitch) -> None:
    first = await hali.say(ALICE, "is ecitizen down?")
    assert "As of 09:40 EAT" in (first.plain_text or "")

    hali.clock.advance(minutes=5)
    switch.away = True
    card = await hali.say(ALICE, "is ecitizen down?")
    text = card.plain_text or ""
    assert "eCitizen" in text
    assert "Hali cannot reach its records just now: this is the state as of 09:40 EAT (5 minutes ago)." in text
    assert "As of" not in text
    sw = await hali.say(JUMA, "ecitizen iko down?")
    assert ("Hali haiwezi kufikia kumbukumbu zake kwa sasa: taarifa hii ni ya saa 09:40 EAT "
            "(dakika 5 zilizopita).") in (sw.plain_text or "")
    overview = await hali.command(ALICE, "status")
    assert "as of 09:40 EAT (5 minutes ago)" in (overview.plain_text or "")

    switch.away = False
    hali.clock.advance(minutes=1)
    fresh = await hali.say(ALICE, "is ecitizen down?")
    assert "As of 09:46 EAT" in (fresh.plain_text or "")
    assert "cannot reach" not in (fresh.plain_text or "")


async def test_without_any_snapshot_a_question_is_told_to_try_again_in_a_few_minutes(
        hali: Harness, switch: StoreSwitch) -> None:
    switch.away = True
    reply = await hali.say(ALICE, "is ecitizen down?")
    assert reply.plain_text == "Hali cannot reach its records just now; try again in a few minutes."
    sw = await hali.say(JUMA, "ecitizen iko down?", language_code="sw")
    assert sw.plain_text == "Hali haiwezi kufikia kumbukumbu zake kwa sasa; jaribu tena baada ya dakika chache."


async def test_changes_the_store_does_not_confirm_are_told_not_saved_and_nothing_stays(
        hali: Harness, switch: StoreSwitch) -> None:
    await hali.say(ALICE, "is kra down?")  # the bot has a snapshot, as a running bot does
    switch.away = True
    not_saved = "Sorry, Hali could not save that just now, and nothing was changed. Please try again in a minute."
    for command, args in (("subscribe", "kra"), ("unsubscribe", "all"), ("quiet", "22-6"), ("report", "kra")):
        reply = await hali.command(ALICE, command, args)
        assert reply.plain_text == not_saved, command
    reply = await hali.say(JUMA, "Nifahamishe ecitizen ikirudi", language_code="sw")
    assert reply.plain_text == ("Samahani, Hali haikuweza kuhifadhi hilo sasa hivi, na hakuna "
                                "kilichobadilishwa. Tafadhali jaribu tena baada ya dakika moja.")
    menu = await hali.command(ALICE, "language")
    records = await hali.tap(ALICE, menu, "Kiswahili")
    answers = [r for r in records if r.method == "answerCallbackQuery"]
    assert [(a.text, a.show_alert) for a in answers] == [(not_saved, True)]
    assert not [r for r in records if r.method == "editMessageText"]
    assert not any("Sorry, something went wrong" in (r.text or "") for r in hali.api.sent)

    switch.away = False
    assert await hali.store.subscriptions.following(Recipient.telegram(ALICE)) == []
    assert await hali.store.subscriptions.following(Recipient.telegram(JUMA)) == []
    assert (await hali.store.chat(ALICE)).language is None
    reply = await hali.command(ALICE, "subscribe", "kra")
    assert "Hali will tell you when KRA iTax goes down" in (reply.plain_text or "")
    assert await hali.store.subscriptions.following(Recipient.telegram(ALICE)) == ["kra"]


async def test_the_poller_answers_from_memory_once_each_and_the_inbox_takes_over_when_back(
        hali: Harness, switch: StoreSwitch, caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.INFO, logger="bot.telegram.inbox")
    await hali.say(ALICE, "is kra down?")
    switch.away = True
    for question in ("is ecitizen down?", "is ntsa down?", "is sha down?"):
        reply = await hali.say(ALICE, question)
        assert "as of 09:40 EAT" in (reply.plain_text or "")
    assert hali.front.poller.degraded
    switch.away = False
    reply = await hali.say(ALICE, "is kra down?")
    assert "As of 09:40 EAT" in (reply.plain_text or "")
    assert not hali.front.poller.degraded

    # Six questions, six answers: none twice (those answered from memory were confirmed to Telegram).
    await hali.say(ALICE, "thanks")
    assert len(hali.api.messages_to(ALICE)) == 6
    records = [r for r in caplog.records if r.name == "bot.telegram.inbox"]
    assert [r.levelname for r in records if "did not keep" in r.getMessage()] == ["WARNING"]
    assert [r.levelname for r in records if "keeps updates again" in r.getMessage()] == ["INFO"]


async def test_on_postgresql_a_database_that_refuses_connections_still_gets_answers(
        hali: Harness, switch: StoreSwitch) -> None:
    if hali.store.engine.dialect.name != "postgresql":
        pytest.skip("PostgreSQL only: SQLite has no connections to refuse")
    name = hali.store.engine.url.database
    await hali.say(ALICE, "is ecitizen down?")
    hali.clock.advance(minutes=2)
    await _admin(f'ALTER DATABASE "{name}" ALLOW_CONNECTIONS false')
    try:
        await _admin(f"SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = '{name}'")
        card = await hali.say(ALICE, "is ecitizen down?")
        assert "this is the state as of 09:40 EAT (2 minutes ago)." in (card.plain_text or "")
        reply = await hali.command(ALICE, "subscribe", "ecitizen")
        assert "could not save that just now" in (reply.plain_text or "")
        assert hali.front.poller.degraded
    finally:
        await _admin(f'ALTER DATABASE "{name}" ALLOW_CONNECTIONS true')
    reply = await hali.command(ALICE, "subscribe", "ecitizen")
    assert "Hali will tell you when eCitizen goes down" in (reply.plain_text or "")
    assert not hali.front.poller.degraded
