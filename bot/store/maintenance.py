"""Queries for planned maintenance windows. Store's maintenance methods delegate here."""

from __future__ import annotations

from datetime import datetime
from typing import TYPE_CHECKING, Any

from sqlalchemy import select

from bot.catalog.model import Text
from bot.core.maintenance import MAX_WINDOW, Every, MaintenanceWindow
from bot.store.errors import Conflict, NotFound
from bot.store.models import MaintenanceRow, ServiceRow

if TYPE_CHECKING:
    from bot.store.repo import Store


async def schedule(
    store: Store, service_id: str, starts_at: datetime, ends_at: datetime, title: Text, *,
    actor: str, every: Every | None = None, until: datetime | None = None,
) -> int:
    if ends_at <= starts_at:
        raise Conflict("a maintenance window must end after it starts")
    if ends_at - starts_at > MAX_WINDOW:
        raise Conflict("a maintenance window may last at most 7 days; open an incident for longer work")
    if until is not None and until < starts_at:
        raise Conflict("--until is before the first window starts")
    async with store.sessions.begin() as session:
        if await session.get(ServiceRow, service_id) is None:
            raise NotFound(f"unknown service {service_id!r}")
        row = MaintenanceRow(
            service_id=service_id, starts_at=starts_at, ends_at=ends_at, title_en=title.en, title_sw=title.sw,
            every=every.value if every else None, until=until, created_by=actor, created_at=store.clock(),
        )
        session.add(row)
        await session.flush()
        session.add(store._audit(actor, "maintenance.schedule", f"maintenance:{row.id}", None, _as_dict(row)))
        return row.id


async def cancel(store: Store, window_id: int, *, actor: str) -> MaintenanceWindow:
    async with store.sessions.begin() as session:
        row = await session.get(MaintenanceRow, window_id, with_for_update=True)
        if row is None:
            raise NotFound(f"unknown maintenance window {window_id}")
        if row.cancelled_at is not None:
            raise Conflict(f"maintenance window {window_id} is already cancelled")
        before = _as_dict(row)
        row.cancelled_at = store.clock()
        session.add(store._audit(actor, "maintenance.cancel", f"maintenance:{row.id}", before, _as_dict(row)))
        return _window(row)


async def windows(store: Store, *, service_id: str | None = None, current_only: bool = True) -> list[MaintenanceWindow]:
    """Windows not cancelled; with current_only, only those with an occurrence not yet over."""
    query = select(MaintenanceRow).where(MaintenanceRow.cancelled_at.is_(None)).order_by(MaintenanceRow.starts_at)
    if service_id is not None:
        query = query.where(MaintenanceRow.service_id == service_id)
    async with store.sessions() as session:
        rows = (await session.scalars(query)).all()
    found = [_window(r) for r in rows]
    if not current_only:
        return found
    from bot.core.maintenance import next_occurrence

    now = store.clock()
    return [w for w in found if next_occurrence(w, now) is not None]


async def service_of(store: Store, window_id: int) -> str:
    """The service a window (cancelled or not) belongs to."""
    async with store.sessions() as session:
        service_id = await session.scalar(select(MaintenanceRow.service_id).where(MaintenanceRow.id == window_id))
    if service_id is None:
        raise NotFound(f"unknown maintenance window {window_id}")
    return service_id


def _window(row: MaintenanceRow) -> MaintenanceWindow:
    return MaintenanceWindow(
        row.id, row.service_id, row.starts_at, row.ends_at, Text(row.title_en, row.title_sw or None),
        Every(row.every) if row.every else None, row.until,
    )


def _as_dict(row: MaintenanceRow) -> dict[str, Any]:
    return {
        "service": row.service_id, "starts_at": row.starts_at.isoformat(), "ends_at": row.ends_at.isoformat(),
        "every": row.every, "until": row.until.isoformat() if row.until else None,
        "title_en": row.title_en, "title_sw": row.title_sw,
        "cancelled_at": row.cancelled_at.isoformat() if row.cancelled_at else None,
    }


__all__ = ["cancel", "schedule", "service_of", "windows"]
