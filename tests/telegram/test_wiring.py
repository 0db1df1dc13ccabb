"""Features meeting each other: report follow-ups through the outbox, dependency news, operators' commands."""

from __future__ import annotations

from typing import Any

import pytest
from sqlalchemy import select

from bot.catalog.model import Text
from bot.core.notifications import Decision, Event, EventKind, WatchState
from bot.core.recipient import Recipient
from bot.core.status import EffectiveStatus, State
from bot.core.watcher import StatusWatcher
from bot.render.checks import dependency_wording
from bot.store.models import DeliveryRow, NotificationEventRow, ReportRow
from tests.telegram.conftest import Harness, button_data
from tests.telegram.test_alerts import deliver
from tests.telegram.test_reports import assert_nothing_rejected, walk

ALICE = 3001
JUMA = 3002
OTHER = 3003


async def reported_chat_ids(hali: Harness) -> list[int | None]:
    async with hali.store.sessions() as session:
        return list((await session.scalars(select(ReportRow.chat_id).order_by(ReportRow.id))).all())


async def report(hali: Harness, chat_id: int, service: str, *, swahili: bool = False) -> None:
    """A citizen reports `service` through the flow and asks to be told when it works again."""
    kwargs = {"language_code": "sw"} if swahili else {}
    symptom = await hali.command(chat_id, "report", service, **kwargs)
    answer = await walk(hali, chat_id, symptom, "polepole" if swahili else "Very slow", None,
                        "Ndiyo" if swahili else "Yes, tell me", **kwargs)
    assert "R-" in (answer.plain_text or "")


async def test_an_operator_resolve_sends_one_follow_up_in_the_reporters_language(hali: Harness) -> None:
    incident = await hali.store.open_incident("kra", State.MAJOR_OUTAGE, Text("iTax is down"), actor="cli")
    await report(hali, JUMA, "kra", swahili=True)
    await hali.command(JUMA, "subscribe", "kra", language_code="sw")  # also a subscriber
    await hali.command(OTHER, "subscribe", "kra")
    assert await reported_chat_ids(hali) == [JUMA]
    before = len(hali.api.messages_to(JUMA))

    await hali.store.resolve_incident(incident, actor="cli", message=Text("Fixed"))
    await deliver(hali)

    received = hali.api.messages_to(JUMA)[before:]
    assert len(received) == 1, [r.plain_text for r in received]
    text = received[0].plain_text or ""
    assert "KRA iTax: huduma inafanya kazi tena" in text
    assert "R-" in text, "the follow-up names the report"
    assert "KRA iTax is working again" in (hali.api.messages_to(OTHER)[-1].plain_text or "")
    assert await reported_chat_ids(hali) == [None], "the chat id is dropped once the message is queued"

    await deliver(hali)
    assert len(hali.api.messages_to(JUMA)) == before + 1, "exactly once"

    await hali.store.outbox.purge(days=30)
    async with hali.store.sessions() as session:
        kinds = (await session.scalars(select(NotificationEventRow.kind))).all()
        assert "report_follow_up" not in kinds, "the link between chat and report is dropped once sent"
        assert "resolved" in kinds


async def test_the_watcher_seeing_the_service_back_queues_the_follow_up_in_english(hali: Harness) -> None:
    await report(hali, ALICE, "sha")
    hali.clock.advance(minutes=30)
    before = len(hali.api.messages_to(ALICE))
    now = hali.clock()

    def back(previous: WatchState | None, status: EffectiveStatus) -> Decision:
        event = None
        if status.service_id == "sha":
            event = Event(0, "sha", EventKind.CHANGED, State.OPERATIONAL, now, previous_state=State.DEGRADED)
        return Decision(WatchState(status.service_id, State.OPERATIONAL, now), event)

    statuses = [EffectiveStatus("sha", State.OPERATIONAL, None, None)]
    await hali.store.watch_states.watch(statuses, back)
    assert await reported_chat_ids(hali) == [None]
    async with hali.store.sessions() as session:
        [delivery] = (await session.scalars(select(DeliveryRow).where(DeliveryRow.address == str(ALICE)))).all()
        assert delivery.language == "en"
    await deliver(hali)
    [message] = hali.api.messages_to(ALICE)[before:]
    assert "is working again" in (message.plain_text or "") and "R-" in (message.plain_text or "")


