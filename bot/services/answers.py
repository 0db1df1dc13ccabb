"""The answering engine: understand a message, look up the status, render the reply.

The Telegram handlers, `hali ask` and `hali chat` all go through here, so every channel answers alike.
"""

from __future__ import annotations

import logging
from collections import Counter, OrderedDict
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from bot import render
from bot.catalog.model import Catalog, Service
from bot.core.board import Snapshot, StatusBoard
from bot.core.clock import Clock, system_clock
from bot.core.recipient import Recipient
from bot.core.understanding import Intent, Symptom, Understander, Understanding
from bot.i18n import Translator, choose_language, translator
from bot.render import Reply
from bot.render import notify as notify_texts
from bot.render.checks import card_extra, dependency_lines, maintenance_lines
from bot.services.subscriptions import Subscriptions, SubscriptionStore
from bot.store.errors import STORE_FAILURES

log = logging.getLogger(__name__)

# Long messages are answered from their beginning; nobody asks about a service in paragraph ten.
MAX_TEXT = 1000
# During an outage thousands ask the same few questions ("ecitizen iko down?"): understanding is a
# pure function of the text and the catalogue, so short texts' results are kept (bounded).
MEMO_TEXT = 200
MEMO_SIZE = 4096


@dataclass(frozen=True)
class Answer:
    intent: Intent
    service: str | None
    language: str
    reply: Reply
    symptom: Symptom | None = None
    unsure: bool = False  # a report that may be a status question: `reply` is the card (see Understanding)

    def as_json(self) -> dict[str, Any]:
        return {
            "intent": self.intent.value,
            "service": self.service,
            "language": self.language,
            "text": self.reply.plain,
        }


