"""A citizen reports a failure through the strict fake Bot API, in English and in Swahili."""

from __future__ import annotations

from typing import Any

import pytest
from sqlalchemy import select
from sqlalchemy.exc import OperationalError

from bot.store.models import ReportFlowRow, ReportRow
from bot.store.reports import ReportStore
from hali_dev.botapi import FakeBotAPI, SentRecord
from tests.telegram.conftest import Harness, button_data, buttons

ALICE = 1001
JUMA = 1002
GROUP = -100777


def reports_of(hali: Harness) -> ReportStore:
    store: ReportStore = hali.app.bot_data["hali"].reports
    return store


async def all_reports(hali: Harness) -> list[ReportRow]:
    async with hali.store.sessions() as session:
        return list((await session.scalars(select(ReportRow).order_by(ReportRow.id))).all())


def assert_nothing_rejected(api: FakeBotAPI) -> None:
    assert [(r.method, r.description) for r in api.requests if not r.ok] == []


def edited(records: list[SentRecord]) -> SentRecord:
    edits = [r for r in records if r.method == "editMessageText"]
    assert edits, [r.method for r in records]
    return edits[-1]


async def walk(hali: Harness, chat_id: int, start: SentRecord, symptom: str, details: str | None,
               follow_up: str, **kwargs: Any) -> SentRecord:
    """From the symptom question to the answer; returns the final message."""
    step = edited(await hali.tap(chat_id, start, symptom, **kwargs))
    if details is None:
        step = edited(await hali.tap(chat_id, step, "Skip" if "Skip" in str(step.reply_markup) else "Ruka",
                                     **kwargs))
    else:
        step = await hali.say(chat_id, details, **kwargs)
    return edited(await hali.tap(chat_id, step, follow_up, **kwargs))


async def test_report_command_runs_the_whole_flow_in_english(hali: Harness) -> None:
    first = await hali.command(ALICE, "report")
    assert "Which service is failing?" in first.plain_text
    records = await hali.tap(ALICE, first, "eCitizen")
    symptom = edited(records)
    assert "Report a problem with eCitizen" in symptom.plain_text
    assert "No problems known" in symptom.plain_text
    labels = [b["text"] for b in buttons(symptom)]
    assert "Log-in or OTP problem" in labels and "Payment failed or not reflecting" in labels
    details = edited(await hali.tap(ALICE, symptom, "Log-in or OTP"))
    assert "at most 500 characters" in details.plain_text
    assert "KRA PIN" in details.plain_text
    ask = await hali.say(ALICE, "OTP never arrives, my number is 0712 345 678 and ID 12345678")
    assert "works again" in ask.plain_text
    answer = edited(await hali.tap(ALICE, ask, "Yes, tell me"))
    text = answer.plain_text or ""
    assert "Your report is saved as R-" in text
    assert "Nobody else has reported a problem with eCitizen in the last hour." in text
    assert "What you can do" in text
    assert "Hali will message you once when eCitizen works again." in text
    assert "subscribe" not in text.lower()

    [row] = await all_reports(hali)
    assert row.reference in text and row.reference.startswith("R-") and len(row.reference) == 7
    assert row.service_id == "ecitizen" and row.symptom == "login_otp"
    assert row.text == "OTP never arrives, my number is [phone] and ID [id]"
    assert row.chat_id == ALICE and row.reporter_key and str(ALICE) not in row.reporter_key
    assert row.counted and not row.flagged
    assert await reports_of(hali).flow(ALICE) is None
    assert_nothing_rejected(hali.api)


async def test_free_text_in_swahili_starts_the_flow_with_the_service_filled_in(hali: Harness) -> None:
    symptom = await hali.say(JUMA, "Sipati OTP ya ecitizen", language_code="sw")
    assert "Ripoti tatizo la eCitizen" in symptom.plain_text
    answer = await walk(hali, JUMA, symptom, "kuingia", None, "Hapana", language_code="sw")
    assert "Ripoti yako imehifadhiwa" in (answer.plain_text or "")
    [row] = await all_reports(hali)
    assert row.chat_id is None, "no follow-up asked for, so no chat id kept"
    assert row.language == "sw" and row.text is None
    assert_nothing_rejected(hali.api)


