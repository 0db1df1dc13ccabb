"""The public channel: every incident and settled change posted once, in both languages; cards link to it."""

from __future__ import annotations

from collections import Counter

import pytest

from bot.app import assemble, channel_link
from bot.catalog.model import Text
from bot.config import ConfigError, Settings
from bot.core.clock import FrozenClock
from bot.core.notifications import ALL_SERVICES
from bot.core.recipient import Recipient
from bot.core.status import State
from bot.i18n import translator
from bot.render import welcome
from bot.store.repo import Store
from bot.telegram.app import resolve_channel
from hali_dev.botapi import TOKEN, FakeBotAPI
from tests.notify.conftest import FakeTime, MakeDispatcher

CHANNEL = -1001234567890


async def test_the_channel_is_found_as_telegram_knows_it(api: FakeBotAPI) -> None:
    api.add_channel(CHANNEL, username="hali_status")
    settings = Settings(token=TOKEN, api_base_url=api.base_url, channel="@hali_status")
    assert await resolve_channel(settings) == (CHANNEL, "https://t.me/hali_status")
    assert channel_link(settings) == "https://t.me/hali_status"
    api.add_channel(-1009999999999, invite_link="https://t.me/+AbCdEf")
    by_id = Settings(token=TOKEN, api_base_url=api.base_url, channel="-1009999999999")
    assert await resolve_channel(by_id) == (-1009999999999, "https://t.me/+AbCdEf")


@pytest.mark.parametrize(("status", "can_post", "says"), [
    ("member", False, "not allowed to post"),
    ("administrator", False, "not allowed to post"),
])
async def test_a_channel_the_bot_cannot_post_to_stops_start_up_with_a_clear_message(
    api: FakeBotAPI, status: str, can_post: bool, says: str
) -> None:
    api.add_channel(CHANNEL, username="hali_status", bot_status=status, can_post=can_post)
    with pytest.raises(ConfigError, match=says):
        await resolve_channel(Settings(token=TOKEN, api_base_url=api.base_url, channel="@hali_status"))
    with pytest.raises(ConfigError, match=r"(?i)chat not found"):
        await resolve_channel(Settings(token=TOKEN, api_base_url=api.base_url, channel="@nobody_here"))


async def test_an_incident_is_posted_once_in_both_languages_and_alerts_link_to_the_channel(
    sqlite_store: Store, api: FakeBotAPI, make_dispatcher: MakeDispatcher, fake_time: FakeTime
) -> None:
    api.add_channel(CHANNEL, username="hali_status")
    await sqlite_store.subscriptions.set_channel(Recipient.telegram(CHANNEL), "https://t.me/hali_status")
    await sqlite_store.subscriptions.subscribe(Recipient.telegram(7), ALL_SERVICES, "sw")
    incident = await sqlite_store.open_incident(
        "ecitizen", State.MAJOR_OUTAGE, Text("Payments failing", "Malipo yanakataa"), actor="cli")
    await sqlite_store.update_incident(incident, Text("Engineers are on it", "Wahandisi wanashughulikia"),
                                       actor="cli")
    await sqlite_store.resolve_incident(incident, actor="cli")
    dispatcher = await make_dispatcher(sqlite_store, channel=(CHANNEL, "https://t.me/hali_status"))
    for _ in range(3):
        await dispatcher.drain()
        await fake_time.sleep(60)  # a channel gets at most 20 messages a minute
    posts = api.messages_to(CHANNEL)
    assert len(posts) == 3, "opened, updated, resolved: each once"
    opened = posts[0].plain_text or ""
    assert "eCitizen: Major outage" in opened and "Payments failing" in opened, "in English"
    assert "Malipo yanakataa" in opened and "eCitizen: Haipatikani" in opened, "and in Kiswahili, in the same post"
    assert "/alerts" not in opened and posts[0].reply_markup is None, "nothing a channel's reader cannot use"
    alert = api.messages_to(7)[0]
    urls = [b.get("url") for row in (alert.reply_markup or {})["inline_keyboard"] for b in row]
    assert "https://t.me/hali_status" in urls, "the subscriber's alert links to the channel"
    assert Counter(r.chat_id for r in api.sent if r.method == "sendMessage") == Counter({CHANNEL: 3, 7: 3})
    assert await sqlite_store.subscriptions.count_subscribers() == 1, "the channel is not counted as a citizen"


async def test_a_channel_set_again_elsewhere_stops_the_old_one(sqlite_store: Store) -> None:
    await sqlite_store.subscriptions.set_channel(Recipient.telegram(CHANNEL), "https://t.me/hali_status")
    await sqlite_store.subscriptions.set_channel(Recipient.telegram(-1005555555555), "https://t.me/hali_ke")
    assert await sqlite_store.subscriptions.channel() == (Recipient.telegram(-1005555555555), "https://t.me/hali_ke")
    await sqlite_store.subscriptions.set_channel(None)
    assert await sqlite_store.subscriptions.channel() is None


async def test_start_and_an_outage_card_link_to_the_channel(sqlite_store: Store, clock: FrozenClock) -> None:
    t = translator("en")
    assert "t.me/hali_status" in welcome(t, "Amina", channel="https://t.me/hali_status").plain
    assert "channel" not in welcome(t, "Amina").plain
    settings = Settings(token=TOKEN, channel="@hali_status")
    engine = assemble(settings, sqlite_store, channel_link=channel_link(settings), cache_seconds=0).engine
    calm = await engine.card("kra", "en")
    assert calm is not None and not any(b.url for row in calm.buttons for b in row), "no link when all is well"
    await sqlite_store.open_incident("kra", State.MAJOR_OUTAGE, Text("iTax is down"), actor="cli")
    down = await engine.card("kra", "sw")
    assert down is not None
    assert [b.url for row in down.buttons for b in row if b.url] == ["https://t.me/hali_status"]
