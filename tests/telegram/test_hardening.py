"""Bad input and faults through the strict fake Bot API: what a citizen or a group member cannot break."""

from __future__ import annotations

from typing import Any

from sqlalchemy import select

from bot.store.models import ReportFlowRow, ReportRow
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