async def test_saying_only_that_a_service_is_down_gets_the_card_that_offers_the_report(hali: Harness) -> None:
    # "mpesa iko down" may be a question without its question mark: the card answers it either way.
    card = await hali.say(JUMA, "mpesa iko down", language_code="sw")
    assert "M-Pesa (Safaricom)" in card.plain_text and "Unachoweza kufanya" in card.plain_text
    assert button_data(card, "Ripoti tatizo") == "rp:mpesa"
    assert await reports_of(hali).flow(JUMA) is None
    records = await hali.tap(JUMA, card, "Ripoti tatizo", language_code="sw")
    assert any("Ripoti tatizo la M-Pesa" in (r.plain_text or "") for r in records)


async def test_the_status_card_has_a_report_button_that_opens_the_flow(hali: Harness) -> None:
    card = await hali.say(ALICE, "is kra down?")
    assert button_data(card, "Report a problem") == "rp:kra"
    records = await hali.tap(ALICE, card, "Report a problem")
    new = [r for r in records if r.method == "sendMessage"]
    assert new and "Report a problem with KRA iTax" in (new[0].plain_text or "")
    assert hali.api.current_text(ALICE, card.message_id or 0) == card.plain_text, "the card stays"


async def test_it_can_be_cancelled_at_every_step(hali: Harness) -> None:
    first = await hali.command(ALICE, "report")
    assert "Cancelled" not in first.plain_text
    done = edited(await hali.tap(ALICE, first, "Cancel"))
    assert "Report cancelled. Nothing was saved." in (done.plain_text or "")

    symptom = await hali.command(ALICE, "report", "ntsa")
    details = edited(await hali.tap(ALICE, symptom, "Very slow"))
    done = edited(await hali.tap(ALICE, details, "Cancel"))
    assert "cancelled" in (done.plain_text or "")

    symptom = await hali.command(JUMA, "report", "sha", language_code="sw")
    details = edited(await hali.tap(JUMA, symptom, "polepole", language_code="sw"))
    ask = edited(await hali.tap(JUMA, details, "Ruka", language_code="sw"))
    done = edited(await hali.tap(JUMA, ask, "Ghairi", language_code="sw"))
    assert "Ripoti imeghairiwa" in (done.plain_text or "")
    assert await all_reports(hali) == []
    assert await reports_of(hali).flow(ALICE) is None


async def test_it_survives_an_unrelated_command_in_the_middle(hali: Harness) -> None:
    symptom = await hali.command(ALICE, "report", "kplc")
    details = edited(await hali.tap(ALICE, symptom, "Payment failed"))
    status = await hali.command(ALICE, "status", "kra")
    assert "KRA iTax" in status.plain_text
    ask = await hali.say(ALICE, "paid 888880 but tokens never came")
    assert "works again" in ask.plain_text
    answer = edited(await hali.tap(ALICE, ask, "No, thanks"))
    assert "saved as R-" in (answer.plain_text or "")
    [row] = await all_reports(hali)
    assert row.text == "paid 888880 but tokens never came"
    assert details.message_id != ask.message_id


async def test_a_question_while_symptoms_show_is_answered_and_the_flow_waits(hali: Harness) -> None:
    symptom = await hali.command(ALICE, "report", "kplc")
    reply = await hali.say(ALICE, "is kra working?")
    assert "KRA iTax" in reply.plain_text
    details = edited(await hali.tap(ALICE, symptom, "Very slow"))
    assert "at most 500" in (details.plain_text or "")


async def test_it_times_out_quietly_and_old_buttons_then_expire(hali: Harness) -> None:
    symptom = await hali.command(ALICE, "report", "kra")
    details = edited(await hali.tap(ALICE, symptom, "Very slow"))
    sent_before = len(hali.api.messages_to(ALICE))
    hali.clock.advance(minutes=11)
    reply = await hali.say(ALICE, "is ntsa down?")
    assert "NTSA" in reply.plain_text, "after the timeout, text is an ordinary question again"
    assert len(hali.api.messages_to(ALICE)) == sent_before + 1, "nothing was said about the timeout"
    records = await hali.tap(ALICE, details, "Skip")
    answer = next(r for r in records if r.method == "answerCallbackQuery")
    assert answer.show_alert and "expired" in str(answer.params.get("text"))
    assert await all_reports(hali) == []


