"""Subscribing through the real Application and the strict fake Bot API, in English and Swahili."""

from __future__ import annotations

from datetime import UTC, datetime

from bot.catalog.model import Text
from bot.core.dispatcher import Dispatcher, DispatchSettings
from bot.core.notifications import ALL_SERVICES
from bot.core.recipient import Recipient
from bot.core.status import State
from bot.render.notify import composer
from bot.telegram.outbound import TelegramSender
from hali_dev.botapi import TOKEN, FakeBotAPI
from tests.telegram.conftest import Harness, button_data, buttons

ALICE = 2001
JUMA = 2002


def assert_nothing_rejected(api: FakeBotAPI) -> None:
    assert [(r.method, r.description) for r in api.requests if not r.ok] == []


async def deliver(hali: Harness, passes: int = 2) -> None:
    """Run a dispatcher over whatever is due, through the bot's own send budget and fake Bot API."""
    sender = TelegramSender.create(TOKEN, hali.api.base_url, connections=4)
    await sender.start()
    try:
        dispatcher = Dispatcher(hali.store.outbox, sender, hali.store.catalog, composer(hali.clock),
                                budget=hali.budget, settings=DispatchSettings(rate=1000), clock=hali.clock)
        for _ in range(passes):
            await dispatcher.drain()
    finally:
        await sender.close()


async def test_subscribe_command_in_english_then_an_incident_reaches_the_chat(hali: Harness) -> None:
    reply = await hali.command(ALICE, "subscribe", "kra")
    assert "Hali will tell you when KRA iTax goes down" in reply.plain_text
    assert await hali.store.subscriptions.following(Recipient.telegram(ALICE)) == ["kra"]

    await hali.store.open_incident("kra", State.MAJOR_OUTAGE, Text("iTax is down", "iTax haipatikani"),
                                   actor="cli", workaround=Text("File later; the deadline is extended"))
    await deliver(hali)
    alert = hali.api.messages_to(ALICE)[-1]
    assert "KRA iTax: Major outage" in (alert.plain_text or "")
    assert "iTax is down" in (alert.plain_text or "") and "deadline is extended" in (alert.plain_text or "")
    assert button_data(alert, "Check status") == "s:kra"
    records = await hali.tap(ALICE, alert, "Check status")
    assert any("KRA iTax" in (r.plain_text or "") for r in records if r.method == "editMessageText")
    assert_nothing_rejected(hali.api)


async def test_free_text_subscribes_in_swahili_and_alerts_come_in_swahili(hali: Harness) -> None:
    reply = await hali.say(JUMA, "Nifahamishe ecitizen ikirudi")
    assert "Hali itakujulisha kuhusu eCitizen: huduma ikikatika" in reply.plain_text
    reply = await hali.say(JUMA, "Nitumie arifa za NTSA")
    assert "NTSA" in reply.plain_text
    assert sorted(await hali.store.subscriptions.following(Recipient.telegram(JUMA))) == ["ecitizen", "ntsa"]

    incident = await hali.store.open_incident("ecitizen", State.MAJOR_OUTAGE,
                                              Text("Payments failing", "Malipo yanakataa"), actor="cli")
    await hali.store.resolve_incident(incident, actor="cli", message=Text("Fixed"))
    await deliver(hali)
    down, back = hali.api.messages_to(JUMA)[-2:]
    assert "Malipo yanakataa" in (down.plain_text or "")
    assert "eCitizen: huduma inafanya kazi tena" in (back.plain_text or "")
    assert "Fixed (kwa Kiingereza)" in (back.plain_text or "")


