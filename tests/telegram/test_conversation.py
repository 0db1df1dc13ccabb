"""A citizen talks to the bot through the strict fake Bot API, in English and in Swahili."""

from __future__ import annotations

import asyncio
import os
import sys

import pytest

from bot.catalog.model import Text
from bot.core.clock import system_clock
from bot.core.status import State
from hali_dev.botapi import FakeBotAPI
from tests.telegram.conftest import Harness, button_data, buttons

ALICE = 1001
JUMA = 1002
GROUP = -100777


def assert_nothing_rejected(api: FakeBotAPI) -> None:
    rejected = [(r.method, r.description) for r in api.requests if not r.ok]
    assert rejected == []


async def test_start_welcomes_says_what_is_stored_and_lists_commands(hali: Harness) -> None:
    reply = await hali.command(ALICE, "start", first_name="Amina")
    assert "Hello Amina!" in reply.plain_text
    assert "chat id" in reply.plain_text and "/forget" in reply.plain_text
    assert "/status" in reply.plain_text and "/services" in reply.plain_text
    assert reply.parse_mode == "HTML"
    assert_nothing_rejected(hali.api)


async def test_start_speaks_swahili_to_a_swahili_telegram(hali: Harness) -> None:
    reply = await hali.command(JUMA, "start", first_name="Juma", language_code="sw")
    assert "Habari Juma!" in reply.plain_text
    assert "Faragha" in reply.plain_text


async def test_a_status_question_gets_the_card_with_incident_and_workarounds(hali: Harness) -> None:
    await hali.store.open_incident(
        "ecitizen", State.MAJOR_OUTAGE, Text("Payments failing", "Malipo yanakataa"), actor="cli",
        message=Text("Engineers are on it", "Wahandisi wanashughulikia"),
        workaround=Text("Pay at a Huduma Centre", "Lipa kwenye Kituo cha Huduma"),
    )
    hali.clock.advance(minutes=25)

    reply = await hali.say(ALICE, "Is eCitizen down?")
    text = reply.plain_text
    assert "eCitizen: Major outage" in text
    assert "Since 09:40 EAT, 25 minutes ago" in text
    assert "an official notice from the service provider" in text
    assert "Payments failing" in text and "Engineers are on it" in text
    assert "Pay at a Huduma Centre" in text
    assert "<b>eCitizen</b>" in (reply.text or "")
    assert button_data(reply, "Refresh") == "r:ecitizen"

    sw = await hali.say(JUMA, "kwani ecitizen imekufa tena?")
    assert "eCitizen: Haipatikani" in sw.plain_text
    assert "Tangu saa 09:40 EAT (dakika 25 zilizopita)" in sw.plain_text
    assert "Malipo yanakataa" in sw.plain_text and "Lipa kwenye Kituo cha Huduma" in sw.plain_text
    assert_nothing_rejected(hali.api)


async def test_nothing_known_is_said_honestly(hali: Harness) -> None:
    reply = await hali.say(JUMA, "NTSA inafanya kazi?")  # NTSA has no automatic check
    assert "Hakuna tatizo linalojulikana" in reply.plain_text
    assert "Hali haikagui huduma hii kiotomatiki" in reply.plain_text


async def test_english_only_operator_text_is_marked_in_a_swahili_reply(hali: Harness) -> None:
    await hali.store.open_incident("kra", State.DEGRADED, Text("iTax is slow"), actor="cli")
    reply = await hali.say(JUMA, "itax iko sawa saa hii ama bado iko chini?")
    assert "iTax is slow (kwa Kiingereza)" in reply.plain_text


async def test_refresh_edits_the_card_and_skips_an_identical_edit(hali: Harness) -> None:
    card = await hali.say(ALICE, "is ntsa working?")
    records = await hali.tap(ALICE, card, "Refresh")
    assert [r.method for r in records] == ["answerCallbackQuery"]
    assert records[0].params.get("text") == "Already up to date."

    await hali.store.open_incident("ntsa", State.PARTIAL_OUTAGE, Text("Smart DL renewals fail"), actor="cli")
    records = await hali.tap(ALICE, card, "Refresh")
    edits = [r for r in records if r.method == "editMessageText"]
    assert len(edits) == 1 and "Partial outage" in (edits[0].plain_text or "")
    assert hali.api.current_text(ALICE, card.message_id or 0) == edits[0].plain_text
    assert_nothing_rejected(hali.api)


async def test_workaround_question_gets_the_ways_round(hali: Harness) -> None:
    reply = await hali.say(JUMA, "Nawezaje kulipa KRA kama ecitizen iko down?")
    assert "njia mbadala" in reply.plain_text
    assert "benki" in reply.plain_text.lower()