async def test_stale_buttons_get_the_expired_answer(hali: Harness) -> None:
    symptom = await hali.command(ALICE, "report", "kra")
    details = edited(await hali.tap(ALICE, symptom, "Very slow"))
    for data in (button_data(symptom, "Very slow"), "rf:zzzzzz:f:1", "rf:", "rp:no-such-service",
                 button_data(details, "Skip").replace(":k", ":f:7")):
        records = await hali.press(ALICE, data, details.message_id or 0)
        answers = [r for r in records if r.method == "answerCallbackQuery"]
        assert answers and answers[0].show_alert and "expired" in str(answers[0].params.get("text")), data
    await hali.tap(ALICE, details, "Cancel")
    records = await hali.press(ALICE, button_data(details, "Skip"), details.message_id or 0)
    assert "expired" in str(records[-1].params.get("text"))
    assert_nothing_rejected(hali.api)


async def test_a_typed_service_name_is_understood_and_an_unknown_one_asked_again(hali: Harness) -> None:
    first = await hali.command(ALICE, "report")
    again = await hali.say(ALICE, "qwertyuiop")
    assert "could not find that service" in again.plain_text
    symptom = await hali.say(ALICE, "itax")
    assert "Report a problem with KRA iTax" in symptom.plain_text
    records = await hali.tap(ALICE, first, "eCitizen")
    assert "expired" in str(records[-1].params.get("text")), "the first step's buttons are stale now"


async def test_details_longer_than_500_characters_are_refused(hali: Harness) -> None:
    symptom = await hali.command(ALICE, "report", "kra")
    edited(await hali.tap(ALICE, symptom, "Something else"))
    reply = await hali.say(ALICE, "x" * 501)
    assert "That is 501 characters; please send at most 500." in reply.plain_text
    ask = await hali.say(ALICE, "short now")
    assert "works again" in ask.plain_text


async def test_in_a_group_it_moves_to_a_private_chat(hali: Harness) -> None:
    reply = await hali._expect_reply(
        GROUP, lambda: hali.api.command(GROUP, "report", "ecitizen", chat_type="supergroup", user_id=5))
    [link] = [b for b in buttons(reply) if "url" in b]
    assert link["url"] == "https://t.me/hali_test_bot?start=report-ecitizen"
    assert "private chat" in reply.plain_text

    reply = await hali._expect_reply(
        GROUP, lambda: hali.api.group_message(GROUP, "sipati OTP ya ecitizen", mention_bot=True))
    assert [b["url"] for b in buttons(reply)] == ["https://t.me/hali_test_bot?start=report-ecitizen"]

    card = await hali._expect_reply(
        GROUP, lambda: hali.api.group_message(GROUP, "is kra down?", mention_bot=True))
    records = await hali.tap(GROUP, card, "Report a problem")
    answer = next(r for r in records if r.method == "answerCallbackQuery")
    assert answer.params.get("url") == "https://t.me/hali_test_bot?start=report-kra"
    assert await reports_of(hali).flow(GROUP) is None

    symptom = await hali.command(ALICE, "start", "report-ecitizen")
    assert "Report a problem with eCitizen" in symptom.plain_text
    plain = await hali.command(ALICE, "start", "report")
    assert "Which service is failing?" in plain.plain_text
    assert_nothing_rejected(hali.api)


async def test_a_store_failure_midway_saves_nothing_and_asks_to_try_again(
    hali: Harness, monkeypatch: pytest.MonkeyPatch
) -> None:
    symptom = await hali.command(ALICE, "report", "ecitizen")
    details = edited(await hali.tap(ALICE, symptom, "Payment failed"))
    ask = await hali.say(ALICE, "paid twice, money deducted twice and still pending")

    async def broken(*args: object, **kwargs: object) -> None:
        raise OperationalError("UPDATE reports", {}, ConnectionResetError("server closed the connection"))

    monkeypatch.setattr(ReportStore, "_check_coordination", broken)
    failed = edited(await hali.tap(ALICE, ask, "Yes, tell me"))
    assert "could not be saved just now, and nothing was kept" in (failed.plain_text or "")
    assert "R-" not in (failed.plain_text or "")
    assert await all_reports(hali) == [], "the report row inserted before the failure was rolled back"
    assert await reports_of(hali).flow(ALICE) is not None, "the flow waits for another try"

    monkeypatch.undo()
    answer = edited(await hali.tap(ALICE, failed, "Try again"))
    assert "saved as R-" in (answer.plain_text or "")
    assert len(await all_reports(hali)) == 1
    assert ask.message_id == answer.message_id
    assert details.message_id != answer.message_id