async def test_free_text_unsubscribes_from_one_or_from_everything(hali: Harness) -> None:
    await hali.command(ALICE, "subscribe", "sha")
    await hali.command(ALICE, "subscribe", "kra")
    reply = await hali.say(ALICE, "unsubscribe sha")
    assert "no more alerts for Social Health Authority" in reply.plain_text
    reply = await hali.say(JUMA, "Acha kunitumia messages")
    assert "Hukuwa unapata arifa" in reply.plain_text
    reply = await hali.say(ALICE, "stop sending me messages, unsubscribe")
    assert await hali.store.subscriptions.following(Recipient.telegram(ALICE)) == []
    assert "will not send you alerts" in reply.plain_text or "no more alerts" in reply.plain_text


async def test_free_text_asking_for_every_service_subscribes_to_all_at_once(hali: Harness) -> None:
    reply = await hali.say(JUMA, "Nataka arifa za huduma zote")
    assert "huduma yoyote ikikatika" in reply.plain_text
    assert await hali.store.subscriptions.following(Recipient.telegram(JUMA)) == [ALL_SERVICES]


async def test_the_status_card_button_shows_and_flips_the_state(hali: Harness) -> None:
    card = await hali.say(ALICE, "is ntsa working?")
    assert button_data(card, "Notify me") == "n:ntsa"
    records = await hali.tap(ALICE, card, "Notify me")
    [edit] = [r for r in records if r.method == "editMessageText"]
    assert button_data(edit, "Stop notifications") == "x:ntsa"
    [answer] = [r for r in records if r.method == "answerCallbackQuery"]
    assert "You will get alerts" in (answer.text or "")
    assert await hali.store.subscriptions.is_subscribed(Recipient.telegram(ALICE), "ntsa")

    card = await hali.say(ALICE, "is ntsa working?")
    assert button_data(card, "Stop notifications") == "x:ntsa"
    await hali.tap(ALICE, card, "Stop notifications")
    assert not await hali.store.subscriptions.is_subscribed(Recipient.telegram(ALICE), "ntsa")
    assert_nothing_rejected(hali.api)


async def test_a_subscriber_to_all_sees_stop_on_every_card(hali: Harness) -> None:
    await hali.command(JUMA, "subscribe", "zote", language_code="sw")
    card = await hali.command(JUMA, "status", "kra", language_code="sw")
    assert button_data(card, "Zima arifa") == "x:kra"


async def test_subscribe_without_a_service_offers_choices_and_all(hali: Harness) -> None:
    prompt = await hali.command(ALICE, "subscribe")
    assert "Which service" in prompt.plain_text
    assert "n:*" in [b["callback_data"] for b in buttons(prompt)]
    records = await hali.tap(ALICE, prompt, "All services")
    assert any("any service goes down" in (r.plain_text or "") for r in records)
    assert await hali.store.subscriptions.following(Recipient.telegram(ALICE)) == [ALL_SERVICES]
    prompt = await hali.command(ALICE, "subscribe")
    await hali.tap(ALICE, prompt, "KRA")
    assert await hali.store.subscriptions.following(Recipient.telegram(ALICE)) == [ALL_SERVICES, "kra"]


async def test_a_deep_link_subscribes_and_an_unknown_service_gets_a_clear_answer(hali: Harness) -> None:
    reply = await hali.command(ALICE, "start", "sub-ecitizen")
    assert "Hali will tell you when eCitizen goes down" in reply.plain_text
    assert await hali.store.subscriptions.following(Recipient.telegram(ALICE)) == ["ecitizen"]
    reply = await hali.command(JUMA, "start", "sub-nosuchthing", language_code="sw")
    assert "Hali haiijui huduma hiyo" in reply.plain_text and "nosuchthing" in reply.plain_text
    assert await hali.store.subscriptions.following(Recipient.telegram(JUMA)) == []
    reply = await hali.command(JUMA, "start", first_name="Juma", language_code="sw")
    assert "Habari Juma!" in reply.plain_text, "a plain /start is still the welcome"


