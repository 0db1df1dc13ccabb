"""Operators post incidents and maintenance from Telegram; nobody else learns the commands exist."""

from __future__ import annotations

from typing import Any

import pytest

from bot.catalog.model import Text
from bot.core.status import Source, State
from bot.services.sources import make_board
from hali_dev.botapi import SentRecord
from tests.telegram.conftest import Harness, button_data, buttons

OPERATOR = 5001  # may edit everything
NTSA_OPERATOR = 5002  # may edit NTSA only
CITIZEN = 1001


@pytest.fixture
def settings_overrides() -> dict[str, Any]:
    return {"admin_ids": frozenset({OPERATOR, NTSA_OPERATOR}),
            "operator_scopes": {NTSA_OPERATOR: frozenset({"ntsa"})}}


def edited(records: list[SentRecord]) -> SentRecord:
    [record] = [r for r in records if r.method == "editMessageText"]
    return record


def answer(records: list[SentRecord]) -> SentRecord:
    [record] = [r for r in records if r.method == "answerCallbackQuery"]
    return record


def labels(record: SentRecord) -> list[str]:
    return [b["text"] for b in buttons(record)]


async def open_incident_flow(hali: Harness, user: int = OPERATOR, **kw: Any) -> SentRecord:
    menu = await hali.command(user, "incident", **kw)
    step = edited(await hali.tap(user, menu, "KRA iTax", **kw))
    step = edited(await hali.tap(user, step, "Major outage" if not kw else "Haipatikani", **kw))
    return step


async def test_an_operator_opens_an_incident_step_by_step(hali: Harness) -> None:
    menu = await hali.command(OPERATOR, "incident")
    assert "New incident" in menu.plain_text and "Which service?" in menu.plain_text
    assert "KRA iTax" in labels(menu) and "Cancel" in labels(menu)
    severity = edited(await hali.tap(OPERATOR, menu, "KRA iTax"))
    assert "KRA iTax: how bad is it?" in severity.plain_text
    ask_title = edited(await hali.tap(OPERATOR, severity, "Major outage"))
    assert "title in English" in ask_title.plain_text

    ask_sw = await hali.say(OPERATOR, "iTax <down> for everyone")
    assert "Kiswahili" in ask_sw.plain_text and "Skip" in labels(ask_sw)
    ask_message = await hali.say(OPERATOR, "iTax haipatikani")
    assert "in English" in ask_message.plain_text
    # The message skipped, its Kiswahili step is not asked.
    ask_workaround = edited(await hali.tap(OPERATOR, ask_message, "Skip"))
    assert "meanwhile" in ask_workaround.plain_text and "in English" in ask_workaround.plain_text
    ask_workaround_sw = await hali.say(OPERATOR, "Pay at a bank")
    assert "Kiswahili" in ask_workaround_sw.plain_text and "Skip" in labels(ask_workaround_sw)
    confirm = await hali.say(OPERATOR, "Lipa benki")
    assert "Title (English): iTax <down> for everyone" in confirm.plain_text
    assert "&lt;down&gt;" in (confirm.text or "")
    assert "State: Major outage" in confirm.plain_text and "Pay at a bank" in confirm.plain_text
    assert "What citizens can do (Kiswahili): Lipa benki" in confirm.plain_text

    done = edited(await hali.tap(OPERATOR, confirm, "Publish"))
    [incident] = await hali.store.incidents(open_only=True)
    assert f"incident #{incident.id} is open" in done.plain_text
    assert (incident.service_id, incident.state) == ("kra", State.MAJOR_OUTAGE)
    assert incident.title == Text("iTax <down> for everyone", "iTax haipatikani")
    assert incident.workaround == Text("Pay at a bank", "Lipa benki") and incident.latest_message is None
    [audit] = [a for a in await hali.store.audit_log() if a.action == "incident.open"]
    assert audit.actor == f"telegram:{OPERATOR}" and audit.after is not None and audit.after["service"] == "kra"

    card = await hali.say(CITIZEN, "is itax working?")
    assert "KRA iTax: Major outage" in card.plain_text and "Pay at a bank" in card.plain_text


async def test_the_flow_speaks_the_operators_language(hali: Harness) -> None:
    menu = await hali.command(OPERATOR, "incident", language_code="sw")
    assert "Tukio jipya" in menu.plain_text
    step = edited(await hali.tap(OPERATOR, menu, "KRA iTax", language_code="sw"))
    assert "KRA iTax: tatizo ni kubwa kiasi gani?" in step.plain_text


async def test_a_citizen_gets_the_ordinary_unknown_command_answer(hali: Harness) -> None:
    unknown = await hali.command(CITIZEN, "nosuchcommand")
    for command in ("incident", "update", "resolve", "maintenance", "cancel"):
        reply = await hali.command(CITIZEN, command)
        assert reply.plain_text == unknown.plain_text
        assert reply.reply_markup is None
    assert await hali.store.incidents() == []


