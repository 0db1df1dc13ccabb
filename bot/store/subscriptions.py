"""Subscriptions: who follows what. Recipients (`bot.core.recipient`), the services each follows, quiet
hours, and the public channel.

A recipient is a medium and an address on it; a Telegram chat is ("telegram", "<chat id>"). Telegram
recipients are also in the store's chat cache (`bot.store.chats`), which every change made here
drops, so the next update from the chat reads what is now true.

What is queued for a recipient is the outbox's (`bot.store.outbox`); unsubscribing from everything and
clearing quiet hours also act on what is queued, in the same transaction.
"""

from __future__ import annotations

from contextlib import AbstractAsyncContextManager
from dataclasses import dataclass
from typing import TYPE_CHECKING

from sqlalchemy import ColumnElement, delete, func, select, tuple_, update
from sqlalchemy.ext.asyncio import AsyncSession

from bot.core.notifications import ALL_SERVICES, BILINGUAL
from bot.core.recipient import Recipient
from bot.store.chats import changing
from bot.store.db import rowcount
from bot.store.models import PENDING, DeliveryRow, SubscriberRow, SubscriptionRow

if TYPE_CHECKING:
    from bot.store.repo import Store



@dataclass(frozen=True)
class SubscriberData:
    recipient: Recipient
    language: str | None
    quiet: tuple[int, int] | None
    active: bool
    services: tuple[str, ...]


def of(recipient: Recipient) -> tuple[str, str]:
    """The recipient as the key its rows are stored under."""
    return recipient.medium, recipient.address


def addressed(table: type[SubscriberRow] | type[SubscriptionRow] | type[DeliveryRow],
              recipient: Recipient) -> tuple[ColumnElement[bool], ColumnElement[bool]]:
    """The rows of `table` that are the recipient's (its medium and address)."""
    return table.medium == recipient.medium, table.address == recipient.address


