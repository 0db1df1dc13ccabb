"""The engine keeps what many people ask at once, and never shows them anything out of date."""

from __future__ import annotations

from bot.catalog.model import Text
from bot.core.clock import FrozenClock
from bot.core.recipient import Recipient
from bot.core.status import State
from bot.core.understanding import Intent
from bot.services.answers import MEMO_SIZE, Engine
from bot.services.sources import make_board
from bot.store.repo import Store


async def test_the_same_question_in_the_same_second_gets_the_same_card(store: Store, clock: FrozenClock) -> None:
    engine = Engine(make_board(store, max_age=60), clock=clock)
    first = await engine.answer("is kra down?")
    second = await engine.answer("Is KRA iTax down")
    assert second.reply is first.reply  # rendered once
    swahili = await engine.answer("KRA iko down?")
    assert swahili.language == "sw" and swahili.reply is not first.reply
    clock.advance(seconds=1)
    assert (await engine.answer("is kra down?")).reply is not first.reply


async def test_a_card_a_minute_later_says_so(store: Store, clock: FrozenClock) -> None:
    await store.open_incident("kra", State.MAJOR_OUTAGE, Text("iTax is down"), actor="cli")
    engine = Engine(make_board(store, max_age=600), clock=clock)
    assert "just now" in (await engine.answer("is kra down?")).reply.plain
    clock.advance(minutes=5)
    assert "5 minutes ago" in (await engine.answer("is kra down?")).reply.plain


async def test_a_new_snapshot_is_shown_at_once(store: Store, clock: FrozenClock) -> None:
    engine = Engine(make_board(store, max_age=0), clock=clock)
    assert "No problems known" in (await engine.answer("is ecitizen down?")).reply.plain
    await store.open_incident("ecitizen", State.MAJOR_OUTAGE, Text("Payments are failing"), actor="cli")
    assert "Payments are failing" in (await engine.answer("is ecitizen down?")).reply.plain


async def test_the_subscribe_button_matches_the_chat(store: Store, clock: FrozenClock) -> None:
    engine = Engine(make_board(store, max_age=60), clock=clock, following=store.subscriptions)
    await store.subscriptions.subscribe(Recipient.telegram(1), "kra", "en")
    following = await engine.answer("is kra down?", recipient=Recipient.telegram(1))
    other = await engine.answer("is kra down?", recipient=Recipient.telegram(2))
    assert following.reply is not other.reply
    assert "n:kra" not in _data(following) and "n:kra" in _data(other)


async def test_remembered_understandings_are_bounded(store: Store, clock: FrozenClock) -> None:
    engine = Engine(make_board(store, max_age=60), clock=clock)
    for i in range(MEMO_SIZE + 50):
        await engine.understand(f"is kra down {i}?")
    assert len(engine._understood) == MEMO_SIZE
    _, u = await engine.understand("is kra down 0?")  # forgotten, understood again
    assert u.service == "kra"


async def test_a_long_message_is_understood_from_its_beginning_and_not_kept(store: Store, clock: FrozenClock) -> None:
    engine = Engine(make_board(store, max_age=60), clock=clock)
    _, u = await engine.understand("is ntsa down? " + "x" * 5000)
    assert u.service == "ntsa" and not engine._understood


async def test_thanks_is_answered_you_are_welcome_in_the_writers_language(store: Store, clock: FrozenClock) -> None:
    engine = Engine(make_board(store, max_age=60), clock=clock)
    swahili = await engine.answer("asante sana")
    assert (swahili.intent, swahili.language) == (Intent.THANKS, "sw")
    assert swahili.reply.plain.startswith("Karibu!")
    english = await engine.answer("thanks a lot")
    assert english.reply.plain.startswith("You're welcome!")


async def test_asking_for_every_service_lists_every_service(store: Store, clock: FrozenClock) -> None:
    engine = Engine(make_board(store, max_age=60), clock=clock)
    answer = await engine.answer("orodha ya huduma")
    catalog = (await engine.board.snapshot()).catalog
    assert answer.intent is Intent.STATUS and answer.language == "sw"
    assert all(s.name.get("sw") in answer.reply.plain for s in catalog.services)


def _data(answer: object) -> list[str]:
    reply = answer.reply  # type: ignore[attr-defined]
    return [b.data for row in reply.buttons for b in row if b.data]


async def test_what_to_do_instead_says_what_is_down_and_not_to_pay_twice_once(store: Store, clock: FrozenClock) -> None:
    await store.open_incident("ecitizen", State.MAJOR_OUTAGE, Text("Payments failing"), actor="cli")
    engine = Engine(make_board(store, max_age=60), clock=clock)
    answer = await engine.answer("Nawezaje kulipa KRA kama eCitizen iko down?")
    text = answer.reply.plain
    assert answer.intent is Intent.WORKAROUND and answer.service == "kra"
    assert "Malipo yanaweza kushindikana kwa sababu ya tatizo la eCitizen (Haipatikani)" in text
    assert text.count("Usilipe mara mbili") == 1
    own = await engine.answer("What can I do if eCitizen is down?")
    assert "🔴 Major outage\nSince " in own.reply.plain and own.reply.plain.count("pay twice") == 1


async def test_alerts_asked_for_outside_telegram_name_the_right_command(store: Store, clock: FrozenClock) -> None:
    engine = Engine(make_board(store, max_age=60), clock=clock)
    stop = await engine.answer("acha kunitumia arifa za kra")
    assert "/unsubscribe kra" in stop.reply.plain and "/subscribe" not in stop.reply.plain
    start = await engine.answer("nijulishe kra ikirudi")
    assert "/subscribe kra" in start.reply.plain