async def test_a_citizen_pressing_an_operator_button_gets_expired(hali: Harness) -> None:
    menu = await hali.command(OPERATOR, "incident")
    records = await hali.press(CITIZEN, button_data(menu, "KRA iTax"), menu.message_id or 0)
    assert "expired" in (answer(records).text or "")


async def test_an_ntsa_operator_sees_and_edits_only_ntsa(hali: Harness) -> None:
    menu = await hali.command(NTSA_OPERATOR, "incident")
    assert [x for x in labels(menu) if x != "Cancel"] == ["NTSA services (formerly TIMS)"]
    # A forged button for another service is refused.
    token = button_data(menu, "NTSA").split(":")[1]
    records = await hali.press(NTSA_OPERATOR, f"op:{token}:0:kra", menu.message_id or 0)
    assert "expired" in (answer(records).text or "")
    # Incidents of other services are not offered for /update or /resolve.
    await hali.store.open_incident("kra", State.DEGRADED, Text("slow"), actor="cli")
    reply = await hali.command(NTSA_OPERATOR, "resolve")
    assert "no open incident you may edit" in reply.plain_text


async def test_a_draft_survives_an_unrelated_question_and_a_stale_button_is_expired(hali: Harness) -> None:
    menu = await hali.command(OPERATOR, "incident")
    severity = edited(await hali.tap(OPERATOR, menu, "KRA iTax"))
    card = await hali.command(OPERATOR, "status", "sha")  # something else in between
    assert "Social Health Authority" in card.plain_text
    # The service buttons belong to the previous step now.
    records = await hali.press(OPERATOR, button_data(menu, "SHA"), menu.message_id or 0)
    assert "expired" in (answer(records).text or "")
    ask_title = edited(await hali.tap(OPERATOR, severity, "Degraded"))
    assert "title in English" in ask_title.plain_text


async def test_a_question_while_a_button_is_awaited_is_answered_as_usual(hali: Harness) -> None:
    menu = await hali.command(OPERATOR, "incident")
    reply = await hali.say(OPERATOR, "is sha down?")
    assert "Social Health Authority" in reply.plain_text
    assert "how bad is it?" in edited(await hali.tap(OPERATOR, menu, "KRA iTax")).plain_text


async def test_cancel_drops_the_draft(hali: Harness) -> None:
    step = await open_incident_flow(hali)
    reply = await hali.command(OPERATOR, "cancel")
    assert "Cancelled" in reply.plain_text
    reply = await hali.say(OPERATOR, "Payments failing")  # no longer a title: an ordinary question
    assert "title" not in reply.plain_text.lower()
    records = await hali.press(OPERATOR, button_data(step, "Cancel"), step.message_id or 0)
    assert "expired" in (answer(records).text or "")
    assert await hali.store.incidents() == []


async def test_the_cancel_button_drops_the_draft(hali: Harness) -> None:
    menu = await hali.command(OPERATOR, "incident")
    assert "Cancelled" in edited(await hali.tap(OPERATOR, menu, "Cancel")).plain_text
    assert "nothing to cancel" in (await hali.command(OPERATOR, "cancel")).plain_text


async def test_a_draft_times_out(hali: Harness) -> None:
    step = await open_incident_flow(hali)
    hali.clock.advance(minutes=16)
    reply = await hali.say(OPERATOR, "Payments failing")
    assert "Kiswahili" not in reply.plain_text
    records = await hali.press(OPERATOR, button_data(step, "Cancel"), step.message_id or 0)
    assert "expired" in (answer(records).text or "")


async def test_an_operator_updates_and_resolves_an_incident(hali: Harness) -> None:
    number = await hali.store.open_incident("sha", State.MAJOR_OUTAGE, Text("SHA down"), actor="cli")
    menu = await hali.command(OPERATOR, "update")
    status = edited(await hali.tap(OPERATOR, menu, "SHA down"))
    assert "Keep: Major outage" in labels(status)
    ask = edited(await hali.tap(OPERATOR, status, "Partial outage"))
    ask_sw = await hali.say(OPERATOR, "Claims work again; registration still fails")
    confirm = edited(await hali.tap(OPERATOR, ask_sw, "Skip"))
    assert "Claims work again" in confirm.plain_text
    assert f"Incident #{number} is updated" in edited(await hali.tap(OPERATOR, confirm, "Publish")).plain_text
    incident = await hali.store.incident(number)
    assert incident.state is State.PARTIAL_OUTAGE and incident.latest_message is not None
    assert ask.message_id == menu.message_id

    menu = await hali.command(OPERATOR, "resolve")
    ask = edited(await hali.tap(OPERATOR, menu, "SHA down"))
    assert "closing message for citizens in English" in ask.plain_text
    ask_sw = await hali.say(OPERATOR, "All working")
    confirm = await hali.say(OPERATOR, "Kila kitu kinafanya kazi")
    assert "Message (Kiswahili): Kila kitu kinafanya kazi" in confirm.plain_text and ask_sw.chat_id == OPERATOR
    assert "resolved" in edited(await hali.tap(OPERATOR, confirm, "Publish")).plain_text
    resolved = await hali.store.incident(number)
    assert not resolved.is_open
    assert resolved.latest_message is not None
    assert resolved.latest_message.message == Text("All working", "Kila kitu kinafanya kazi")
    actions = [(a.action, a.actor) for a in await hali.store.audit_log()]
    assert ("incident.update", f"telegram:{OPERATOR}") in actions
    assert ("incident.resolve", f"telegram:{OPERATOR}") in actions


