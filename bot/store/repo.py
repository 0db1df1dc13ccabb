"""The Store: one database, its engine and sessions, and its parts, each built here once.

Services, incidents, users and the audit log are queried here; every other table belongs to a part
(`Part(store)`, an attribute of the Store): subscriptions, outbox, watch_states, reports, checks,
history, alerts, tokens, inbox. Like the rest of `bot.store`, it hands the other layers plain
dataclasses; only `bot.store` speaks SQL.
"""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass
from datetime import datetime
from functools import cache
from typing import Any

from sqlalchemy import delete, event, func, inspect, select, text, update
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession, async_sessionmaker
from sqlalchemy.orm import selectinload

from bot.catalog.loader import catalog_to_dict, load_catalog, service_from_dict
from bot.catalog.model import Catalog, Service, Text
from bot.core.clock import Clock, system_clock
from bot.core.maintenance import Every, MaintenanceWindow
from bot.core.recipient import Recipient
from bot.core.reports import ReportPolicy
from bot.core.status import Incident, IncidentUpdate, State
from bot.store import maintenance
from bot.store.alerts import AlertStore
from bot.store.chats import ChatCache, ChatListener, ChatState, ListenConnection, changing, load_chats
from bot.store.checks import CheckStore
from bot.store.db import StoreTimeouts, insert_ignore, make_engine, make_sessionmaker, rowcount, upgrade_schema
from bot.store.errors import Conflict as Conflict  # re-exported: what callers catch
from bot.store.errors import NotFound as NotFound
from bot.store.history import History
from bot.store.inbox import Inbox
from bot.store.models import AuditRow, IncidentRow, IncidentUpdateRow, ServiceRow, SubscriberRow, UserRow
from bot.store.outbox import EventKind, Outbox, ReturnHook, record_incident_event
from bot.store.reports import ReportStore
from bot.store.subscriptions import Subscriptions, addressed, forget_recipient
from bot.store.tokens import TokenStore
from bot.store.watch import WatchStates

log = logging.getLogger(__name__)


BUNDLED = "bundled"


@dataclass(frozen=True)
class CatalogInForce:
    path: str | None  # None: the bundled catalogue
    loaded_at: datetime | None


@dataclass(frozen=True)
class CatalogLoadResult:
    added: tuple[str, ...]
    updated: tuple[str, ...]
    kept: tuple[str, ...]  # edited by an operator: left as they are


@dataclass(frozen=True)
class UserData:
    chat_id: int
    language: str | None
    first_seen: datetime
    last_seen: datetime


Eraser = Callable[[AsyncSession, int], Awaitable[None]]
"""Erases a feature's data about a chat inside /forget's transaction."""


LISTENER_NAME = "hali chat listener"  # its application_name, as pg_stat_activity shows it