async def test_a_follow_up_waits_for_the_reporters_quiet_hours(hali: Harness) -> None:
    await report(hali, ALICE, "kra")
    await hali.command(ALICE, "quiet", "0-23")
    incident = await hali.store.open_incident("kra", State.DEGRADED, Text("Slow"), actor="cli")
    await hali.store.resolve_incident(incident, actor="cli")
    before = len(hali.api.messages_to(ALICE))
    await deliver(hali)
    assert len(hali.api.messages_to(ALICE)) == before, "held until the quiet hours end"
    assert await reported_chat_ids(hali) == [None]
    hali.clock.advance(hours=24)
    await deliver(hali)
    assert "working again" in (hali.api.messages_to(ALICE)[-1].plain_text or "")


# --- dependency news --------------------------------------------------------------------------------


def watcher_for(hali: Harness) -> StatusWatcher:
    board = hali.app.bot_data["hali"].engine.board
    return StatusWatcher(board, hali.store.watch_states, settle=120, clock=hali.clock, wording=dependency_wording)


async def test_an_mpesa_problem_is_news_for_ntsa_subscribers_once_each_worded_as_such(hali: Harness) -> None:
    await hali.command(ALICE, "subscribe", "ntsa")
    await hali.command(ALICE, "subscribe", "all")  # follows NTSA twice over
    await hali.command(JUMA, "subscribe", "ntsa", language_code="sw")
    await hali.command(OTHER, "subscribe", "sha")  # SHA does not depend on M-Pesa
    watcher, replica = watcher_for(hali), watcher_for(hali)
    assert await watcher.tick() == [] and await replica.tick() == []
    counts = {chat: len(hali.api.messages_to(chat)) for chat in (ALICE, JUMA, OTHER)}

    incident = await hali.store.open_incident("mpesa", State.MAJOR_OUTAGE, Text("M-Pesa down"), actor="cli")
    created = await watcher.tick()
    assert await replica.tick() == [], "a second watcher does not tell it again"
    assert await watcher.tick() == []
    events = await hali.store.outbox.events(created)
    assert sorted(e.service_id for e in events.values() if e.kind is EventKind.DEPENDENCY) == \
        sorted(s.id for s in (await hali.store.catalog()).services if "mpesa" in s.depends_on)
    await deliver(hali, passes=15)  # ALICE follows "all": one message per dependent, a second apart

    alice = [m.plain_text or "" for m in hali.api.messages_to(ALICE)[counts[ALICE]:]]
    news = [m for m in alice if "payments may fail" in m]
    assert news == ["NTSA services (formerly TIMS): payments may fail because M-Pesa (Safaricom) has a problem "
                    "(Major outage). NTSA services (formerly TIMS) itself is not reported down."], \
        "one message, for the service followed directly; following all brings M-Pesa's own news instead"
    juma = [m.plain_text or "" for m in hali.api.messages_to(JUMA)[counts[JUMA]:]]
    assert len(juma) == 1 and "M-Pesa" in juma[0] and "NTSA" in juma[0] and "payments" not in juma[0], juma
    assert len(hali.api.messages_to(OTHER)) == counts[OTHER]

    await hali.store.resolve_incident(incident, actor="cli")
    ended = await watcher.tick()
    assert len([e for e in (await hali.store.outbox.events(ended)).values()
                if e.service_id == "ntsa" and e.kind is EventKind.DEPENDENCY]) == 1
    await deliver(hali, passes=15)
    assert len(hali.api.messages_to(JUMA)) == counts[JUMA] + 2
    assert "NTSA services (formerly TIMS): the problem with M-Pesa (Safaricom) is over; payments should work " \
        "again." in [m.plain_text for m in hali.api.messages_to(ALICE)]


# --- the report's subscribe offer ------------------------------------------------------------------


