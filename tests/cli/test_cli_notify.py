"""`hali outbox`, `hali ask` for subscription requests, and the broadcast settings."""

from __future__ import annotations

import asyncio
import json

import pytest

from bot.config import ConfigError, Settings
from bot.store.budget import SenderBoard
from bot.store.inbox import Inbox
from bot.store.repo import Store
from tests.cli import run


def test_outbox_counts_each_incident_event(capsys: pytest.CaptureFixture[str]) -> None:
    assert run(capsys, "outbox")[1].strip() == "no notification events"
    code, out, _ = run(capsys, "incident", "open", "sha", "--status", "major_outage", "--title", "Down")
    assert code == 0 and out.strip().isdigit(), "the CLI's output is unchanged"
    run(capsys, "incident", "resolve", out.strip())
    code, out, _ = run(capsys, "outbox", "--json")
    rows = json.loads(out)
    assert code == 0
    assert [(r["kind"], r["state"], r["pending"], r["sent"]) for r in rows] == [
        ("resolved", "operational", 0, 0), ("opened", "major_outage", 0, 0)]
    code, out, _ = run(capsys, "outbox")
    assert "resolved" in out and "pending" in out


@pytest.mark.parametrize(
    ("text", "intent", "service", "says"),
    [
        ("Subscribe me to KRA alerts", "subscribe", "kra", "/subscribe kra"),
        ("Nifahamishe ecitizen ikirudi", "subscribe", "ecitizen", "/subscribe ecitizen"),
        ("unsubscribe sha", "unsubscribe", "sha", "Telegram"),
    ],
)
def test_ask_explains_how_to_subscribe_on_telegram(
    capsys: pytest.CaptureFixture[str], text: str, intent: str, service: str, says: str
) -> None:
    code, out, _ = run(capsys, "ask", text, "--json")
    answer = json.loads(out)
    assert code == 0
    assert (answer["intent"], answer["service"]) == (intent, service)
    assert says in answer["text"]


def test_dispatch_needs_a_token(capsys: pytest.CaptureFixture[str]) -> None:
    code, _, err = run(capsys, "dispatch")
    assert code == 2 and "TELEGRAM_BOT_TOKEN" in err


def test_broadcast_settings_default_to_telegrams_free_limit() -> None:
    settings = Settings.from_env({})
    assert (settings.broadcast_rate, settings.paid_broadcast, settings.settle_seconds) == (30, False, 120)
    paid = Settings.from_env({"HALI_PAID_BROADCAST": "1", "HALI_BROADCAST_RATE": "500"})
    assert (paid.broadcast_rate, paid.paid_broadcast) == (500, True)


@pytest.mark.parametrize(
    ("env", "names"),
    [
        ({"HALI_BROADCAST_RATE": "100"}, "HALI_PAID_BROADCAST=1"),
        ({"HALI_PAID_BROADCAST": "1", "HALI_BROADCAST_RATE": "5000"}, "HALI_BROADCAST_RATE"),
        ({"HALI_PAID_BROADCAST": "maybe"}, "HALI_PAID_BROADCAST"),
        ({"HALI_SETTLE_SECONDS": "-1"}, "HALI_SETTLE_SECONDS"),
    ],
)
def test_bad_broadcast_settings_name_the_variable(env: dict[str, str], names: str) -> None:
    with pytest.raises(ConfigError, match=names):
        Settings.from_env(env)


def test_sending_shows_what_the_budget_is_doing(capsys: pytest.CaptureFixture[str]) -> None:
    assert run(capsys, "services")[0] == 0  # the store made ready
    code, out, _ = run(capsys, "sending")
    assert code == 0 and "no process is sending" in out and "0 replies dropped" in out

    async def busy() -> None:
        store = Store.from_url(Settings.from_env().database_url)
        try:
            board = SenderBoard(store.sessions, store.engine.dialect.name, "bot:1", "bot", clock=store.clock)
            await board.beat(answers=120, notices=3000, paid=0, rate=29.1, sent=500, throttled=1, dropped=4)
            await Inbox(store).add(
                [{"update_id": 1, "message": {"chat": {"id": 5}}}])
        finally:
            await store.close()

    asyncio.run(busy())
    code, out, _ = run(capsys, "sending")
    assert code == 0
    assert "29.1 messages/s; waiting: 120 answers, 3000 notifications" in out
    assert "last hour: 500 sent, 1 answered 429, 4 replies dropped" in out
    assert "inbox: 1 updates waiting" in out
    data = json.loads(run(capsys, "sending", "--json")[1])
    assert data["last_hour"] == {"sent": 500, "throttled_429": 1, "replies_dropped": 4}
    assert data["senders"][0]["answers_waiting"] == 120 and data["limit_per_second"] == 30
