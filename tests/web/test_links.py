"""With HALI_PUBLIC_URL, incident cards and "working again" messages link to the incident's public record."""

from __future__ import annotations

from datetime import UTC, datetime

from bot.app import assemble, incident_links
from bot.catalog.model import Text
from bot.config import Settings
from bot.core.notifications import Event, EventKind
from bot.core.status import State
from bot.i18n import translator
from bot.render.notify import notification
from bot.render.reports import working_again
from bot.store.repo import Store

PUBLIC = "https://status.example/hali/"


async def test_an_incident_card_links_to_the_incidents_record_in_both_languages(store: Store) -> None:
    incident = await store.open_incident("kra", State.MAJOR_OUTAGE, Text("iTax is down", "iTax haipatikani"),
                                         actor="cli")
    app = assemble(Settings(public_url=PUBLIC), store, cache_seconds=0)
    english = await app.engine.card("kra", "en")
    swahili = await app.engine.card("kra", "sw")
    assert english is not None and swahili is not None
    assert f'<a href="{PUBLIC}incidents/{incident}">The full record of this incident</a>' in english.html
    assert f'<a href="{PUBLIC}incidents/{incident}">Kumbukumbu kamili ya hitilafu hii</a>' in swahili.html
    quiet = await app.engine.card("ntsa", "en")  # no incident: no record to link
    assert quiet is not None and "<a href" not in quiet.html


async def test_without_a_public_url_cards_have_no_record_link(store: Store) -> None:
    await store.open_incident("kra", State.MAJOR_OUTAGE, Text("iTax is down"), actor="cli")
    card = await assemble(Settings(), store, cache_seconds=0).engine.card("kra", "en")
    assert card is not None and "<a href" not in card.html


def test_the_link_is_escaped_as_an_attribute() -> None:
    links = incident_links(Settings(public_url='https://status.example/a"b&c/'))
    assert links is not None
    back = Event(id=1, service_id="kra", kind=EventKind.RESOLVED, state=State.OPERATIONAL,
                 created_at=datetime(2026, 12, 1, 9, tzinfo=UTC), incident_id=5)
    reply = notification(translator("en"), _service(), back, back.created_at, incident_link=links)
    assert '<a href="https://status.example/a&quot;b&amp;c/incidents/5">' in reply.html
    assert "working again" in reply.plain


def test_the_reporters_working_again_links_to_the_record() -> None:
    reply = working_again(translator("sw"), _service(), ["ABC123"], record=f"{PUBLIC}incidents/9")
    assert f'<a href="{PUBLIC}incidents/9">Kumbukumbu kamili ya hitilafu hii</a>' in reply.html
    assert "<a href" not in working_again(translator("en"), _service(), ["ABC123"]).html


def _service():  # type: ignore[no-untyped-def]
    from bot.catalog.loader import load_catalog

    return load_catalog()["kra"]
