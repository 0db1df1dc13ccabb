"""The follow-up messages the outbox will deliver when a reported service works again."""

from __future__ import annotations

from bot.catalog.loader import load_catalog
from bot.core.clock import FrozenClock
from bot.core.reports import ReportDraft
from bot.core.understanding import Symptom
from bot.services.follow_ups import report_follow_ups
from bot.store.repo import Store
from bot.store.reports import ReportStore


async def test_reporters_who_asked_get_one_message_in_their_language_and_only_once(
    store: Store, clock: FrozenClock
) -> None:
    reports = ReportStore(store, secret="k" * 32)
    first = await reports.submit(ReportDraft("kra", Symptom.LOGIN_OTP, None, 11, "sw", True))
    await reports.submit(ReportDraft("kra", Symptom.SLOW, None, 12, "en", False))
    second = await reports.submit(ReportDraft("kra", Symptom.SLOW, None, 13, "en", True))
    clock.advance(hours=2)
    messages = await report_follow_ups(reports, load_catalog(), "kra", clock())
    by_chat = {m.chat_id: m for m in messages}
    assert set(by_chat) == {11, 13}
    assert "KRA iTax: huduma inafanya kazi tena" in by_chat[11].reply.plain
    assert f"({first.reference})" in by_chat[11].reply.plain
    assert "KRA iTax is working again" in by_chat[13].reply.plain
    assert f"({second.reference})" in by_chat[13].reply.plain
    assert await report_follow_ups(reports, load_catalog(), "kra", clock()) == []