class Store:
    """The status store on one database."""

    def __init__(
        self, engine: AsyncEngine, *, clock: Clock = system_clock, report_key_secret: str | None = None,
        report_policy: ReportPolicy | None = None, on_return: Sequence[Callable[[ReportStore], ReturnHook]] = (),
    ) -> None:
        """`on_return`: what runs in the outbox's transaction when a service returns to operational,
        each made from the store's reports (the reporters' follow-ups: `bot.services.follow_ups`)."""
        self.engine = engine
        self.sessions: async_sessionmaker[AsyncSession] = make_sessionmaker(engine)
        self.clock = clock
        # What every update asks about its chat, read in batches: see bot/store/chats.py.
        self.chats = ChatCache(self._load_chats, clock=clock, shared=engine.dialect.name == "postgresql")
        # Citizens' reports, with the limits and the key secret the deployment chose.
        self.reports = ReportStore(self, secret=report_key_secret, policy=report_policy)
        # Every part that keeps personal data about a chat: /forget erases them all in one transaction.
        self.erasers: tuple[Eraser, ...] = (self.reports.erase_chat,)
        self.on_return: tuple[ReturnHook, ...] = tuple(make(self.reports) for make in on_return)
        # Notifications: who follows what, the events and their delivery queue, the watcher's state.
        self.subscriptions = Subscriptions(self)
        self.outbox = Outbox(self)
        self.watch_states = WatchStates(self)
        # The automatic checks, the public history, the agencies' alerts, API tokens, the update inbox.
        self.checks = CheckStore(self)
        self.history = History(self)
        self.alerts = AlertStore(self)
        self.tokens = TokenStore(self)
        self.inbox = Inbox(self)

    @classmethod
    def from_url(cls, url: str, *, clock: Clock = system_clock, timeouts: StoreTimeouts | None = None,
                 report_key_secret: str | None = None, report_policy: ReportPolicy | None = None,
                 on_return: Sequence[Callable[[ReportStore], ReturnHook]] = (), **engine_kwargs: Any) -> Store:
        return cls(make_engine(url, timeouts=timeouts, **engine_kwargs), clock=clock,
                   report_key_secret=report_key_secret, report_policy=report_policy, on_return=on_return)

    async def upgrade(self) -> None:
        await upgrade_schema(self.engine)

    async def ping(self) -> None:
        """One round trip to the database (readiness); raises what the connection raises."""
        async with self.engine.connect() as conn:
            await conn.execute(text("SELECT 1"))

    async def schema_revision(self) -> str | None:
        """The schema's migration revision, read straight from Alembic's table (None: not migrated).

        Not through Alembic's MigrationContext, which logs two lines per call: a load balancer asks
        every few seconds."""
        async with self.engine.connect() as conn:
            if not await conn.run_sync(lambda c: inspect(c).has_table("alembic_version")):
                return None
            revision = (await conn.execute(text("SELECT version_num FROM alembic_version"))).scalar()
            return str(revision) if revision is not None else None

    def on_error(self, count: Callable[[BaseException], None]) -> None:
        """Call `count` with every exception a statement raises (metrics: by type only)."""
        event.listen(self.engine.sync_engine, "handle_error", lambda context: count(context.original_exception))

    async def close(self) -> None:
        await self.engine.dispose()

    # --- services -------------------------------------------------------------------------------

    async def load_catalog(self, catalog: Catalog, *, actor: str = "catalog",
                           source: str | None = None) -> CatalogLoadResult:
        """Add new services and refresh unedited ones; never overwrite a service an operator edited.

        `source` names what an operator loaded (a file's path, or BUNDLED): it is recorded, changes or
        not, and is then the catalogue in force (see `catalog_in_force`).
        """
        added: list[str] = []
        updated: list[str] = []
        kept: list[str] = []
        async with self.sessions.begin() as session:
            rows = {r.id: r for r in (await session.scalars(select(ServiceRow))).all()}
            for position, service in enumerate(catalog.services):
                data = catalog_to_dict(service)
                row = rows.get(service.id)
                if row is None:
                    session.add(ServiceRow(id=service.id, position=position, data=data,
                                           updated_at=self.clock()))
                    added.append(service.id)
                elif row.edited_by is not None:
                    kept.append(service.id)
                elif row.data != data or row.position != position:
                    row.data, row.position, row.updated_at = data, position, self.clock()
                    updated.append(service.id)
            if added or updated or source is not None:
                session.add(self._audit(actor, "catalog.load", "services", None,
                                        {"added": added, "updated": updated, "kept": kept,
                                         "source": source or BUNDLED}))
        return CatalogLoadResult(tuple(added), tuple(updated), tuple(kept))

    async def catalog_in_force(self) -> CatalogInForce:
        """What the catalogue was last loaded from: the bundled one unless an operator loaded a file."""
        query = (select(AuditRow).where(AuditRow.action == "catalog.load")
                 .order_by(AuditRow.id.desc()).limit(1))
        async with self.sessions() as session:
            row = await session.scalar(query)
        source = (row.after or {}).get("source") if row is not None else None
        if row is None or not isinstance(source, str) or source == BUNDLED:
            return CatalogInForce(None, row.at if row is not None else None)
        return CatalogInForce(source, row.at)

    async def load_bundled_catalog(self) -> CatalogLoadResult | None:
        """At start-up: refresh from the bundled catalogue, unless an operator's file is in force."""
        if (await self.catalog_in_force()).path is not None:
            return None
        return await self.load_catalog(load_catalog())

    async def services(self) -> list[Service]:
        async with self.sessions() as session:
            return await stored_services(session)

    async def catalog(self) -> Catalog:
        """The services as stored, with the bundled catalogue's ambiguous terms."""
        return Catalog(tuple(await self.services()), _bundled().ambiguous)

    @staticmethod
    async def catalog_in(session: AsyncSession) -> Catalog:
        """`catalog`, read in the caller's transaction (the outbox's hooks)."""
        return Catalog(tuple(await stored_services(session)), _bundled().ambiguous)

    async def service_ids(self) -> set[str]:
        async with self.sessions() as session:
            return set((await session.scalars(select(ServiceRow.id))).all())

    async def edit_service(self, service: Service, *, actor: str) -> None:
        """Replace a service's catalogue entry; later catalogue reloads leave it alone."""
        async with self.sessions.begin() as session:
            row = await session.get(ServiceRow, service.id)
            if row is None:
                raise NotFound(f"unknown service {service.id!r}")
            before = row.data
            row.data, row.edited_by, row.updated_at = catalog_to_dict(service), actor, self.clock()
            session.add(self._audit(actor, "service.edit", service.id, before, row.data))

    # --- incidents ------------------------------------------------------------------------------

    async def open_incident(
        self,
        service_id: str,
        state: State,
        title: Text,
        *,
        actor: str,
        message: Text | None = None,
        workaround: Text | None = None,
    ) -> int:
        if state is State.OPERATIONAL:
            raise Conflict("an incident needs a problem state; resolve incidents instead")
        now = self.clock()
        async with self.sessions.begin() as session:
            if await session.get(ServiceRow, service_id) is None:
                raise NotFound(f"unknown service {service_id!r}")
            row = IncidentRow(
                service_id=service_id, status=state.value, title_en=title.en, title_sw=title.sw,
                workaround_en=workaround.en if workaround else None,
                workaround_sw=workaround.sw if workaround else None,
                opened_at=now, opened_by=actor,
            )
            row.updates.append(IncidentUpdateRow(
                created_at=now, author=actor, kind="opened", status=state.value,
                message_en=message.en if message else None, message_sw=message.sw if message else None,
            ))
            session.add(row)
            await session.flush()
            session.add(self._audit(actor, "incident.open", f"incident:{row.id}", None,
                                    _incident_dict(row)))
            await record_incident_event(session, row, EventKind.OPENED, now, message=message)
            return row.id

    async def update_incident(
        self, incident_id: int, message: Text, *, actor: str, state: State | None = None
    ) -> None:
        if state is State.OPERATIONAL:
            raise Conflict("use resolve to mark an incident operational")
        async with self.sessions.begin() as session:
            row = await self._incident_row(session, incident_id, for_update=True)
            if row.resolved_at is not None:
                raise Conflict(f"incident {incident_id} is already resolved")
            before = _incident_dict(row)
            if state is not None:
                row.status = state.value
            row.updates.append(IncidentUpdateRow(
                created_at=self.clock(), author=actor, kind="update",
                status=state.value if state else None, message_en=message.en, message_sw=message.sw,
            ))
            session.add(self._audit(actor, "incident.update", f"incident:{incident_id}", before,
                                    _incident_dict(row)))
            await record_incident_event(session, row, EventKind.UPDATED, self.clock(), message=message,
                                        state=state)

    async def resolve_incident(
        self, incident_id: int, *, actor: str, message: Text | None = None
    ) -> None:
        async with self.sessions.begin() as session:
            row = await self._incident_row(session, incident_id, for_update=True)
            if row.resolved_at is not None:
                raise Conflict(f"incident {incident_id} is already resolved")
            before = _incident_dict(row)
            now = self.clock()
            row.resolved_at = now
            row.updates.append(IncidentUpdateRow(
                created_at=now, author=actor, kind="resolved", status=State.OPERATIONAL.value,
                message_en=message.en if message else None, message_sw=message.sw if message else None,
            ))
            session.add(self._audit(actor, "incident.resolve", f"incident:{incident_id}", before,
                                    _incident_dict(row)))
            await record_incident_event(session, row, EventKind.RESOLVED, now, message=message,
                                        on_return=self.on_return)

    async def incident(self, incident_id: int) -> Incident:
        async with self.sessions() as session:
            return _incident(await self._incident_row(session, incident_id))

    async def incidents(self, *, open_only: bool = False, limit: int = 200) -> list[Incident]:
        query = (select(IncidentRow).options(selectinload(IncidentRow.updates))
                 .order_by(IncidentRow.opened_at.desc(), IncidentRow.id.desc()).limit(limit))
        if open_only:
            query = query.where(IncidentRow.resolved_at.is_(None))
        async with self.sessions() as session:
            return [_incident(r) for r in (await session.scalars(query)).all()]

    async def _incident_row(
        self, session: AsyncSession, incident_id: int, *, for_update: bool = False
    ) -> IncidentRow:
        query = (select(IncidentRow).options(selectinload(IncidentRow.updates))
                 .where(IncidentRow.id == incident_id))
        if for_update:
            query = query.with_for_update()
        row = (await session.scalars(query)).one_or_none()
        if row is None:
            raise NotFound(f"unknown incident {incident_id}")
        return row

    # --- users ----------------------------------------------------------------------------------

    async def touch_user(self, chat_id: int) -> str | None:
        """Record that a chat was seen; return its stored language choice."""
        return (await self.chat(chat_id)).language

    async def chat(self, chat_id: int) -> ChatState:
        """The chat's language, subscriptions and report in progress; records it as seen.

        Updates that arrive together are read in one transaction, and a chat read in the last minute
        is answered from memory (on PostgreSQL only while `chat_listener` hears the other processes).
        """
        return await self.chats.get(chat_id)

    def chat_listener(self) -> ChatListener | None:
        """The job that keeps `chats` coherent with the other processes on PostgreSQL; None on SQLite."""
        if not self.chats.shared:
            return None
        dsn = self.engine.url.set(drivername="postgresql").render_as_string(hide_password=False)

        async def connect() -> ListenConnection:
            import asyncpg

            connection: ListenConnection = await asyncpg.connect(
                dsn, timeout=5, server_settings={"application_name": LISTENER_NAME})
            return connection

        return ChatListener(self.chats, connect)

    async def _load_chats(self, chat_ids: Sequence[int]) -> dict[int, ChatState]:
        async with self.sessions.begin() as session:
            return await load_chats(session, self.engine.dialect.name, chat_ids, self.clock())

    async def user_language(self, chat_id: int) -> str | None:
        async with self.sessions() as session:
            return await session.scalar(select(UserRow.language).where(UserRow.chat_id == chat_id))

    async def set_language(self, chat_id: int, language: str) -> None:
        now = self.clock()
        async with changing(self.sessions, self.chats, chat_id) as session:
            await session.execute(insert_ignore(self.engine.dialect.name, UserRow).values(
                chat_id=chat_id, first_seen=now, last_seen=now))
            await session.execute(
                update(UserRow).where(UserRow.chat_id == chat_id).values(language=language, last_seen=now)
            )
            # What the chat is told from now on is in the language it chose, whatever it subscribed in.
            await session.execute(
                update(SubscriberRow)
                .where(*addressed(SubscriberRow, Recipient.telegram(chat_id)), SubscriberRow.channel.is_(False))
                .values(language=language).execution_options(synchronize_session=False))

    async def user_data(self, chat_id: int) -> UserData | None:
        async with self.sessions() as session:
            row = await session.get(UserRow, chat_id)
            if row is None:
                return None
            return UserData(row.chat_id, row.language, row.first_seen, row.last_seen)

    async def forget_user(self, chat_id: int) -> bool:
        """Erase everything kept about a chat. Returns whether there was anything."""
        async with changing(self.sessions, self.chats, chat_id) as session:
            for erase in self.erasers:
                await erase(session, chat_id)
            notifications = await forget_recipient(session, Recipient.telegram(chat_id))
            result = await session.execute(delete(UserRow).where(UserRow.chat_id == chat_id))
            erased = bool(rowcount(result)) or notifications
        if self.engine.dialect.name == "sqlite":
            await self._checkpoint()
        return erased

    async def _checkpoint(self) -> None:
        """Copy SQLite's WAL into the database and empty it, so that erased text does not stay there."""
        async with self.engine.connect() as conn:
            busy = (await conn.exec_driver_sql("PRAGMA wal_checkpoint(TRUNCATE)")).first()
        if busy is not None and busy[0]:
            log.warning("the WAL could not be emptied after an erasure (a reader was busy); the next checkpoint will")

    async def count_users(self) -> int:
        async with self.sessions() as session:
            return int(await session.scalar(select(func.count()).select_from(UserRow)) or 0)

    # --- audit ----------------------------------------------------------------------------------

    def _audit(self, actor: str, action: str, target: str, before: dict[str, Any] | None,
               after: dict[str, Any] | None) -> AuditRow:
        return AuditRow(at=self.clock(), actor=actor, action=action, target=target,
                        before=before, after=after)

    async def audit_log(self, *, since: datetime | None = None, limit: int = 500) -> Sequence[AuditRow]:
        query = select(AuditRow).order_by(AuditRow.id.desc()).limit(limit)
        if since is not None:
            query = query.where(AuditRow.at >= since)
        async with self.sessions() as session:
            return (await session.scalars(query)).all()

    # --- maintenance windows (bot/store/maintenance.py) ------------------------------------------

    async def schedule_maintenance(
        self, service_id: str, starts_at: datetime, ends_at: datetime, title: Text, *,
        actor: str, every: Every | None = None, until: datetime | None = None,
    ) -> int:
        """Plan a window (repeated weekly or monthly with `every`); audited."""
        return await maintenance.schedule(self, service_id, starts_at, ends_at, title, actor=actor,
                                          every=every, until=until)

    async def cancel_maintenance(self, window_id: int, *, actor: str) -> MaintenanceWindow:
        """Cancel a window (every later occurrence of a repeated one); audited."""
        return await maintenance.cancel(self, window_id, actor=actor)

    async def maintenance_windows(
        self, *, service_id: str | None = None, current_only: bool = True
    ) -> list[MaintenanceWindow]:
        return await maintenance.windows(self, service_id=service_id, current_only=current_only)


