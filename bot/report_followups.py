"""The "it's working again" message to citizens who reported a service: what the outbox will deliver.

Wiring point for the notification outbox (not on this branch): when the status watcher sees a
service's effective status return to operational (an incident resolved, a check passing again, the
crowd signal clearing with nothing else wrong), call `report_follow_ups` once for that service with
the moment it returned, inside the transaction that queues the deliveries, and queue one delivery per
returned message. The outbox decides when to send (quiet hours) and retries; nothing here sends.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from bot.catalog.model import Catalog
from bot.i18n import translator
from bot.render import Reply
from bot.render.reports import working_again
from bot.store.db import AsyncSession
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
    *, session: AsyncSession | None = None,
) -> list[FollowUpMessage]:
    """The messages for everyone who reported `service_id` in the 24 hours before `returned_at`.

    Citizens who said no to the follow-up are not included (their chat id was never kept). Claiming
    drops the chat ids: pass the outbox's `session` so that happens only if the deliveries are queued,
    and call this once per return to operational (a second call returns nothing).
    """
    service = catalog.get(service_id)
    if service is None:
        return []
    messages = []
    for follow_up in await reports.claim_follow_ups(service_id, returned_at, session=session):
        t = translator(follow_up.language)
        messages.append(FollowUpMessage(follow_up.chat_id, t.lang, service_id, follow_up.references,
                                        working_again(t, service, follow_up.references)))
    return messages
