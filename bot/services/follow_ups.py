"""The "it's working again" message to citizens who reported a service: what the outbox will deliver.

`follow_up_hook` is given to the store at construction (`bot.app.make_store`): when a service's
effective status returns to operational (an incident resolved, a check passing again, the crowd signal
clearing with nothing else wrong), the outbox runs it inside the transaction that records the return,
and it queues one delivery per reporter. The outbox decides when to send (quiet hours) and retries;
nothing here sends.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime

from bot.catalog.model import Catalog
from bot.core.notifications import Event, EventKind
from bot.core.recipient import Recipient
from bot.core.status import State
from bot.i18n import translator
from bot.render import Reply
from bot.render.reports import working_again
from bot.store.db import AsyncSession
from bot.store.outbox import ReturnHook, incident_of_event, record_direct_event
from bot.store.repo import Store
from bot.store.reports import ReportStore


@dataclass(frozen=True)
class FollowUpMessage:
    chat_id: int
    language: str
    service_id: str
    references: tuple[str, ...]
    reply: Reply


async def report_follow_ups(
    reports: ReportStore, catalog: Catalog, service_id: str, returned_at: datetime,
    *, session: AsyncSession | None = None, record: str | None = None,
) -> list[FollowUpMessage]:
    """The messages for everyone who reported `service_id` in the 24 hours before `returned_at`.

    Citizens who said no to the follow-up are not included (their chat id was never kept). Claiming
    drops the chat ids: pass the outbox's `session` so that happens only if the deliveries are queued,
    and call this once per return to operational (a second call returns nothing). `record`: the
    address of the resolved incident's public record, linked from each message.
    """
    service = catalog.get(service_id)
    if service is None:
        return []
    messages = []
    for follow_up in await reports.claim_follow_ups(service_id, returned_at, session=session):
        t = translator(follow_up.language)
        messages.append(FollowUpMessage(follow_up.chat_id, t.lang, service_id, follow_up.references,
                                        working_again(t, service, follow_up.references, record=record)))
    return messages


def follow_up_hook(reports: ReportStore, incident_link: Callable[[int], str] | None = None) -> ReturnHook:
    """The outbox hook that queues the reporters' "it's working again" when a service returns.

    Each message is its own event (kind REPORT_FOLLOW_UP, the rendered text in its payload) with one
    delivery to the reporter, queued in the transaction that records the return: the chat ids are
    dropped only if the deliveries are queued. A reporter who also follows the service gets only
    this message for that return: it replaces their pending copy of the subscribers' "it's back".
    """

    async def queue(session: AsyncSession, service_id: str, returned_at: datetime, back_event: int) -> None:
        catalog = await Store.catalog_in(session)
        incident = await incident_of_event(session, back_event) if incident_link is not None else None
        record = incident_link(incident) if incident_link is not None and incident is not None else None
        for message in await report_follow_ups(reports, catalog, service_id, returned_at, session=session,
                                               record=record):
            event = Event(id=0, service_id=service_id, kind=EventKind.REPORT_FOLLOW_UP,
                          state=State.OPERATIONAL, created_at=returned_at, since=returned_at,
                          rendered={message.language: message.reply.html})
            await record_direct_event(session, event, Recipient.telegram(message.chat_id), message.language,
                                      replaces=back_event)

    return queue