async def test_one_citizen_counts_once_per_service_per_hour_and_has_a_daily_cap(hali: Harness) -> None:
    reports_of(hali).policy = type(reports_of(hali).policy)(daily_cap=3)
    texts = []
    for _ in range(4):
        symptom = await hali.command(ALICE, "report", "kra")
        texts.append(await walk(hali, ALICE, symptom, "Very slow", None, "No, thanks"))
        hali.clock.advance(minutes=5)
    assert "saved as" in (texts[0].plain_text or "")
    assert "you are counted once" in (texts[1].plain_text or "")
    assert "the most Hali takes from one person in a day" in (texts[3].plain_text or "")
    rows = await all_reports(hali)
    assert [r.counted for r in rows] == [True, False, False]

    hali.clock.advance(days=1)
    symptom = await hali.command(ALICE, "report", "kra")
    again = await walk(hali, ALICE, symptom, "Very slow", None, "No, thanks")
    assert "saved as" in (again.plain_text or "")
    assert (await all_reports(hali))[-1].counted


async def test_others_in_the_last_hour_are_counted_in_the_answer(hali: Harness) -> None:
    for chat in (2001, 2002):
        symptom = await hali.command(chat, "report", "sha")
        await walk(hali, chat, symptom, "Can't open", None, "No, thanks")
    symptom = await hali.command(ALICE, "report", "sha")
    answer = await walk(hali, ALICE, symptom, "Can't open", None, "No, thanks")
    assert "2 other people reported a problem with Social Health Authority" in (answer.plain_text or "") \
        or "2 other people reported a problem with SHA" in (answer.plain_text or "")


async def test_the_crowd_signal_shows_on_the_card_below_an_incident(hali: Harness) -> None:
    for chat in range(3001, 3008):
        symptom = await hali.command(chat, "report", "ecitizen")
        await walk(hali, chat, symptom, "Payment failed", None, "No, thanks")
    card = await hali.say(ALICE, "is ecitizen down?")
    text = card.plain_text
    assert "eCitizen: Degraded performance" in text
    assert "citizens' reports (unconfirmed)" in text
    assert "Citizens report problems (unconfirmed)" in text
    assert "7 reports in the last 30 minutes." in text
    assert "Most common: Payment failed or not reflecting" in text

    from bot.catalog.model import Text
    from bot.core.status import State

    await hali.store.open_incident("ecitizen", State.MAJOR_OUTAGE, Text("Payments down"), actor="cli")
    card = await hali.say(ALICE, "is ecitizen down?")
    assert "eCitizen: Major outage" in card.plain_text
    assert card.plain_text.index("Payments down") < card.plain_text.index("Citizens report problems")

    sw = await hali.say(JUMA, "ecitizen iko down?")
    assert "Wananchi wanaripoti matatizo (hayajathibitishwa)" in sw.plain_text
    assert_nothing_rejected(hali.api)


async def test_privacy_says_what_reports_keep_and_forget_erases_them(hali: Harness) -> None:
    symptom = await hali.command(ALICE, "report", "kra")
    await walk(hali, ALICE, symptom, "Very slow", "itax ni slow", "Yes, tell me")
    await hali.command(ALICE, "report", "ntsa")  # one in progress
    privacy = await hali.command(ALICE, "privacy")
    assert "Hali holds 1 report from you." in privacy.plain_text
    assert "After 90 days" in privacy.plain_text
    assert "at most 24 hours" in privacy.plain_text

    confirm = await hali.command(ALICE, "forget")
    assert "reports" in confirm.plain_text
    await hali.tap(ALICE, confirm, "Yes")
    assert await all_reports(hali) == []
    async with hali.store.sessions() as session:
        assert await session.get(ReportFlowRow, ALICE) is None


async def test_help_and_the_command_list_mention_report(hali: Harness) -> None:
    reply = await hali.command(ALICE, "help")
    assert "/report" in reply.plain_text