async def test_an_incident_message_is_asked_in_kiswahili_too_and_citizens_read_it(hali: Harness) -> None:
    ask_title = await open_incident_flow(hali)
    await hali.say(OPERATOR, "iTax down")
    ask_message = await hali.say(OPERATOR, "iTax haipatikani")
    assert "message for citizens in English" in ask_message.plain_text
    ask_message_sw = await hali.say(OPERATOR, "Engineers are on it")
    assert "same text in Kiswahili" in ask_message_sw.plain_text and ask_title.chat_id == OPERATOR
    ask_workaround = await hali.say(OPERATOR, "Wahandisi wanashughulikia")
    confirm = edited(await hali.tap(OPERATOR, ask_workaround, "Skip"))
    assert "Message (Kiswahili): Wahandisi wanashughulikia" in confirm.plain_text
    edited(await hali.tap(OPERATOR, confirm, "Publish"))
    [incident] = await hali.store.incidents(open_only=True)
    assert incident.latest_message is not None and incident.workaround is None
    assert incident.latest_message.message == Text("Engineers are on it", "Wahandisi wanashughulikia")
    card = await hali.say(CITIZEN, "itax inafanya kazi?", language_code="sw")
    assert "Wahandisi wanashughulikia" in card.plain_text and "(kwa Kiingereza)" not in card.plain_text


async def test_publishing_a_resolved_incident_changes_nothing(hali: Harness) -> None:
    number = await hali.store.open_incident("sha", State.DEGRADED, Text("SHA slow"), actor="cli")
    menu = await hali.command(OPERATOR, "resolve")
    ask = edited(await hali.tap(OPERATOR, menu, "SHA slow"))
    confirm = edited(await hali.tap(OPERATOR, ask, "Skip"))
    await hali.store.resolve_incident(number, actor="cli")  # someone else was quicker
    assert "Nothing was changed" in edited(await hali.tap(OPERATOR, confirm, "Publish")).plain_text


async def test_an_operator_plans_maintenance_and_citizens_see_it(hali: Harness) -> None:
    # The clock is Saturday 28 November 2026, 09:40 EAT.
    menu = await hali.command(OPERATOR, "maintenance")
    ask_start = edited(await hali.tap(OPERATOR, menu, "KRA iTax"))
    bad = await hali.say(OPERATOR, "next sunday")
    assert "could not read that time" in bad.plain_text and "2026-12-06 18:00" in bad.plain_text
    ask_end = await hali.say(OPERATOR, "2026-11-29 18:00")
    assert "When does it end?" in ask_end.plain_text
    ask_title = await hali.say(OPERATOR, "22:00")
    assert "title in English" in ask_title.plain_text
    ask_sw = await hali.say(OPERATOR, "iTax upgrade")
    confirm = await hali.say(OPERATOR, "Matengenezo ya iTax")
    assert "Sunday 29 November, 18:00" in confirm.plain_text
    published = edited(await hali.tap(OPERATOR, confirm, "Publish"))
    [window] = await hali.store.maintenance_windows()
    assert f"Maintenance window #{window.id} is planned" in published.plain_text
    assert ask_start.message_id == menu.message_id and ask_sw.chat_id == OPERATOR

    card = await hali.say(CITIZEN, "is itax working?")
    assert "Planned maintenance on Sunday 29 November, 18:00–22:00 EAT: iTax upgrade" in card.plain_text
    sw = await hali.say(CITIZEN + 1, "itax inafanya kazi?", language_code="sw")
    assert "Jumapili 29 Novemba, saa 18:00 hadi saa 22:00 EAT: Matengenezo ya iTax" in sw.plain_text

    hali.clock.advance(days=1, hours=-1)  # Sunday 08:40 EAT… then into the window
    hali.clock.advance(hours=10)
    status = (await make_board(hali.store, max_age=0).snapshot()).status("kra")
    assert (status.state, status.source) == (State.MAINTENANCE, Source.MAINTENANCE)
    card = await hali.say(CITIZEN, "is itax working?")
    assert "Under maintenance" in card.plain_text and "until 22:00 EAT: iTax upgrade" in card.plain_text
    [audit] = [a for a in await hali.store.audit_log() if a.action == "maintenance.schedule"]
    assert audit.actor == f"telegram:{OPERATOR}"
