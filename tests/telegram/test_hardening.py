"""Bad input and faults through the strict fake Bot API: what a citizen or a group member cannot break."""

from __future__ import annotations

from sqlalchemy import select

from bot.store.models import ReportFlowRow, ReportRow
from tests.telegram.conftest import Harness
from tests.telegram.test_reports import assert_nothing_rejected, edited

ALICE = 1001


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
