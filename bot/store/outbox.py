"""Notification events and the delivery outbox: what subscribers are told, queued until it is sent.

Who follows what is `bot.store.subscriptions`; the watcher's state, `bot.store.watch`. Deliveries are
addressed to a recipient (`bot.core.recipient`: a medium and an address), so another medium's
dispatcher claims its own rows from the same queue.

Design
------
* An event and its delivery rows are written in ONE transaction (`record_event`), with the change
  that caused it: the incident change for operator events, the watch state for automatic ones. So an
  event is never lost nor told twice, whatever crashes when.
* Fan-out is one set-based ``INSERT … SELECT DISTINCT`` over the subscriptions: a chat following the
  service and "all" gets one row, and ``UNIQUE (event_id, medium, address)`` makes a second one impossible.
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
from typing import TYPE_CHECKING, Any

from sqlalchemy import delete, func, insert, literal, or_, select, tuple_, update
from sqlalchemy.ext.asyncio import AsyncSession

from bot.catalog.model import Text
from bot.core.notifications import ALL_SERVICES, BILINGUAL, Event, EventKind, quiet_until
from bot.core.recipient import TELEGRAM, Recipient
from bot.core.status import Source, State
from bot.store.chats import changing
from bot.store.db import rowcount
from bot.store.models import (
    DEACTIVATED,
    FAILED,
    PENDING,
    SENT,
    DeliveryRow,
    IncidentRow,
    NotificationEventRow,
    SubscriberRow,
    SubscriptionRow,
    WatchStateRow,
)
from bot.store.subscriptions import addressed

if TYPE_CHECKING:
    from bot.store.repo import Store


ReturnHook = Callable[[AsyncSession, str, datetime, int], Awaitable[None]]
"""Called inside the outbox's transaction when a service returns to operational:
(session, service_id, returned_at, id of the subscribers' "it's back" event). Report follow-ups use it."""


@dataclass(frozen=True)
class Claimed:
    """A delivery a dispatcher holds under lease."""

    id: int
    event_id: int
    recipient: Recipient
    language: str
    attempts: int
    first_failed_at: datetime | None = None

    @property
    def chat_id(self) -> int:
        """The Telegram chat the delivery goes to (a Telegram dispatcher claims only those)."""
        return self.recipient.chat_id


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
    """Store an event and queue one delivery per subscribed, active recipient, in the caller's transaction.

    Returns the event id. Quiet hours are applied here: a recipient inside its quiet window gets its
    row due when the window ends. Each delivery is in its subscriber's language, which a Telegram
    chat's /language choice keeps up to date (`Store.set_language`).
    """
    row = await _event_row(session, event)
    now = event.created_at
    subs, subscribers = SubscriptionRow, SubscriberRow
    # Dependency news goes to the dependent's own followers: those following "all" already hear the
    # dependency's own news, and would otherwise get one message per dependent for one outage.
    targets = (event.service_id,) if event.kind is EventKind.DEPENDENCY else (event.service_id, ALL_SERVICES)
    chosen = (
        select(
            literal(row.id).label("event_id"),
            subs.medium,
            subs.address,
            func.coalesce(subscribers.language, "en").label("language"),
        )
        .distinct()
        .join(subscribers, (subscribers.medium == subs.medium) & (subscribers.address == subs.address))
        .where(subs.service_id.in_(targets), subscribers.active.is_(True))
    ).subquery()
    columns = select(chosen.c.event_id, chosen.c.medium, chosen.c.address, chosen.c.language,
                     literal(PENDING), literal(now, DeliveryRow.not_before.type), literal(0))
    await session.execute(
        insert(DeliveryRow).from_select(
            ["event_id", "medium", "address", "language", "status", "not_before", "attempts"], columns
        )
    )
    await _hold_for_quiet_hours(session, row.id, now)
    return row.id


async def _hold_for_quiet_hours(session: AsyncSession, event_id: int, now: datetime) -> None:
    """One UPDATE per distinct quiet window (at most 24×23) that contains `now`, never per recipient."""
    windows = (await session.execute(
        select(SubscriberRow.quiet_start, SubscriberRow.quiet_end).distinct()
        .where(SubscriberRow.quiet_start.is_not(None), SubscriberRow.quiet_end.is_not(None))
    )).all()
    for start, end in windows:
        until = quiet_until(now, int(start or 0), int(end or 0))
        if until is None:
            continue
        quiet = select(SubscriberRow.medium, SubscriberRow.address).where(
            SubscriberRow.quiet_start == start, SubscriberRow.quiet_end == end
        )
        await session.execute(
            update(DeliveryRow)
            .where(DeliveryRow.event_id == event_id, tuple_(DeliveryRow.medium, DeliveryRow.address).in_(quiet))
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
    session: AsyncSession, event: Event, recipient: Recipient, language: str, *, replaces: int | None = None
) -> int:
    """An event for ONE recipient (a report follow-up), queued through the same outbox and quiet hours.

    `replaces`: an event whose pending delivery to this recipient this one supersedes (the subscribers'
    "it's back" for the same return), so the recipient hears the news once.
    """
    row = await _event_row(session, event)
    if replaces is not None:
        await session.execute(delete(DeliveryRow).where(
            DeliveryRow.event_id == replaces, DeliveryRow.medium == recipient.medium,
            DeliveryRow.address == recipient.address, DeliveryRow.status == PENDING))
    session.add(DeliveryRow(event_id=row.id, medium=recipient.medium, address=recipient.address,
                            language=language, status=PENDING, not_before=event.created_at, attempts=0))
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
    """A part of the store (`Outbox(store)`): the events and the delivery queue on the store's database."""

    def __init__(self, store: Store) -> None:
        self.store = store
        self.sessions = store.sessions
        self.clock = store.clock
        self.dialect = store.engine.dialect.name

    # --- the dispatcher's side ----------------------------------------------------------------------

    async def claim(self, worker: str, limit: int, lease: float, *, medium: str = TELEGRAM) -> list[Claimed]:
        """Take up to `limit` due rows for `medium` under a lease of `lease` seconds; oldest first."""
        now = self.clock()
        due = (
            select(DeliveryRow.id)
            .where(DeliveryRow.status == PENDING, DeliveryRow.not_before <= now, DeliveryRow.medium == medium,
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
            .returning(DeliveryRow.id, DeliveryRow.event_id, DeliveryRow.medium, DeliveryRow.address,
                       DeliveryRow.language, DeliveryRow.attempts, DeliveryRow.first_failed_at)
            .execution_options(synchronize_session=False)
        )
        async with self.sessions.begin() as session:
            rows = (await session.execute(statement)).all()
        claimed = (Claimed(row_id, event_id, Recipient(medium, address), language, attempts, first_failed_at)
                   for row_id, event_id, medium, address, language, attempts, first_failed_at in rows)
        return sorted(claimed, key=lambda c: c.id)

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

    async def deactivate(self, recipient: Recipient, reason: str) -> int:
        """The medium says the recipient is gone for good: it follows nothing any more, and what is
        queued for it is dropped.

        The queued rows are kept as "deactivated" (not deleted) so `hali outbox` can count them per
        event; they carry nothing but the address. Returns how many rows were dropped.
        """
        async with changing(self.sessions, self.store.chats, recipient.telegram_chat) as session:
            await session.execute(
                update(SubscriberRow).where(*addressed(SubscriberRow, recipient))
                .values(active=False, quiet_start=None, quiet_end=None)
                .execution_options(synchronize_session=False))
            await session.execute(delete(SubscriptionRow).where(*addressed(SubscriptionRow, recipient)))
            result = await session.execute(
                update(DeliveryRow).where(*addressed(DeliveryRow, recipient), DeliveryRow.status == PENDING)
                .values(status=DEACTIVATED, claimed_by=None, claimed_until=None, error=reason[:200])
                .execution_options(synchronize_session=False))
            return rowcount(result)

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
            return rowcount(result) + rowcount(done)

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

__all__ = [
    "BILINGUAL", "DEACTIVATED", "FAILED", "PENDING", "SENT", "Claimed", "EventCounts", "EventKind", "Outbox",
    "ReturnHook", "record_direct_event", "record_event", "record_incident_event",
]