async def test_a_typo_still_finds_the_service(hali: Harness) -> None:
    reply = await hali.say(ALICE, "is e-citzen working")
    assert "eCitizen" in reply.plain_text
    assert buttons(reply)


async def test_sheria_is_ambiguous_and_the_bot_asks_which(hali: Harness) -> None:
    reply = await hali.say(ALICE, "sheria")
    assert "more than one thing" in reply.plain_text
    assert any(b["callback_data"] == "s:brs" for b in buttons(reply))
    records = await hali.tap(ALICE, reply, "Business")
    edits = [r for r in records if r.method == "editMessageText"]
    assert edits and "Business Registration" in (edits[0].plain_text or "")


async def test_status_without_a_service_lists_problems_then_everyone_else(hali: Harness) -> None:
    await hali.store.open_incident("sha", State.MAJOR_OUTAGE, Text("SHA systems down"), actor="cli")
    reply = await hali.command(ALICE, "status")
    assert "1 service has a problem" in reply.plain_text
    assert "Social Health Authority" in reply.plain_text or "SHA" in reply.plain_text
    assert "All others: no problems known." in reply.plain_text


async def test_status_with_an_argument_and_a_typo(hali: Harness) -> None:
    reply = await hali.command(ALICE, "status", "itaxx")
    assert "KRA iTax" in reply.plain_text
    reply = await hali.command(ALICE, "status", "nhif")
    assert "Social Health Authority" in reply.plain_text or "SHA" in reply.plain_text
    reply = await hali.command(ALICE, "status", "qwertyuiop")
    assert buttons(reply), "an unknown name must still offer a way on"


async def test_services_lists_all_sixteen_in_one_message(hali: Harness) -> None:
    reply = await hali.command(JUMA, "services", language_code="sw")
    catalog = await hali.store.catalog()
    for service in catalog.services:
        assert service.name.get("sw") in reply.plain_text
    assert len(reply.plain_text) <= 4096
    assert "Malipo" in reply.plain_text


async def test_language_choice_is_stored_and_wins_over_the_message_language(hali: Harness) -> None:
    menu = await hali.command(ALICE, "language")
    records = await hali.tap(ALICE, menu, "Kiswahili")
    assert any("nitakujibu kwa Kiswahili" in (r.plain_text or "") for r in records)
    assert await hali.store.user_language(ALICE) == "sw"
    reply = await hali.say(ALICE, "Is iTax working?")
    assert "Hakuna tatizo linalojulikana" in reply.plain_text


async def test_privacy_and_forget_erase_everything_after_confirmation(hali: Harness) -> None:
    await hali.command(ALICE, "language")
    await hali.store.set_language(ALICE, "en")
    privacy = await hali.command(ALICE, "privacy")
    assert "your language choice: English" in privacy.plain_text

    confirm = await hali.command(ALICE, "forget")
    assert await hali.store.user_data(ALICE) is not None
    records = await hali.tap(ALICE, confirm, "Yes")
    assert any("erased" in (r.plain_text or "") for r in records)
    assert await hali.store.user_data(ALICE) is None


async def test_forget_can_be_cancelled(hali: Harness) -> None:
    confirm = await hali.command(ALICE, "forget")
    records = await hali.tap(ALICE, confirm, "Cancel")
    assert any("Nothing was erased" in (r.plain_text or "") for r in records)
    assert await hali.store.user_data(ALICE) is not None


async def test_in_a_group_it_answers_only_when_addressed(hali: Harness) -> None:
    hali.api.group_message(GROUP, "is ecitizen down?")
    reply = await hali._expect_reply(GROUP, lambda: hali.api.group_message(GROUP, "is kra down?",
                                                                           mention_bot=True))
    assert "KRA iTax" in reply.plain_text
    assert len(hali.api.messages_to(GROUP)) == 1

    reply = await hali._expect_reply(
        GROUP, lambda: hali.api.group_message(GROUP, "na ntsa je?", reply_to_message=reply.message_id))
    assert "NTSA" in reply.plain_text

    hali.api.command(GROUP, "nosuchcommand", chat_type="supergroup", user_id=5)
    reply = await hali._expect_reply(
        GROUP, lambda: hali.api.command(GROUP, "status", "kra", mention_bot=True, chat_type="supergroup",
                                        user_id=5))
    assert "KRA iTax" in reply.plain_text
    assert len(hali.api.messages_to(GROUP)) == 3


@pytest.mark.parametrize("kind", ["sticker", "photo", "voice"])
async def test_non_text_messages_get_a_short_answer(hali: Harness, kind: str) -> None:
    reply = await hali._expect_reply(ALICE, lambda: getattr(hali.api, kind)(ALICE))
    assert "only read text" in reply.plain_text