@cache
async def stored_services(session: AsyncSession) -> list[Service]:
    rows = (await session.scalars(select(ServiceRow).order_by(ServiceRow.position))).all()
    return [service_from_dict(r.data) for r in rows]


def _bundled() -> Catalog:
    return load_catalog()


def _text(en: str | None, sw: str | None) -> Text | None:
    return Text(en, sw or None) if en else None


def _incident(row: IncidentRow) -> Incident:
    return Incident(
        id=row.id,
        service_id=row.service_id,
        state=State(row.status),
        title=Text(row.title_en, row.title_sw or None),
        opened_at=row.opened_at,
        workaround=_text(row.workaround_en, row.workaround_sw),
        resolved_at=row.resolved_at,
        updates=tuple(
            IncidentUpdate(u.created_at, u.kind, _text(u.message_en, u.message_sw),
                           State(u.status) if u.status else None)
            for u in row.updates
        ),
    )


def _incident_dict(row: IncidentRow) -> dict[str, Any]:
    return {
        "service": row.service_id, "status": row.status, "title_en": row.title_en,
        "title_sw": row.title_sw, "workaround_en": row.workaround_en,
        "workaround_sw": row.workaround_sw,
        "resolved_at": row.resolved_at.isoformat() if row.resolved_at else None,
        "updates": len(row.updates),
    }
