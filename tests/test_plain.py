"""The seam for plain media: the engine's reply as SMS or USSD pages, without Telegram."""

from __future__ import annotations

import pytest

from bot.app import assemble
from bot.catalog.model import Text
from bot.config import Settings
from bot.core.reply import Button, Reply
from bot.core.status import State
from bot.render.plain import SMS, USSD, choices, pages
from bot.store.repo import Store


@pytest.mark.parametrize("limit", [SMS, USSD])
async def test_a_status_card_becomes_pages_that_each_fit_and_lose_no_word(sqlite_store: Store, limit: int) -> None:
    await sqlite_store.open_incident("ecitizen", State.MAJOR_OUTAGE, Text("Payments failing", "Malipo yanakataa"),
                                     actor="cli", workaround=Text("Pay at a Huduma Centre", "Lipa Huduma Centre"))
    engine = assemble(Settings(), sqlite_store, cache_seconds=0).engine
    reply = (await engine.answer("ecitizen iko down?")).reply
    found = pages(reply, limit)
    assert len(found) > 1 and all(len(page) <= limit for page in found)
    assert all(page.endswith(" …") for page in found[:-1])
    joined = " ".join(page.removesuffix(" …") for page in found).split()
    assert joined == " ".join([*reply.plain.split("\n"), *choices(reply)]).split(), "every word, in order"
    assert "<" not in "".join(found), "no markup"


def test_buttons_become_numbered_choices_and_links_are_left_out() -> None:
    reply = Reply("<b>KRA iTax</b>: working", ((Button("🔄 Refresh", data="r:kra"), Button("Site", url="https://x")),
                                               (Button("🔔 Notify me", data="n:kra"),)))
    assert choices(reply) == ["1. 🔄 Refresh", "2. 🔔 Notify me"]
    assert pages(reply) == ["KRA iTax: working\n1. 🔄 Refresh\n2. 🔔 Notify me"]


def test_a_word_longer_than_a_page_is_cut_inside_it() -> None:
    found = pages(Reply("x" * 400), SMS)
    assert [len(page) for page in found] == [160, 160, 84]  # 158 + " …", 158 + " …", the last 84