async def test_alerts_lists_with_remove_buttons(hali: Harness) -> None:
    await hali.command(ALICE, "subscribe", "kra")
    await hali.command(ALICE, "subscribe", "mpesa")
    listing = await hali.command(ALICE, "alerts")
    assert "KRA iTax" in listing.plain_text and "Quiet hours: off" in listing.plain_text
    assert button_data(listing, "KRA") == "u:kra"
    records = await hali.tap(ALICE, listing, "KRA")
    [edit] = [r for r in records if r.method == "editMessageText"]
    assert "KRA iTax" not in (edit.plain_text or "")
    assert await hali.store.subscriptions.following(Recipient.telegram(ALICE)) == ["mpesa"]
    reply = await hali.command(ALICE, "unsubscribe", "all")
    assert "will not send you alerts" in reply.plain_text
    empty = await hali.command(ALICE, "alerts")
    assert "You get no alerts now" in empty.plain_text


async def test_quiet_hours_are_validated_set_and_turned_off(hali: Harness) -> None:
    reply = await hali.command(ALICE, "quiet", "late")
    assert "could not read “late”" in reply.plain_text and "/quiet 22-6" in reply.plain_text
    reply = await hali.command(ALICE, "quiet", "22-6")
    assert "from 22:00 to 06:00 EAT" in reply.plain_text
    listing = await hali.command(ALICE, "alerts")
    assert "Quiet hours: 22:00–06:00 EAT" in listing.plain_text
    reply = await hali.command(JUMA, "quiet", "off", language_code="sw")
    assert "Saa za kimya zimezimwa" in reply.plain_text


async def test_a_back_up_message_waits_out_the_quiet_hours_but_no_longer(hali: Harness) -> None:
    hali.clock.now = datetime(2026, 11, 28, 19, 30, tzinfo=UTC)  # 22:30 EAT
    await hali.command(ALICE, "subscribe", "ecitizen")
    await hali.command(ALICE, "quiet", "22-6")
    before = len(hali.api.messages_to(ALICE))
    incident = await hali.store.open_incident("ecitizen", State.MAJOR_OUTAGE, Text("Down"), actor="cli")
    hali.clock.now = datetime(2026, 11, 28, 23, 0, tzinfo=UTC)  # 02:00 EAT
    await hali.store.resolve_incident(incident, actor="cli")
    await deliver(hali)
    assert len(hali.api.messages_to(ALICE)) == before
    hali.clock.now = datetime(2026, 11, 29, 3, 0, tzinfo=UTC)  # 06:00 EAT, the end of the window
    await deliver(hali)
    texts = [r.plain_text or "" for r in hali.api.messages_to(ALICE)[before:]]
    assert len(texts) == 2 and "working again" in texts[-1]


async def test_forget_erases_subscriptions_and_queued_alerts(hali: Harness) -> None:
    await hali.command(ALICE, "subscribe", "sha")
    await hali.command(ALICE, "quiet", "22-6")
    privacy = await hali.command(ALICE, "privacy")
    assert "alerts for: Social Health Authority" in privacy.plain_text
    assert "quiet hours: 22:00–06:00" in privacy.plain_text
    await hali.store.open_incident("sha", State.MAJOR_OUTAGE, Text("Down"), actor="cli")
    confirm = await hali.command(ALICE, "forget")
    assert "alerts and quiet hours" in confirm.plain_text
    await hali.tap(ALICE, confirm, "Yes")
    assert await hali.store.subscriptions.subscriber(Recipient.telegram(ALICE)) is None
    [counts] = await hali.store.outbox.counts()
    assert counts.pending == 0
    privacy = await hali.command(ALICE, "privacy")
    assert "alerts you ask for: none" in privacy.plain_text


async def test_a_stale_alerts_button_is_answered_not_crashed(hali: Harness) -> None:
    card = await hali.say(ALICE, "is kra working?")
    records = await hali.press(ALICE, "n:nosuch", card.message_id or 0)
    [answer] = [r for r in records if r.method == "answerCallbackQuery"]
    assert answer.show_alert and "expired" in (answer.text or "")
