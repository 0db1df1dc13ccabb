"""Subscribing, as citizens do it: /subscribe, the card's button, free text, deep links, /alerts, /quiet.

Every channel comes through here, so a button, a command and "nifahamishe ecitizen ikirudi" behave
alike. The handlers only parse the update and send what these functions return.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Protocol

from bot import render
from bot.catalog.model import Catalog, Service
from bot.core.board import StatusBoard
from bot.core.notifications import ALL_SERVICES, QuietHoursError, parse_quiet
from bot.core.recipient import Recipient
from bot.core.understanding import Intent, Understander, Understanding
from bot.i18n import Translator, translator
from bot.render import Reply
from bot.render import notify as texts

# What people type for "every service".
ALL_WORDS = frozenset({"all", "*", "everything", "zote", "yote", "kila", "huduma zote", "all services"})
DEEP_LINK_PREFIX = "sub-"


class SubscriptionStore(Protocol):
    async def subscribe(self, recipient: Recipient, service_id: str, language: str) -> bool: ...
    async def unsubscribe(self, recipient: Recipient, service_id: str | None) -> list[str]: ...
    async def following(self, recipient: Recipient) -> list[str]: ...
    async def is_subscribed(self, recipient: Recipient, service_id: str) -> bool: ...
    async def set_quiet(self, recipient: Recipient, hours: tuple[int, int] | None, language: str) -> None: ...
    async def quiet_hours(self, recipient: Recipient) -> tuple[int, int] | None: ...


class Subscriptions:
    """The citizen's side of notifications, for one store and one status board."""

    def __init__(self, board: StatusBoard, store: SubscriptionStore,
                 understander: Callable[[Catalog], Understander] = Understander) -> None:
        self.board = board
        self.store = store
        self.understander = understander

    async def _catalog(self) -> Catalog:
        return (await self.board.snapshot()).catalog

    async def _resolve(self, text: str) -> tuple[str | None, list[Service], Catalog]:
        """A typed service name → (id or ALL_SERVICES, candidates when unsure, catalogue)."""
        catalog = await self._catalog()
        value = text.strip().lower()
        if value in ALL_WORDS:
            return ALL_SERVICES, [], catalog
        if value in catalog:
            return value, [], catalog
        service_id, candidates = self.understander(catalog).match_service(text[:200])
        if service_id is not None:
            return service_id, [], catalog
        return None, [s for s in (catalog.get(c) for c in candidates) if s is not None], catalog

    # --- subscribing ----------------------------------------------------------------------------

    async def subscribe(self, recipient: Recipient, text: str, lang: str) -> Reply:
        """/subscribe [service|all]."""
        t = translator(lang)
        if not text.strip():
            return texts.choose_service(t, await self._common())
        service_id, candidates, catalog = await self._resolve(text)
        if service_id is None:
            return texts.choose_service(t, candidates or await self._common())
        return await self.subscribe_id(recipient, service_id, lang, catalog=catalog)

    async def subscribe_id(self, recipient: Recipient, service_id: str, lang: str, *,
                           catalog: Catalog | None = None) -> Reply:
        catalog = catalog or await self._catalog()
        service = catalog.get(service_id)
        if service is None and service_id != ALL_SERVICES:
            return Reply(render.button_expired(translator(lang)))
        added = await self.store.subscribe(recipient, service_id, lang)
        return texts.subscribed(translator(lang), service, already=not added)

    async def deep_link(self, recipient: Recipient, payload: str, lang: str) -> Reply | None:
        """/start sub-<service>: None when the payload is not a subscription link."""
        if not payload.startswith(DEEP_LINK_PREFIX):
            return None
        key = payload.removeprefix(DEEP_LINK_PREFIX).strip().lower()
        catalog = await self._catalog()
        if key != "all" and key not in catalog:
            return texts.unknown_link_service(translator(lang), key)
        return await self.subscribe_id(recipient, ALL_SERVICES if key == "all" else key, lang, catalog=catalog)

    # --- unsubscribing ---------------------------------------------------------------------------

    async def unsubscribe(self, recipient: Recipient, text: str, lang: str) -> Reply:
        """/unsubscribe [service|all]; without one, the list with remove buttons."""
        if not text.strip():
            return await self.alerts(recipient, lang)
        service_id, _, catalog = await self._resolve(text)
        if service_id is None:
            return await self.alerts(recipient, lang)
        return await self._remove(recipient, service_id, lang, catalog)

    async def _remove(self, recipient: Recipient, service_id: str, lang: str, catalog: Catalog) -> Reply:
        t = translator(lang)
        everything = service_id == ALL_SERVICES
        removed = await self.store.unsubscribe(recipient, None if everything else service_id)
        return texts.unsubscribed(t, self._names(t, catalog, removed), everything=everything)

    async def remove_from_list(self, recipient: Recipient, service_id: str, lang: str) -> Reply:
        """The ❌ button of /alerts: remove it, show the list again."""
        await self.store.unsubscribe(recipient, service_id)
        return await self.alerts(recipient, lang)

    async def alerts(self, recipient: Recipient, lang: str) -> Reply:
        """/alerts: what this chat follows."""
        t = translator(lang)
        catalog = await self._catalog()
        followed = await self.store.following(recipient)
        pairs = [(sid, name) for sid, name in zip(followed, self._names(t, catalog, followed), strict=True)]
        return texts.alerts(t, pairs, await self.store.quiet_hours(recipient))

    # --- the status card's button -------------------------------------------------------------------

    async def toggle(self, recipient: Recipient, service_id: str, lang: str, *, on: bool) -> bool | None:
        """🔔 / 🔕 on a card; returns the new state, or None for an unknown service."""
        if service_id not in await self._catalog():
            return None
        if on:
            await self.store.subscribe(recipient, service_id, lang)
        else:
            await self.store.unsubscribe(recipient, service_id)
        return on

    async def is_subscribed(self, recipient: Recipient | None, service_id: str) -> bool:
        return recipient is not None and await self.store.is_subscribed(recipient, service_id)

    # --- quiet hours ------------------------------------------------------------------------------

    async def quiet(self, recipient: Recipient, text: str, lang: str) -> Reply:
        """/quiet 22-6, /quiet off; without an argument, how to use it."""
        t = translator(lang)
        if not text.strip():
            return texts.quiet_usage(t)
        try:
            hours = parse_quiet(text)
        except QuietHoursError:
            return texts.quiet_usage(t, invalid=text)
        await self.store.set_quiet(recipient, hours, lang)
        return texts.quiet_set(t, hours)

    # --- free text ---------------------------------------------------------------------------------

    async def understood(self, recipient: Recipient | None, u: Understanding, lang: str) -> Reply:
        """What the Understander made of "nifahamishe ecitizen ikirudi" / "acha kunitumia messages"."""
        t = translator(lang)
        catalog = await self._catalog()
        if recipient is None:
            return texts.subscribe_elsewhere(t, catalog.get(u.service) if u.service else None,
                                             unsubscribe=u.intent is Intent.UNSUBSCRIBE)
        if u.intent is Intent.SUBSCRIBE:
            if u.service is None and u.all_services:
                return await self.subscribe_id(recipient, ALL_SERVICES, lang, catalog=catalog)
            if u.service is None:
                candidates = [s for s in (catalog.get(c) for c in u.candidates) if s is not None]
                return texts.choose_service(t, candidates or await self._common())
            return await self.subscribe_id(recipient, u.service, lang, catalog=catalog)
        if u.service is not None:
            return await self._remove(recipient, u.service, lang, catalog)
        if u.all_services:
            return await self._remove(recipient, ALL_SERVICES, lang, catalog)
        return await self.alerts(recipient, lang)

    async def alerts_names(self, ids: Sequence[str], lang: str) -> list[str]:
        """Service names for /privacy."""
        return self._names(translator(lang), await self._catalog(), ids)

    # --- helpers -----------------------------------------------------------------------------------

    async def _common(self) -> list[Service]:
        catalog = await self._catalog()
        return [s for s in (catalog.get(i) for i in texts.COMMON) if s is not None]

    @staticmethod
    def _names(t: Translator, catalog: Catalog, ids: Sequence[str]) -> list[str]:
        names = []
        for sid in ids:
            if sid == ALL_SERVICES:
                names.append(texts.all_services_name(t))
            else:
                service = catalog.get(sid)
                names.append(service.name.get(t.lang) if service else sid)
        return names