class Engine:
    def __init__(
        self, board: StatusBoard, *, clock: Clock = system_clock, following: SubscriptionStore | None = None,
        channel_link: str | None = None, incident_link: Callable[[int], str] | None = None,
    ) -> None:
        self.board = board
        self.clock = clock
        self.channel_link = channel_link  # the public channel: cards link to it during an outage
        self.incident_link = incident_link  # an incident's public record (HALI_PUBLIC_URL), for cards
        # Answers given, by intent and language: read by the metrics at scrape time.
        self.answered: Counter[tuple[str, str]] = Counter()
        self._understander: tuple[Catalog, Understander] | None = None
        self._understood: OrderedDict[str, Understanding] = OrderedDict()
        # Cards of the current snapshot, for the current second: (snapshot, second) -> cards.
        self._cards: tuple[Snapshot, int, dict[tuple[str, str, bool], Reply]] | None = None
        # Who follows what (the store's subscriptions); without it the engine answers, but cannot subscribe.
        self.following = following

    @property
    def subscriptions(self) -> Subscriptions:
        """Subscribing and unsubscribing; needs `following`, the store of subscriptions."""
        if self.following is None:
            raise RuntimeError("this engine has no subscription store")
        return Subscriptions(self.board, self.following, self.understander)

    async def _subscribed(self, snapshot: Snapshot, recipient: Recipient | None, service_id: str | None) -> bool:
        """Whether the card's button says "Stop notifications"; not known while the store is away."""
        if recipient is None or service_id is None or self.following is None:
            return False
        if snapshot.stale:
            return False  # the store did not answer the board just now: do not wait for it again
        try:
            return await self.following.is_subscribed(recipient, service_id)
        except STORE_FAILURES:
            log.warning("could not read a chat's subscriptions; the card offers to subscribe")
            return False

    def understander(self, catalog: Catalog) -> Understander:
        # The catalogue object only changes when the services change, so this rebuilds rarely.
        if self._understander is None or self._understander[0] is not catalog:
            self._understander = (catalog, Understander(catalog))
            self._understood.clear()
        return self._understander[1]

    async def understand(self, text: str) -> tuple[Snapshot, Understanding]:
        snapshot = await self.board.snapshot()
        understander = self.understander(snapshot.catalog)
        if len(text) > MEMO_TEXT:
            return snapshot, understander.understand(text[:MAX_TEXT])
        memo = self._understood
        u = memo.get(text)
        if u is None:
            u = memo[text] = understander.understand(text)
            if len(memo) > MEMO_SIZE:
                memo.popitem(last=False)
        else:
            memo.move_to_end(text)
        return snapshot, u

    async def answer(
        self, text: str, *, stored_language: str | None = None, telegram_language: str | None = None,
        recipient: Recipient | None = None,
    ) -> Answer:
        """Answer one free-text message; with `recipient` (who asks), subscription requests act on it."""
        snapshot, u = await self.understand(text)
        lang = choose_language(stored=stored_language, detected=u.language, telegram_code=telegram_language)
        t = translator(lang)
        if u.intent in (Intent.SUBSCRIBE, Intent.UNSUBSCRIBE):
            if recipient is None or self.following is None:
                service = snapshot.catalog.get(u.service) if u.service else None
                reply = notify_texts.subscribe_elsewhere(t, service, unsubscribe=u.intent is Intent.UNSUBSCRIBE)
            else:
                reply = await self.subscriptions.understood(recipient, u, lang)
            self.answered[u.intent.value, lang] += 1
            return Answer(u.intent, u.service, lang, reply, u.symptom)
        self.answered[u.intent.value, lang] += 1
        reply = self._reply(t, snapshot, u, subscribed=await self._subscribed(snapshot, recipient, u.service))
        return Answer(u.intent, u.service, lang, reply, u.symptom, u.unsure)

    def _reply(self, t: Translator, snapshot: Snapshot, u: Understanding, *, subscribed: bool = False) -> Reply:
        now = self.clock()
        service = snapshot.catalog.get(u.service) if u.service else None
        if u.intent is Intent.GREETING:
            return render.greeting(t)
        if u.intent is Intent.THANKS:
            return render.thanks(t)
        if u.intent is Intent.HELP:
            return render.help_text(t)
        if u.intent is Intent.LANGUAGE:
            return render.language_menu(t)
        if u.intent is Intent.FORGET:
            return render.forget_confirm(t)
        if service is None:
            return self._clarify(t, snapshot, u)
        status = snapshot.status(service.id)
        if u.intent is Intent.WORKAROUND:
            return render.workarounds(t, service, status, now, _workaround_extra(t, snapshot, service, now))
        return self._card(t, snapshot, service, now, subscribed=subscribed)

    def _card(self, t: Translator, snapshot: Snapshot, service: Service, now: datetime, *,
              subscribed: bool) -> Reply:
        """The card, rendered once per second and snapshot: everyone asking about a service at once
        gets the same words (the times on it are to the minute)."""
        second = int(now.timestamp())
        if self._cards is None or self._cards[0] is not snapshot or self._cards[1] != second:
            self._cards = (snapshot, second, {})
        cards = self._cards[2]
        key = (service.id, t.lang, subscribed)
        reply = cards.get(key)
        if reply is None:
            reply = cards[key] = _render_card(t, snapshot, service, now, subscribed=subscribed,
                                              channel=self.channel_link, incident_link=self.incident_link)
        return reply

    def _clarify(self, t: Translator, snapshot: Snapshot, u: Understanding) -> Reply:
        catalog = snapshot.catalog
        if u.ambiguous is not None:
            return render.which_one(t, u.ambiguous, _services(catalog, u.ambiguous.services))
        if u.candidates:
            return render.did_you_mean(t, _services(catalog, u.candidates))
        if u.intent is Intent.STATUS and u.all_services:
            # "huduma zote", "orodha ya huduma": every service with its state.
            return render.services_list(t, snapshot, self.clock())
        if u.intent is Intent.STATUS and not u.mentioned:
            # "is anything down?" / "system iko down?": the overview is the honest answer.
            return render.problems(t, snapshot, self.clock())
        if u.intent in (Intent.STATUS, Intent.REPORT, Intent.WORKAROUND):
            return render.which_service(t, snapshot)
        return render.not_understood(t)

    # --- commands and buttons ------------------------------------------------------------------

    async def status(self, arg: str, lang: str, *, recipient: Recipient | None = None) -> tuple[str | None, Reply]:
        """/status [service]: a card, a choice, or the overview of problems."""
        snapshot = await self.board.snapshot()
        t = translator(lang)
        self.answered[Intent.STATUS.value, lang] += 1
        if not arg.strip():
            return None, render.problems(t, snapshot, self.clock())
        understander = self.understander(snapshot.catalog)
        service_id, candidates = understander.match_service(arg[:MAX_TEXT])
        if service_id is not None:
            return service_id, self._card(t, snapshot, snapshot.catalog[service_id], self.clock(),
                                          subscribed=await self._subscribed(snapshot, recipient, service_id))
        u = understander.understand(arg[:MAX_TEXT])
        if u.ambiguous is not None:
            return None, render.which_one(t, u.ambiguous, _services(snapshot.catalog, u.ambiguous.services))
        if candidates:
            return None, render.did_you_mean(t, _services(snapshot.catalog, candidates))
        return None, render.which_service(t, snapshot)

    async def card(self, service_id: str, lang: str, *, recipient: Recipient | None = None) -> Reply | None:
        snapshot = await self.board.snapshot()
        service = snapshot.catalog.get(service_id)
        if service is None:
            return None
        return self._card(translator(lang), snapshot, service, self.clock(),
                          subscribed=await self._subscribed(snapshot, recipient, service_id))

    async def workarounds(self, service_id: str, lang: str) -> Reply | None:
        snapshot = await self.board.snapshot()
        service = snapshot.catalog.get(service_id)
        if service is None:
            return None
        t, now = translator(lang), self.clock()
        return render.workarounds(t, service, snapshot.status(service_id), now,
                                  _workaround_extra(t, snapshot, service, now))

    async def services_list(self, lang: str) -> Reply:
        snapshot = await self.board.snapshot()
        return render.services_list(translator(lang), snapshot, self.clock())


def _render_card(t: Translator, snapshot: Snapshot, service: Service, now: datetime, *,
                 subscribed: bool = False, channel: str | None = None,
                 incident_link: Callable[[int], str] | None = None) -> Reply:
    """The status card, with the dependency, maintenance and check lines the snapshot knows."""
    extra = card_extra(t, snapshot, service.id, now)
    return render.status_card(t, service, snapshot.status(service.id), now, extra, subscribed=subscribed,
                              channel=channel, incident_link=incident_link,
                              stale_since=snapshot.taken_at if snapshot.stale else None)


def _workaround_extra(t: Translator, snapshot: Snapshot, service: Service, now: datetime) -> list[str]:
    """What "what can I do instead?" says about the state besides its own: dependencies, maintenance."""
    stale = [render.stale_note(t, snapshot.taken_at, now)] if snapshot.stale and snapshot.taken_at else []
    return dependency_lines(t, snapshot, service.id) + maintenance_lines(
        t, snapshot.planned.get(service.id, ()), now) + stale


def _services(catalog: Catalog, ids: tuple[str, ...] | list[str]) -> list[Service]:
    return [s for s in (catalog.get(i) for i in ids) if s is not None]