class Subscriptions:
    """A part of the store (`Subscriptions(store)`): who follows which service, on the store's database."""

    def __init__(self, store: Store) -> None:
        self.store = store

    def _changing(self, recipient: Recipient, *, cached: bool = True) -> AbstractAsyncContextManager[AsyncSession]:
        """A transaction that changes what `recipient` follows, and drops a Telegram chat's cached state."""
        return changing(self.store.sessions, self.store.chats if cached else None, recipient.telegram_chat)

    async def subscribe(self, recipient: Recipient, service_id: str, language: str) -> bool:
        """Follow a service (or ALL_SERVICES); returns False when the recipient already did."""
        now = self.store.clock()
        async with self._changing(recipient) as session:
            subscriber = await session.get(SubscriberRow, of(recipient))
            if subscriber is None:
                session.add(SubscriberRow(medium=recipient.medium, address=recipient.address, language=language,
                                          active=True, created_at=now))
                await session.flush()
            else:
                subscriber.language, subscriber.active = language, True
            if await session.get(SubscriptionRow, (*of(recipient), service_id)) is not None:
                return False
            session.add(SubscriptionRow(medium=recipient.medium, address=recipient.address, service_id=service_id,
                                        created_at=now))
            return True

    async def unsubscribe(self, recipient: Recipient, service_id: str | None) -> list[str]:
        """Stop following one service, or everything (None). Returns what was removed."""
        async with self._changing(recipient) as session:
            query = select(SubscriptionRow.service_id).where(*addressed(SubscriptionRow, recipient))
            if service_id is not None:
                query = query.where(SubscriptionRow.service_id == service_id)
            removed = list((await session.scalars(query)).all())
            if removed:
                await session.execute(delete(SubscriptionRow).where(
                    *addressed(SubscriptionRow, recipient), SubscriptionRow.service_id.in_(removed)))
            if service_id is None:
                # Nothing followed any more: what is queued would surprise the recipient.
                await session.execute(delete(DeliveryRow).where(
                    *addressed(DeliveryRow, recipient), DeliveryRow.status == PENDING))
            return removed

    async def following(self, recipient: Recipient) -> list[str]:
        """The services the recipient follows (ALL_SERVICES for every service), oldest first."""
        async with self.store.sessions() as session:
            return list((await session.scalars(
                select(SubscriptionRow.service_id).where(*addressed(SubscriptionRow, recipient))
                .order_by(SubscriptionRow.created_at, SubscriptionRow.service_id)
            )).all())

    async def is_subscribed(self, recipient: Recipient, service_id: str) -> bool:
        """Whether the recipient hears about this service (directly or through "all").

        For a Telegram chat read in the last minute (it has just sent an update), from the chat cache.
        """
        chat_id = recipient.telegram_chat
        if chat_id is not None:
            state = self.store.chats.cached(chat_id)
            if state is not None:
                return service_id in state.follows or ALL_SERVICES in state.follows
        async with self.store.sessions() as session:
            found = await session.scalar(
                select(SubscriptionRow.service_id).where(
                    *addressed(SubscriptionRow, recipient),
                    SubscriptionRow.service_id.in_((service_id, ALL_SERVICES))).limit(1))
            return found is not None

    async def set_quiet(self, recipient: Recipient, hours: tuple[int, int] | None, language: str) -> None:
        """Set or clear quiet hours; clearing releases whatever is held for them."""
        now = self.store.clock()
        # Through `changing` for its NotSaved; quiet hours are not in the chat cache: nothing to drop.
        async with self._changing(recipient, cached=False) as session:
            subscriber = await session.get(SubscriberRow, of(recipient))
            if subscriber is None:
                subscriber = SubscriberRow(medium=recipient.medium, address=recipient.address, language=language,
                                           active=True, created_at=now)
                session.add(subscriber)
            subscriber.quiet_start, subscriber.quiet_end = hours if hours else (None, None)
            if hours is None:
                await session.execute(
                    update(DeliveryRow)
                    .where(*addressed(DeliveryRow, recipient), DeliveryRow.status == PENDING,
                           DeliveryRow.not_before > now)
                    .values(not_before=now).execution_options(synchronize_session=False))

    async def subscriber(self, recipient: Recipient) -> SubscriberData | None:
        async with self.store.sessions() as session:
            row = await session.get(SubscriberRow, of(recipient))
            if row is None:
                return None
            services = (await session.scalars(select(SubscriptionRow.service_id).where(
                *addressed(SubscriptionRow, recipient)).order_by(SubscriptionRow.created_at))).all()
            quiet = (row.quiet_start, row.quiet_end) if row.quiet_start is not None and \
                row.quiet_end is not None else None
            return SubscriberData(recipient, row.language, quiet, row.active, tuple(services))

    async def quiet_hours(self, recipient: Recipient) -> tuple[int, int] | None:
        data = await self.subscriber(recipient)
        return data.quiet if data is not None else None

    async def count_subscribers(self) -> int:
        async with self.store.sessions() as session:
            return int(await session.scalar(select(func.count()).select_from(SubscriberRow)
                                             .where(SubscriberRow.active.is_(True),
                                                    SubscriberRow.channel.is_(False))) or 0)

    async def subscription_counts(self) -> dict[str, int]:
        """Active recipients following each service id (ALL_SERVICES for "every service"); counts only."""
        async with self.store.sessions() as session:
            rows = (await session.execute(
                select(SubscriptionRow.service_id, func.count())
                .join(SubscriberRow, _joined())
                .where(SubscriberRow.active.is_(True), SubscriberRow.channel.is_(False))
                .group_by(SubscriptionRow.service_id))).all()
        return {str(service): int(n) for service, n in rows}

    async def count_following(self) -> int:
        """Active recipients that follow at least one service (one that stopped everything is not counted)."""
        following = (
            select(SubscriptionRow.medium, SubscriptionRow.address).distinct()
            .join(SubscriberRow, _joined())
            .where(SubscriberRow.active.is_(True), SubscriberRow.channel.is_(False))
        ).subquery()
        async with self.store.sessions() as session:
            return int(await session.scalar(select(func.count()).select_from(following)) or 0)

    # --- the public channel ------------------------------------------------------------------------

    async def set_channel(self, channel: Recipient | None, link: str | None = None) -> None:
        """Make `channel` the public channel (a subscriber of everything, in both languages), or none.

        A channel set before under another address stops receiving posts; what was queued for it is dropped.
        """
        now = self.store.clock()
        async with self.store.sessions.begin() as session:
            old = select(SubscriberRow.medium, SubscriberRow.address).where(SubscriberRow.channel.is_(True))
            if channel is not None:
                old = old.where(tuple_(SubscriberRow.medium, SubscriberRow.address) != of(channel))
            for table in (DeliveryRow, SubscriptionRow, SubscriberRow):
                condition: list[ColumnElement[bool]] = [tuple_(table.medium, table.address).in_(old)]
                if table is DeliveryRow:
                    condition.append(DeliveryRow.status == PENDING)
                await session.execute(delete(table).where(*condition))
            if channel is None:
                return
            row = await session.get(SubscriberRow, of(channel))
            if row is None:
                session.add(SubscriberRow(medium=channel.medium, address=channel.address, language=BILINGUAL,
                                          active=True, created_at=now, channel=True, link=link))
                await session.flush()
            else:
                row.language, row.active, row.channel, row.link = BILINGUAL, True, True, link
                row.quiet_start = row.quiet_end = None
            if await session.get(SubscriptionRow, (*of(channel), ALL_SERVICES)) is None:
                session.add(SubscriptionRow(medium=channel.medium, address=channel.address,
                                            service_id=ALL_SERVICES, created_at=now))

    async def channel(self) -> tuple[Recipient, str | None] | None:
        """The public channel and its link, when one is set and reachable."""
        async with self.store.sessions() as session:
            row = (await session.execute(
                select(SubscriberRow.medium, SubscriberRow.address, SubscriberRow.link).where(
                    SubscriberRow.channel.is_(True), SubscriberRow.active.is_(True)))).first()
        return (Recipient(row[0], row[1]), row[2]) if row is not None else None


def _joined() -> ColumnElement[bool]:
    """A subscription's subscriber: the join condition on (medium, address)."""
    return (SubscriberRow.medium == SubscriptionRow.medium) & (SubscriberRow.address == SubscriptionRow.address)


async def forget_recipient(session: AsyncSession, recipient: Recipient) -> bool:
    """Erase a recipient's subscriptions, quiet hours and every delivery row; part of /forget."""
    removed = await session.execute(delete(DeliveryRow).where(*addressed(DeliveryRow, recipient)))
    await session.execute(delete(SubscriptionRow).where(*addressed(SubscriptionRow, recipient)))
    gone = await session.execute(delete(SubscriberRow).where(*addressed(SubscriberRow, recipient)))
    return bool(rowcount(removed) or rowcount(gone))


__all__ = ["SubscriberData", "Subscriptions", "addressed", "forget_recipient"]
