"""Bad input and faults through the strict fake Bot API: what a citizen or a group member cannot break."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import select
from sqlalchemy.exc import OperationalError

from bot.core.board import StatusBoard
from bot.core.recipient import Recipient
from bot.i18n import translator
from bot.store.models import ReportFlowRow, ReportRow
from bot.store.reports import ReportStore
from bot.store.subscriptions import Subscriptions
from hali_dev.botapi import SentRecord
from tests.telegram.conftest import Harness
from tests.telegram.test_reports import assert_nothing_rejected, edited

ALICE = 1001
GROUP = -100555


async def test_control_characters_and_a_nul_in_the_details_never_fail_a_report(hali: Harness) -> None:
    symptom = await hali.command(ALICE, "report", "ecitizen")
    edited(await hali.tap(ALICE, symptom, "Payment failed"))
    ask = await hali.say(ALICE, "paid\x00 twice \x1b[2J\x1b]8;;http://evil.example/\x1b\\here\x1b]8;;\x1b\\\x07 😡")
    assert "works again" in ask.plain_text, "the details were kept and the flow moved on"
    async with hali.store.sessions() as session:
        flow = await session.get(ReportFlowRow, ALICE)
    assert flow is not None and flow.text == "paid twice here 😡"

    answer = edited(await hali.tap(ALICE, ask, "No, thanks"))
    assert "saved as R-" in (answer.plain_text or "")
    async with hali.store.sessions() as session:
        [row] = (await session.scalars(select(ReportRow))).all()
    assert row.text == "paid twice here 😡"
    assert_nothing_rejected(hali.api)


def _command_to(hali: Harness, chat_id: int, text: str) -> dict[str, Any]:
    name = text.split()[0]
    entity = {"type": "bot_command", "offset": 0, "length": len(name)}
    return hali.api.text_message(chat_id, text, entities=[entity], chat_type="supergroup", user_id=5)


async def test_in_a_group_commands_addressed_to_another_bot_are_ignored(hali: Harness) -> None:
    for text in ("/start@otherbot", "/help@OtherBot", "/frobnicate@otherbot", "/status@otherbot kra"):
        await hali.settled(_command_to(hali, GROUP, text))
    assert hali.api.messages_to(GROUP) == []

    unknown = await hali._expect_reply(GROUP, lambda: _command_to(hali, GROUP, "/frobnicate@Hali_Test_Bot"))
    assert "I do not know that command" in unknown.plain_text
    status = await hali._expect_reply(GROUP, lambda: _command_to(hali, GROUP, "/status@hali_test_bot kra"))
    assert "KRA iTax" in status.plain_text
    assert len(hali.api.messages_to(GROUP)) == 2


async def _group_command(hali: Harness, command: str, args: str = "", user_id: int = 5) -> SentRecord:
    return await hali._expect_reply(
        GROUP, lambda: hali.api.command(GROUP, command, args, chat_type="supergroup", user_id=user_id))


def _refused(records: list[SentRecord]) -> bool:
    [answer] = [r for r in records if r.method == "answerCallbackQuery"]
    return answer.show_alert is True and "Only the member who asked for this" in (answer.text or "") \
        and not [r for r in records if r.method != "answerCallbackQuery"]


async def test_in_a_group_only_the_asker_or_an_admin_can_erase_the_groups_data(hali: Harness) -> None:
    await _group_command(hali, "subscribe", "kra")
    confirm = await _group_command(hali, "forget")
    assert _refused(await hali.tap(GROUP, confirm, "Yes, erase it", user_id=6))
    assert _refused(await hali.tap(GROUP, confirm, "Cancel", user_id=6))
    assert await hali.store.user_data(GROUP) is not None
    assert await hali.store.subscriptions.is_subscribed(Recipient.telegram(GROUP), "kra")

    hali.api.set_member(GROUP, 7, "administrator")
    done = await hali.tap(GROUP, confirm, "Yes, erase it", user_id=7)
    assert any("Everything Hali kept about this chat is erased" in (r.plain_text or "") for r in done)
    assert not await hali.store.subscriptions.is_subscribed(Recipient.telegram(GROUP), "kra")

    confirm = await _group_command(hali, "forget")
    done = await hali.tap(GROUP, confirm, "Yes, erase it", user_id=5)
    assert any("erased" in (r.plain_text or "") for r in done), "the member who asked may"
    assert_nothing_rejected(hali.api)


async def test_in_a_group_only_the_asker_or_an_admin_can_change_language_or_alerts(hali: Harness) -> None:
    menu = await _group_command(hali, "language")
    assert _refused(await hali.tap(GROUP, menu, "Kiswahili", user_id=6))
    assert (await hali.store.user_data(GROUP)).language is None  # type: ignore[union-attr]
    await hali.tap(GROUP, menu, "Kiswahili", user_id=5)
    assert (await hali.store.user_data(GROUP)).language == "sw"  # type: ignore[union-attr]

    await _group_command(hali, "subscribe", "kra")
    alerts = await _group_command(hali, "alerts")
    records = await hali.tap(GROUP, alerts, "KRA", user_id=6)
    [answer] = [r for r in records if r.method == "answerCallbackQuery"]
    assert answer.show_alert and answer.text == translator("sw")._(
        "Only the member who asked for this, or a group admin, can use this button.")
    assert answer.text != "Only the member who asked for this, or a group admin, can use this button."
    assert await hali.store.subscriptions.is_subscribed(Recipient.telegram(GROUP), "kra")

    hali.api.set_member(GROUP, 8, "creator")
    await hali.tap(GROUP, alerts, "KRA", user_id=8)
    assert not await hali.store.subscriptions.is_subscribed(Recipient.telegram(GROUP), "kra")
    assert_nothing_rejected(hali.api)


async def test_in_a_private_chat_buttons_ask_nobody(hali: Harness) -> None:
    confirm = await hali.command(ALICE, "forget")
    await hali.tap(ALICE, confirm, "Yes, erase it")
    assert not [r for r in hali.api.requests if r.method.lower() == "getchatmember"]


async def test_a_store_that_drops_right_after_the_commit_still_gives_the_citizen_the_reference(
    hali: Harness, monkeypatch: pytest.MonkeyPatch
) -> None:
    symptom = await hali.command(ALICE, "report", "kra")
    ask = await walk_to_follow_up(hali, symptom)
    submit = ReportStore.submit

    async def gone(*args: object, **kwargs: object) -> None:
        raise OperationalError("SELECT", {}, ConnectionResetError("server closed the connection"))

    async def submit_then_drop(self: ReportStore, *args: Any, **kwargs: Any) -> Any:
        result = await submit(self, *args, **kwargs)
        monkeypatch.setattr(StatusBoard, "_build", gone)
        monkeypatch.setattr(Subscriptions, "is_subscribed", gone)
        return result

    monkeypatch.setattr(ReportStore, "submit", submit_then_drop)
    records = await hali.tap(ALICE, ask, "No, thanks")
    monkeypatch.undo()
    async with hali.store.sessions() as session:
        [row] = (await session.scalars(select(ReportRow))).all()
    answer = edited(records)
    assert f"Your report is saved as {row.reference}" in (answer.plain_text or "")
    assert not [r for r in hali.api.messages_to(ALICE) if "something went wrong" in (r.plain_text or "")]
    assert_nothing_rejected(hali.api)


async def walk_to_follow_up(hali: Harness, symptom: SentRecord) -> SentRecord:
    step = edited(await hali.tap(ALICE, symptom, "Very slow"))
    return edited(await hali.tap(ALICE, step, "Skip"))


@pytest.mark.parametrize("store_url", ["sqlite"], indirect=True)
async def test_forget_on_sqlite_leaves_no_erased_text_in_the_wal_file(hali: Harness) -> None:
    symptom = await hali.command(ALICE, "report", "kra")
    edited(await hali.tap(ALICE, symptom, "Very slow"))
    ask = await hali.say(ALICE, "zebracorn quagga itax inachelewa")
    edited(await hali.tap(ALICE, ask, "No, thanks"))
    wal = Path(hali.db_url.split("///", 1)[1] + "-wal")
    assert b"zebracorn" in _bytes(wal), "the test must see the text where it would stay"

    confirm = await hali.command(ALICE, "forget")
    await hali.tap(ALICE, confirm, "Yes, erase it")
    assert b"zebracorn" not in _bytes(wal)


def _bytes(path: Path) -> bytes:
    return path.read_bytes() if path.exists() else b""