async def test_a_report_offers_to_follow_the_service_and_the_button_keeps_the_reference(hali: Harness) -> None:
    symptom = await hali.command(ALICE, "report", "kra")
    answer = await walk(hali, ALICE, symptom, "Very slow", None, "No")
    assert button_data(answer, "Notify me") == "n:kra"
    text = answer.plain_text or ""
    records = await hali.tap(ALICE, answer, "Notify me")
    assert await hali.store.subscriptions.following(Recipient.telegram(ALICE)) == ["kra"]
    [flipped] = [r for r in records if r.method == "editMessageReplyMarkup"]
    assert button_data(flipped, "Stop notifications") == "x:kra"
    assert button_data(flipped, "Status of") == "s:kra"
    assert not [r for r in records if r.method == "editMessageText"], "the reference stays on screen"
    assert "R-" in text

    again = await hali.command(ALICE, "report", "kra")
    answer = await walk(hali, ALICE, again, "Very slow", None, "No")
    assert button_data(answer, "Stop notifications") == "x:kra"
    records = await hali.tap(ALICE, answer, "Stop notifications")
    assert await hali.store.subscriptions.following(Recipient.telegram(ALICE)) == []
    assert_nothing_rejected(hali.api)


async def test_a_swahili_report_offers_the_button_in_swahili(hali: Harness) -> None:
    symptom = await hali.command(JUMA, "report", "sha", language_code="sw")
    answer = await walk(hali, JUMA, symptom, "polepole", None, "Hapana", language_code="sw")
    assert button_data(answer, "Nijulishe") == "n:sha"


# --- operators' /who and /reports --------------------------------------------------------------------

OPERATOR = 5001


@pytest.fixture
def settings_overrides() -> dict[str, Any]:
    return {"admin_ids": frozenset({OPERATOR})}


async def test_who_counts_followers_per_service_without_chat_ids(hali: Harness) -> None:
    await hali.command(ALICE, "subscribe", "kra")
    await hali.command(JUMA, "subscribe", "kra")
    await hali.command(JUMA, "subscribe", "all")
    await hali.command(OTHER, "subscribe", "sha")
    await hali.command(OTHER, "unsubscribe", "sha")  # follows nothing now: not counted
    reply = await hali.command(OPERATOR, "who")
    text = reply.plain_text or ""
    assert "2 chats get alerts." in text
    assert "• Every service: 1" in text and "• KRA iTax: 2" in text and "SHA" not in text
    assert str(ALICE) not in text and str(JUMA) not in text
    sw = await hali.command(OPERATOR, "who", language_code="sw")
    assert "• KRA iTax: 2" in (sw.plain_text or "") and "chats" not in (sw.plain_text or "")


async def test_reports_summarises_citizens_reports_escaped_in_the_operators_language(hali: Harness) -> None:
    await report(hali, ALICE, "kra")
    await report(hali, JUMA, "kra", swahili=True)
    reply = await hali.command(OPERATOR, "reports")
    text = reply.plain_text or ""
    assert "Reports in the last 24 hours" in text
    assert "KRA iTax: 2 reports (2 counted, 0 flagged as suspicious)" in text and "• Very slow: 2" in text
    assert len(text) <= 4096
    one = await hali.command(OPERATOR, "reports", "sha 2")
    assert "No reports in the last 2 hours." in (one.plain_text or "")
    sw = await hali.command(OPERATOR, "reports", language_code="sw")
    assert "Inakwenda polepole sana: 2" in (sw.plain_text or "")
    bad = await hali.command(OPERATOR, "reports", "<b>nosuch")
    assert "/reports kra 6" in (bad.plain_text or "")
    assert_nothing_rejected(hali.api)


async def test_citizens_sending_who_or_reports_get_the_unknown_command_answer(hali: Harness) -> None:
    unknown = await hali.command(CITIZEN, "nosuchcommand")
    for command in ("who", "reports"):
        reply = await hali.command(CITIZEN, command)
        assert reply.plain_text == unknown.plain_text and reply.reply_markup is None


CITIZEN = 1001


async def test_the_welcome_says_what_is_kept_now_that_alerts_and_reports_exist(hali: Harness) -> None:
    welcome = (await hali.command(ALICE, "start")).plain_text or ""
    assert "the alerts you ask for, to send them" in welcome and "your reports, to warn others" in welcome
    assert "Details in /privacy" in welcome and "keeps only" not in welcome
    for command in ("/subscribe", "/alerts", "/report"):
        assert command in welcome
    sw = (await hali.command(JUMA, "start", language_code="sw")).plain_text or ""
    assert "ripoti zako, ili kuwaonya wengine" in sw and "Maelezo katika /privacy" in sw