async def test_an_edited_message_is_not_answered_twice(hali: Harness) -> None:
    first = await hali.say(ALICE, "is kra down?")
    incoming = [m for m in hali.api.requests if m.method == "getUpdates"]
    assert incoming
    hali.api.edited_message(ALICE, (first.message_id or 2) - 1, "is ntsa down?")
    await hali.command(ALICE, "help")
    assert len(hali.api.messages_to(ALICE)) == 2


async def test_unknown_commands_get_help(hali: Harness) -> None:
    reply = await hali.command(ALICE, "frobnicate")
    assert "/help" in reply.plain_text


@pytest.mark.parametrize(
    "text",
    [
        "x" * 10_000,
        "🔥" * 3000,
        "<b>ecitizen</b> <script>alert(1)</script> &nbsp;",
        "'; DROP TABLE users; --",
        "\u200b\u200f",
        "كيف حالك",
    ],
)
async def test_odd_text_never_crashes_and_never_breaks_telegram_rules(hali: Harness, text: str) -> None:
    reply = await hali.say(ALICE, text)
    assert reply.plain_text
    assert_nothing_rejected(hali.api)


async def test_operator_text_with_markup_is_escaped_and_long_text_fits(hali: Harness) -> None:
    await hali.store.open_incident(
        "kplc", State.MAJOR_OUTAGE, Text("<b>Tokens</b> & bills <broken"), actor="cli",
        message=Text("details " * 900), workaround=Text("Use *977# & pay at a bank <now>"),
    )
    reply = await hali.say(ALICE, "kplc tokens down?")
    assert "<b>Tokens</b> & bills <broken" in reply.plain_text
    assert "Use *977# & pay at a bank <now>" in reply.plain_text
    assert_nothing_rejected(hali.api)


async def test_a_stale_button_is_answered_not_crashed(hali: Harness) -> None:
    card = await hali.say(ALICE, "is kra down?")
    for data in ("old:format:from:last:year", "r:no-such-service", "l:fr", ""):
        records = await hali.press(ALICE, data or "x", card.message_id or 0)
        answers = [r for r in records if r.method == "answerCallbackQuery"]
        assert answers and answers[0].show_alert
        assert "expired" in str(answers[0].params.get("text"))
    assert_nothing_rejected(hali.api)


async def test_a_blocked_user_does_not_stop_the_bot(hali: Harness) -> None:
    hali.api.block(JUMA)
    hali.api.text_message(JUMA, "is kra down?")
    reply = await hali.say(ALICE, "is kra down?")
    assert "KRA iTax" in reply.plain_text
    blocked = [r for r in hali.api.requests if r.error_code == 403]
    assert blocked and blocked[0].params.get("chat_id") in (JUMA, str(JUMA))


async def test_an_operator_change_from_the_cli_shows_within_five_seconds(hali: Harness) -> None:
    from bot.core.board import StatusBoard

    # The running bot's real cache, and a real `hali` process writing to the same store.
    hali.app.bot_data["hali"].engine.board = StatusBoard(hali.store, max_age=2.0)
    hali.app.bot_data["hali"].engine.clock = system_clock
    before = await hali.say(ALICE, "is helb working?")
    assert "No problems known" in before.plain_text
    process = await asyncio.create_subprocess_exec(
        sys.executable, "-m", "bot", "incident", "open", "helb", "--status", "major_outage",
        "--title", "HELB portal down", env={**os.environ, "DATABASE_URL": hali.db_url},
        stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE,
    )
    _out, err = await process.communicate()
    assert process.returncode == 0, err
    loop = asyncio.get_running_loop()
    changed = loop.time()
    while True:
        reply = await hali.say(ALICE, "is helb working?")
        if "HELB portal down" in reply.plain_text:
            break
        assert loop.time() - changed < 5, "the change did not show within 5 seconds"
        await asyncio.sleep(0.25)


async def test_each_update_reads_its_chat_once_however_many_steps_ask_its_language(
    hali: Harness, monkeypatch: pytest.MonkeyPatch
) -> None:
    reads: list[int] = []
    touch = hali.store.touch_user

    async def counted(chat_id: int) -> str | None:
        reads.append(chat_id)
        return await touch(chat_id)

    monkeypatch.setattr(hali.store, "touch_user", counted)
    card = await hali.say(4101, "is ntsa down?")
    assert reads == [4101]
    await hali.command(4101, "language")
    assert reads == [4101, 4101]
    answers = await hali.tap(4101, card, "🔄")
    assert answers and reads == [4101, 4101, 4101], "one read for the button press too"
    # A first-person failure report is understood, then taken over by the report flow: one read still.
    await hali.say(4101, "I can't log in to ntsa, it keeps failing")
    assert reads == [4101] * 4
