"""Subscriptions, notification events and the delivery outbox: the queries behind notifications.

Design
------
* An event and its delivery rows are written in ONE transaction (`record_event`), with the change
  that caused it: the incident change for operator events, the watch state for automatic ones. So an
  event is never lost nor told twice, whatever crashes when.
* Fan-out is one set-based ``INSERT … SELECT DISTINCT`` over the subscriptions: a chat following the
  service and "all" gets one row, and ``UNIQUE (event_id, chat_id)`` makes a second one impossible.
  100,000 subscribers are never loaded into Python.
* Dispatchers claim due rows with a lease (``claimed_by``, ``claimed_until``) in one
  ``UPDATE … WHERE id IN (SELECT … FOR UPDATE SKIP LOCKED) RETURNING``. On PostgreSQL, concurrent
  dispatchers skip each other's locked rows; on SQLite the single statement runs under the one write
  lock, which is just as exclusive. A dispatcher that dies leaves its rows claimed until the lease
  ends; then anyone may claim them again.
* Rows are marked sent as soon as Telegram confirms, in small groups (one per message at 30/s; see
  `bot.core.dispatcher`), each group in its own short transaction.
* The public channel (HALI_CHANNEL) is a subscriber of every service (`set_channel`) whose deliveries
  are one post in both languages ("en+sw"); it has no quiet hours and nobody can /forget it.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import delete, func, insert, literal, or_, select, text, update
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from bot.catalog.model import Text
from bot.core.notifications import ALL_SERVICES, BILINGUAL, Decision, Event, EventKind, WatchState, quiet_until
from bot.core.status import EffectiveStatus, Source, State
from bot.store.chats import ChatCache, changing
from bot.store.models import (
    DeliveryRow,
    IncidentRow,
    NotificationEventRow,
    SubscriberRow,
    SubscriptionRow,
    UserRow,
    WatchStateRow,
)

PENDING, SENT, FAILED, DEACTIVATED = "pending", "sent", "failed", "deactivated"

ReturnHook = Callable[[AsyncSession, str, datetime, int], Awaitable[None]]
"""Called inside the outbox's transaction when a service returns to operational:
(session, service_id, returned_at, id of the subscribers' "it's back" event). Report follow-ups use it."""
_WATCH_LOCK_KEY = 0x4A412  # PostgreSQL advisory lock: one watcher tick at a time across processes


@dataclass(frozen=True)
class Claimed:
    """A delivery a dispatcher holds under lease."""

    id: int
    event_id: int
    chat_id: int
    language: str
    attempts: int
    first_failed_at: datetime | None = None


@dataclass(frozen=True)
class SubscriberData:
    chat_id: int
    language: str | None
    quiet: tuple[int, int] | None
    active: bool
    services: tuple[str, ...]


@dataclass(frozen=True)
class EventCounts:
    event_id: int
    service_id: str
    kind: str
    state: str
    created_at: datetime
    pending: int = 0
    sent: int = 0
    failed: int = 0
    deactivated: int = 0

    def as_json(self) -> dict[str, Any]:
        return {
            "event": self.event_id, "service": self.service_id, "kind": self.kind, "state": self.state,
            "created_at": self.created_at.isoformat(), "pending": self.pending, "sent": self.sent,
            "failed": self.failed, "deactivated": self.deactivated,
        }


# --- writing events (inside someone else's transaction) -------------------------------------------


async def _event_row(session: AsyncSession, event: Event) -> NotificationEventRow:
    """Add the event's row and flush, so its id is known to the deliveries written next."""
    row = NotificationEventRow(
        service_id=event.service_id, kind=event.kind.value, state=event.state.value,
        previous_state=event.previous_state.value if event.previous_state else None,
        incident_id=event.incident_id, since=event.since, created_at=event.created_at,
        payload=_payload(event),
    )
    session.add(row)
    await session.flush()
    return row


async def record_event(session: AsyncSession, event: Event) -> int:
    """Store an event and queue one delivery per subscribed, active chat, in the caller's transaction.

    Returns the event id. Quiet hours are applied here: a chat inside its quiet window gets its row
    due when the window ends.
    """
    row = await _event_row(session, event)
    now = event.created_at
    subs, subscribers, users = SubscriptionRow, SubscriberRow, UserRow
    # Dependency news goes to the dependent's own followers: those following "all" already hear the
    # dependency's own news, and would otherwise get one message per dependent for one outage.
    targets = (event.service_id,) if event.kind is EventKind.DEPENDENCY else (event.service_id, ALL_SERVICES)
    chosen = (
        select(
            literal(row.id).label("event_id"),
            subs.chat_id,
            func.coalesce(users.language, subscribers.language, "en").label("language"),
        )
        .distinct()
        .join(subscribers, subscribers.chat_id == subs.chat_id)
        .outerjoin(users, users.chat_id == subs.chat_id)
        .where(subs.service_id.in_(targets), subscribers.active.is_(True))
    ).subquery()
    columns = select(chosen.c.event_id, chosen.c.chat_id, chosen.c.language,
                     literal(PENDING), literal(now, DeliveryRow.not_before.type), literal(0))
    await session.execute(
        insert(DeliveryRow).from_select(
            ["event_id", "chat_id", "language", "status", "not_before", "attempts"], columns
        )
    )
    await _hold_for_quiet_hours(session, row.id, now)
    return row.id


async def _hold_for_quiet_hours(session: AsyncSession, event_id: int, now: datetime) -> None:
    """One UPDATE per distinct quiet window (at most 24×23) that contains `now`, never per chat."""
    windows = (await session.execute(
        select(SubscriberRow.quiet_start, SubscriberRow.quiet_end).distinct()
        .where(SubscriberRow.quiet_start.is_not(None), SubscriberRow.quiet_end.is_not(None))
    )).all()
    for start, end in windows:
        until = quiet_until(now, int(start or 0), int(end or 0))
        if until is None:
            continue
        quiet_chats = select(SubscriberRow.chat_id).where(
            SubscriberRow.quiet_start == start, SubscriberRow.quiet_end == end
        )
        await session.execute(
            update(DeliveryRow)
            .where(DeliveryRow.event_id == event_id, DeliveryRow.chat_id.in_(quiet_chats))
            .values(not_before=until)
            .execution_options(synchronize_session=False)
        )


async def record_incident_event(
    session: AsyncSession, row: IncidentRow, kind: EventKind, now: datetime, *,
    message: Text | None = None, state: State | None = None, on_return: Sequence[ReturnHook] = (),
) -> int:
    """The event for an operator's change to an incident; also tells the watcher it is covered.

    A resolve that leaves the service operational runs the `on_return` hooks in the same transaction.
    """
    new_state = State.OPERATIONAL if kind is EventKind.RESOLVED else State(state or row.status)
    if kind is EventKind.RESOLVED:
        # Another incident may still be open on the service: then it is not "working again".
        others = (await session.scalars(select(IncidentRow.status).where(
            IncidentRow.service_id == row.service_id, IncidentRow.resolved_at.is_(None),
            IncidentRow.id != row.id))).all()
        if others:
            new_state = max((State(s) for s in others), key=lambda s: s.severity)
    event = Event(
        id=0, service_id=row.service_id, kind=kind, state=new_state, created_at=now,
        previous_state=State(row.status) if kind is EventKind.RESOLVED else None,
        since=now if kind is EventKind.RESOLVED else row.opened_at,
        source=Source.MAINTENANCE if row.status == State.MAINTENANCE.value else Source.INCIDENT,
        incident_id=row.id,
        title=Text(row.title_en, row.title_sw or None),
        message=message,
        workaround=Text(row.workaround_en, row.workaround_sw or None) if row.workaround_en else None,
    )
    event_id = await record_event(session, event)
    # What subscribers were just told is now the watcher's reference point for this service.
    watch = await session.get(WatchStateRow, row.service_id)
    if watch is None:
        session.add(WatchStateRow(service_id=row.service_id, told_state=new_state.value, told_at=now,
                                  changes=0, unstable=False))
    else:
        watch.told_state, watch.told_at = new_state.value, now
        watch.pending_state = watch.window_start = watch.last_change = None
        watch.changes, watch.unstable = 0, False
    if kind is EventKind.RESOLVED and new_state is State.OPERATIONAL:
        for hook in on_return:
            await hook(session, row.service_id, now, event_id)
    return event_id


async def incident_of_event(session: AsyncSession, event_id: int) -> int | None:
    """The operator's incident whose change made this event, if one did."""
    return await session.scalar(select(NotificationEventRow.incident_id).where(NotificationEventRow.id == event_id))


async def record_direct_event(
    session: AsyncSession, event: Event, chat_id: int, language: str, *, replaces: int | None = None
) -> int:
    """An event for ONE chat (a report follow-up), queued through the same outbox and quiet hours.

    `replaces`: an event whose pending delivery to this chat this one supersedes (the subscribers'
    "it's back" for the same return), so the chat hears the news once.
    """
    row = await _event_row(session, event)
    if replaces is not None:
        await session.execute(delete(DeliveryRow).where(
            DeliveryRow.event_id == replaces, DeliveryRow.chat_id == chat_id, DeliveryRow.status == PENDING))
    session.add(DeliveryRow(event_id=row.id, chat_id=chat_id, language=language, status=PENDING,
                            not_before=event.created_at, attempts=0))
    await session.flush()
    await _hold_for_quiet_hours(session, row.id, event.created_at)
    return row.id


def _text_json(value: Text | None) -> dict[str, str | None] | None:
    return {"en": value.en, "sw": value.sw} if value is not None else None


def _payload(event: Event) -> dict[str, Any]:
    return {
        "source": event.source.name.lower() if event.source is not None else None,
        "title": _text_json(event.title),
        "message": _text_json(event.message),
        "workaround": _text_json(event.workaround),
        "rendered": dict(event.rendered) if event.rendered else None,
        "key": event.key,
    }


def _text_from(value: Any) -> Text | None:
    if not isinstance(value, dict) or not value.get("en"):
        return None
    return Text(str(value["en"]), value.get("sw") or None)


def _event(row: NotificationEventRow) -> Event:
    payload = row.payload or {}
    source = payload.get("source")
    return Event(
        id=row.id, service_id=row.service_id, kind=EventKind(row.kind), state=State(row.state),
        created_at=row.created_at,
        previous_state=State(row.previous_state) if row.previous_state else None,
        since=row.since, source=Source[source.upper()] if source else None,
        incident_id=row.incident_id, title=_text_from(payload.get("title")),
        message=_text_from(payload.get("message")), workaround=_text_from(payload.get("workaround")),
        rendered=_rendered_from(payload.get("rendered")),
        key=payload.get("key") or None,
    )


def _rendered_from(value: Any) -> dict[str, str] | None:
    if not isinstance(value, dict) or not value:
        return None
    return {str(k): str(v) for k, v in value.items()}


class Outbox:
    """Subscriptions and the outbox on the store's database."""

    def __init__(self, sessions: async_sessionmaker[AsyncSession], clock: Callable[[], datetime], dialect: str,
                 *, on_return: Sequence[ReturnHook] = (), chats: ChatCache | None = None) -> None:
        self.sessions = sessions
        self.clock = clock
        self.dialect = dialect
        self.on_return = on_return
        self.chats = chats  # the store's chat cache, told of every subscription change made here

    @classmethod
    def of(cls, store: Any) -> Outbox:
        """The outbox of a `bot.store.repo.Store` (with the store's return-to-operational hooks)."""
        return cls(store.sessions, store.clock, store.engine.dialect.name,
                   on_return=tuple(getattr(store, "on_return", ())), chats=getattr(store, "chats", None))


    # --- subscriptions ----------------------------------------------------------------------------

    async def subscribe(self, chat_id: int, service_id: str, language: str) -> bool:
        """Follow a service (or ALL_SERVICES); returns False when the chat already did."""
        now = self.clock()
        async with changing(self.sessions, self.chats, chat_id) as session:
            subscriber = await session.get(SubscriberRow, chat_id)
            if subscriber is None:
                session.add(SubscriberRow(chat_id=chat_id, language=language, active=True, created_at=now))
                await session.flush()
            else:
                subscriber.language, subscriber.active = language, True
            if await session.get(SubscriptionRow, (chat_id, service_id)) is not None:
                return False
            session.add(SubscriptionRow(chat_id=chat_id, service_id=service_id, created_at=now))
            return True

    async def unsubscribe(self, chat_id: int, service_id: str | None) -> list[str]:
        """Stop following one service, or everything (None). Returns what was removed."""
        async with changing(self.sessions, self.chats, chat_id) as session:
            query = select(SubscriptionRow.service_id).where(SubscriptionRow.chat_id == chat_id)
            if service_id is not None:
                query = query.where(SubscriptionRow.service_id == service_id)
            removed = list((await session.scalars(query)).all())
            if removed:
                await session.execute(delete(SubscriptionRow).where(
                    SubscriptionRow.chat_id == chat_id, SubscriptionRow.service_id.in_(removed)))
            if service_id is None:
                # Nothing followed any more: what is queued would surprise the chat.
                await session.execute(delete(DeliveryRow).where(
                    DeliveryRow.chat_id == chat_id, DeliveryRow.status == PENDING))
            return removed

    async def subscriptions(self, chat_id: int) -> list[str]:
        async with self.sessions() as session:
            return list((await session.scalars(
                select(SubscriptionRow.service_id).where(SubscriptionRow.chat_id == chat_id)
                .order_by(SubscriptionRow.created_at, SubscriptionRow.service_id)
            )).all())

    async def is_subscribed(self, chat_id: int, service_id: str) -> bool:
        """Whether the chat hears about this service (directly or through "all").

        From the chat cache when the chat was read in the last minute (it has just sent an update).
        """
        state = self.chats.cached(chat_id) if self.chats is not None else None
        if state is not None:
            return service_id in state.follows or ALL_SERVICES in state.follows
        async with self.sessions() as session:
            found = await session.scalar(
                select(SubscriptionRow.service_id).where(
                    SubscriptionRow.chat_id == chat_id,
                    SubscriptionRow.service_id.in_((service_id, ALL_SERVICES))).limit(1))
            return found is not None

    async def set_quiet(self, chat_id: int, hours: tuple[int, int] | None, language: str) -> None:
        """Set or clear quiet hours; clearing releases whatever is held for them."""
        now = self.clock()
        # Through `changing` for its NotSaved; quiet hours are not in the chat cache: nothing to drop.
        async with changing(self.sessions, None, chat_id) as session:
            subscriber = await session.get(SubscriberRow, chat_id)
            if subscriber is None:
                subscriber = SubscriberRow(chat_id=chat_id, language=language, active=True, created_at=now)
                session.add(subscriber)
            subscriber.quiet_start, subscriber.quiet_end = hours if hours else (None, None)
            if hours is None:
                await session.execute(
                    update(DeliveryRow)
                    .where(DeliveryRow.chat_id == chat_id, DeliveryRow.status == PENDING,
                           DeliveryRow.not_before > now)
                    .values(not_before=now).execution_options(synchronize_session=False))

    async def subscriber(self, chat_id: int) -> SubscriberData | None:
        async with self.sessions() as session:
            row = await session.get(SubscriberRow, chat_id)
            if row is None:
                return None
            services = (await session.scalars(select(SubscriptionRow.service_id).where(
                SubscriptionRow.chat_id == chat_id).order_by(SubscriptionRow.created_at))).all()
            quiet = (row.quiet_start, row.quiet_end) if row.quiet_start is not None and \
                row.quiet_end is not None else None
            return SubscriberData(row.chat_id, row.language, quiet, row.active, tuple(services))

    async def quiet_hours(self, chat_id: int) -> tuple[int, int] | None:
        data = await self.subscriber(chat_id)
        return data.quiet if data is not None else None

    async def count_subscribers(self) -> int:
        async with self.sessions() as session:
            return int(await session.scalar(select(func.count()).select_from(SubscriberRow)
                                             .where(SubscriberRow.active.is_(True),
                                                    SubscriberRow.channel.is_(False))) or 0)

    # --- the public channel ------------------------------------------------------------------------

    async def set_channel(self, chat_id: int | None, link: str | None = None) -> None:
        """Make `chat_id` the public channel (a subscriber of everything, in both languages), or none.

        A channel set before under another id stops receiving posts; what was queued for it is dropped.
        """
        now = self.clock()
        async with self.sessions.begin() as session:
            old = select(SubscriberRow.chat_id).where(SubscriberRow.channel.is_(True))
            if chat_id is not None:
                old = old.where(SubscriberRow.chat_id != chat_id)
            await session.execute(delete(DeliveryRow).where(DeliveryRow.chat_id.in_(old),
                                                            DeliveryRow.status == PENDING))
            await session.execute(delete(SubscriptionRow).where(SubscriptionRow.chat_id.in_(old)))
            await session.execute(delete(SubscriberRow).where(SubscriberRow.chat_id.in_(old)))
            if chat_id is None:
                return
            row = await session.get(SubscriberRow, chat_id)
            if row is None:
                session.add(SubscriberRow(chat_id=chat_id, language=BILINGUAL, active=True, created_at=now,
                                          channel=True, link=link))
                await session.flush()
            else:
                row.language, row.active, row.channel, row.link = BILINGUAL, True, True, link
                row.quiet_start = row.quiet_end = None
            if await session.get(SubscriptionRow, (chat_id, ALL_SERVICES)) is None:
                session.add(SubscriptionRow(chat_id=chat_id, service_id=ALL_SERVICES, created_at=now))

    async def channel(self) -> tuple[int, str | None] | None:
        """The public channel's chat id and link, when one is set and reachable."""
        async with self.sessions() as session:
            row = (await session.execute(select(SubscriberRow.chat_id, SubscriberRow.link).where(
                SubscriberRow.channel.is_(True), SubscriberRow.active.is_(True)))).first()
        return (int(row[0]), row[1]) if row is not None else None

    async def subscription_counts(self) -> dict[str, int]:
        """Active chats following each service id (ALL_SERVICES for "every service"); counts only."""
        async with self.sessions() as session:
            rows = (await session.execute(
                select(SubscriptionRow.service_id, func.count())
                .join(SubscriberRow, SubscriberRow.chat_id == SubscriptionRow.chat_id)
                .where(SubscriberRow.active.is_(True), SubscriberRow.channel.is_(False))
                .group_by(SubscriptionRow.service_id))).all()
        return {str(service): int(n) for service, n in rows}

    async def count_following(self) -> int:
        """Active chats that follow at least one service (a chat that stopped everything is not counted)."""
        async with self.sessions() as session:
            return int(await session.scalar(
                select(func.count(func.distinct(SubscriptionRow.chat_id)))
                .join(SubscriberRow, SubscriberRow.chat_id == SubscriptionRow.chat_id)
                .where(SubscriberRow.active.is_(True), SubscriberRow.channel.is_(False))) or 0)

    # --- the dispatcher's side ----------------------------------------------------------------------

    async def claim(self, worker: str, limit: int, lease: float) -> list[Claimed]:
        """Take up to `limit` due rows under a lease of `lease` seconds; oldest first."""
        now = self.clock()
        due = (
            select(DeliveryRow.id)
            .where(DeliveryRow.status == PENDING, DeliveryRow.not_before <= now,
                   or_(DeliveryRow.claimed_until.is_(None), DeliveryRow.claimed_until < now))
            .order_by(DeliveryRow.not_before, DeliveryRow.id)
            .limit(limit)
        )
        if self.dialect == "postgresql":
            due = due.with_for_update(skip_locked=True)
        statement = (
            update(DeliveryRow)
            .where(DeliveryRow.id.in_(due.scalar_subquery()))
            .values(claimed_by=worker, claimed_until=now + timedelta(seconds=lease))
            .returning(DeliveryRow.id, DeliveryRow.event_id, DeliveryRow.chat_id, DeliveryRow.language,
                       DeliveryRow.attempts, DeliveryRow.first_failed_at)
            .execution_options(synchronize_session=False)
        )
        async with self.sessions.begin() as session:
            rows = (await session.execute(statement)).all()
        return sorted((Claimed(*r) for r in rows), key=lambda c: c.id)

    async def renew(self, worker: str, ids: Sequence[int], lease: float) -> set[int]:
        """Extend the lease of rows still ours and pending; returns the ids that are."""
        if not ids:
            return set()
        until = self.clock() + timedelta(seconds=lease)
        async with self.sessions.begin() as session:
            rows = (await session.execute(
                update(DeliveryRow)
                .where(DeliveryRow.id.in_(list(ids)), DeliveryRow.claimed_by == worker,
                       DeliveryRow.status == PENDING)
                .values(claimed_until=until)
                .returning(DeliveryRow.id)
                .execution_options(synchronize_session=False))).scalars().all()
        return set(rows)

    async def release(self, worker: str, ids: Iterable[int], *, delay: float = 0.0) -> None:
        """Give rows back unsent (shutting down, or a chat that must wait its turn)."""
        ids = list(ids)
        if not ids:
            return
        async with self.sessions.begin() as session:
            await session.execute(
                update(DeliveryRow)
                .where(DeliveryRow.id.in_(ids), DeliveryRow.claimed_by == worker, DeliveryRow.status == PENDING)
                .values(claimed_by=None, claimed_until=None,
                        not_before=self.clock() + timedelta(seconds=delay))
                .execution_options(synchronize_session=False))

    async def mark_sent(self, ids: Sequence[int]) -> None:
        """Telegram confirmed these; one short transaction, so a crash repeats only unmarked sends."""
        if not ids:
            return
        async with self.sessions.begin() as session:
            await session.execute(
                update(DeliveryRow).where(DeliveryRow.id.in_(list(ids)))
                .values(status=SENT, sent_at=self.clock(), claimed_by=None, claimed_until=None, error=None)
                .execution_options(synchronize_session=False))

    async def retry_later(self, delivery_id: int, attempts: int, delay: float, error: str) -> None:
        """Due again in `delay` seconds; the first failure's time is kept (retries end by age)."""
        now = self.clock()
        async with self.sessions.begin() as session:
            await session.execute(
                update(DeliveryRow).where(DeliveryRow.id == delivery_id, DeliveryRow.status == PENDING)
                .values(attempts=attempts, not_before=now + timedelta(seconds=delay),
                        claimed_by=None, claimed_until=None, error=error[:200],
                        first_failed_at=func.coalesce(DeliveryRow.first_failed_at,
                                                      literal(now, DeliveryRow.not_before.type)))
                .execution_options(synchronize_session=False))

    async def mark_failed(self, delivery_id: int, attempts: int, error: str) -> None:
        async with self.sessions.begin() as session:
            await session.execute(
                update(DeliveryRow).where(DeliveryRow.id == delivery_id, DeliveryRow.status == PENDING)
                .values(status=FAILED, attempts=attempts, claimed_by=None, claimed_until=None,
                        error=error[:200])
                .execution_options(synchronize_session=False))

    async def deactivate_chat(self, chat_id: int, reason: str) -> int:
        """Telegram says the chat is gone for good: stop following anything, drop what is queued.

        The queued rows are kept as "deactivated" (not deleted) so `hali outbox` can count them per
        event; they carry nothing but the chat id. Returns how many rows were dropped.
        """
        async with changing(self.sessions, self.chats, chat_id) as session:
            await session.execute(
                update(SubscriberRow).where(SubscriberRow.chat_id == chat_id)
                .values(active=False, quiet_start=None, quiet_end=None)
                .execution_options(synchronize_session=False))
            await session.execute(delete(SubscriptionRow).where(SubscriptionRow.chat_id == chat_id))
            result = await session.execute(
                update(DeliveryRow).where(DeliveryRow.chat_id == chat_id, DeliveryRow.status == PENDING)
                .values(status=DEACTIVATED, claimed_by=None, claimed_until=None, error=reason[:200])
                .execution_options(synchronize_session=False))
            return int(result.rowcount or 0)  # type: ignore[attr-defined]

    async def events(self, ids: Iterable[int]) -> dict[int, Event]:
        ids = list(set(ids))
        if not ids:
            return {}
        async with self.sessions() as session:
            rows = (await session.scalars(
                select(NotificationEventRow).where(NotificationEventRow.id.in_(ids)))).all()
            return {r.id: _event(r) for r in rows}

    async def next_due(self) -> datetime | None:
        """When the earliest pending row becomes due (for sleeping until then)."""
        async with self.sessions() as session:
            due: datetime | None = await session.scalar(
                select(func.min(DeliveryRow.not_before)).where(DeliveryRow.status == PENDING))
            return due

    async def purge(self, *, days: float = 30) -> int:
        """Forget finished deliveries (and then events) older than `days`: /privacy promises 30.

        Finished report follow-ups go at once, whatever their age.
        """
        cutoff = self.clock() - timedelta(days=days)
        old_events = select(NotificationEventRow.id).where(NotificationEventRow.created_at < cutoff)
        async with self.sessions.begin() as session:
            result = await session.execute(delete(DeliveryRow).where(
                DeliveryRow.event_id.in_(old_events), DeliveryRow.status != PENDING))
            still_queued = select(DeliveryRow.event_id).where(DeliveryRow.event_id.in_(old_events))
            await session.execute(delete(NotificationEventRow).where(
                NotificationEventRow.created_at < cutoff, NotificationEventRow.id.not_in(still_queued)))
            # A report follow-up ties a chat to its report references: forgotten as soon as it is done.
            follow_ups = select(NotificationEventRow.id).where(
                NotificationEventRow.kind == EventKind.REPORT_FOLLOW_UP.value)
            done = await session.execute(delete(DeliveryRow).where(
                DeliveryRow.event_id.in_(follow_ups), DeliveryRow.status != PENDING))
            queued = select(DeliveryRow.event_id).where(DeliveryRow.event_id.in_(follow_ups))
            await session.execute(delete(NotificationEventRow).where(
                NotificationEventRow.kind == EventKind.REPORT_FOLLOW_UP.value,
                NotificationEventRow.id.not_in(queued)))
            return int(result.rowcount or 0) + int(done.rowcount or 0)  # type: ignore[attr-defined]

    # --- the operator's view --------------------------------------------------------------------------

    async def counts(self, *, limit: int = 50) -> list[EventCounts]:
        """Pending, sent, failed and deactivated deliveries for the latest events, newest first."""
        async with self.sessions() as session:
            events = (await session.scalars(
                select(NotificationEventRow).order_by(NotificationEventRow.id.desc()).limit(limit))).all()
            if not events:
                return []
            tallies = (await session.execute(
                select(DeliveryRow.event_id, DeliveryRow.status, func.count())
                .where(DeliveryRow.event_id.in_([e.id for e in events]))
                .group_by(DeliveryRow.event_id, DeliveryRow.status))).all()
        by_event: dict[int, dict[str, int]] = {}
        for event_id, status, count in tallies:
            by_event.setdefault(event_id, {})[status] = int(count)
        return [
            EventCounts(e.id, e.service_id, e.kind, e.state, e.created_at,
                        **{k: v for k, v in by_event.get(e.id, {}).items()
                           if k in (PENDING, SENT, FAILED, DEACTIVATED)})
            for e in events
        ]

    async def totals(self) -> dict[str, int]:
        """Deliveries in the queue by state (pending, sent, failed, deactivated), all events together."""
        async with self.sessions() as session:
            rows = (await session.execute(
                select(DeliveryRow.status, func.count()).group_by(DeliveryRow.status))).all()
        counted = {str(status): int(count) for status, count in rows}
        return {state: counted.get(state, 0) for state in (PENDING, SENT, FAILED, DEACTIVATED)}

    # --- the status watcher's side --------------------------------------------------------------------

    async def watch(
        self, statuses: Iterable[EffectiveStatus],
        decide: Callable[[WatchState | None, EffectiveStatus], Decision],
        settled_news: Callable[[set[str]], Sequence[Event]] | None = None,
    ) -> list[int]:
        """Apply the watcher's rule to every service in one transaction; returns the new event ids.

        `settled_news` is given the services whose state has settled (told, nothing pending) and
        returns more events to record in the same transaction (dependency news); one whose `key`
        was already recorded for its kind and service is skipped.

        The transaction first takes a lock (an advisory lock on PostgreSQL; the write lock on SQLite,
        taken by the first UPDATE), so two watchers never both announce the same change.
        """
        now = self.clock()
        created: list[int] = []
        async with self.sessions.begin() as session:
            if self.dialect == "postgresql":
                await session.execute(text("SELECT pg_advisory_xact_lock(:k)"), {"k": _WATCH_LOCK_KEY})
            else:
                await session.execute(update(WatchStateRow).values(checked_at=now)
                                      .execution_options(synchronize_session=False))
            rows = {r.service_id: r for r in (await session.scalars(select(WatchStateRow))).all()}
            settled: set[str] = set()
            for status in statuses:
                row = rows.get(status.service_id)
                previous = _watch_state(row) if row is not None else None
                decision = decide(previous, status)
                if decision.state != previous:
                    if row is None:
                        row = WatchStateRow(service_id=status.service_id)
                        session.add(row)
                    _write_watch(row, decision.state, now)
                if decision.event is not None:
                    event_id = await record_event(session, decision.event)
                    created.append(event_id)
                    event = decision.event
                    if event.kind is EventKind.CHANGED and event.state is State.OPERATIONAL:
                        for hook in self.on_return:
                            await hook(session, event.service_id, now, event_id)
                told = decision.state
                if told.pending_state is None and not told.unstable and told.told_state == status.state:
                    settled.add(status.service_id)
            for event in settled_news(settled) if settled_news is not None else ():
                if event.key is not None and await _already_told(session, event):
                    continue
                created.append(await record_event(session, event))
        return created


async def _already_told(session: AsyncSession, event: Event) -> bool:
    """Whether an event with this kind, service and key exists (payloads compared in Python: portable)."""
    payloads = (await session.scalars(select(NotificationEventRow.payload).where(
        NotificationEventRow.kind == event.kind.value, NotificationEventRow.service_id == event.service_id,
        NotificationEventRow.created_at >= event.created_at - timedelta(days=30)))).all()
    return any(isinstance(p, dict) and p.get("key") == event.key for p in payloads)


def _watch_state(row: WatchStateRow) -> WatchState:
    return WatchState(
        row.service_id, State(row.told_state), row.told_at,
        State(row.pending_state) if row.pending_state else None, row.window_start, row.last_change,
        row.changes, row.unstable,
    )


def _write_watch(row: WatchStateRow, state: WatchState, now: datetime) -> None:
    row.told_state, row.told_at = state.told_state.value, state.told_at
    row.pending_state = state.pending_state.value if state.pending_state else None
    row.window_start, row.last_change = state.window_start, state.last_change
    row.changes, row.unstable, row.checked_at = state.changes, state.unstable, now


async def forget_chat(session: AsyncSession, chat_id: int) -> bool:
    """Erase a chat's subscriptions, quiet hours and every delivery row; part of /forget."""
    removed = await session.execute(delete(DeliveryRow).where(DeliveryRow.chat_id == chat_id))
    await session.execute(delete(SubscriptionRow).where(SubscriptionRow.chat_id == chat_id))
    gone = await session.execute(delete(SubscriberRow).where(SubscriberRow.chat_id == chat_id))
    return bool(removed.rowcount or gone.rowcount)  # type: ignore[attr-defined]


__all__ = [
    "BILINGUAL", "DEACTIVATED", "FAILED", "PENDING", "SENT", "Claimed", "EventCounts", "EventKind", "Outbox",
    "ReturnHook", "SubscriberData", "forget_chat", "record_direct_event", "record_event",
    "record_incident_event",
]
