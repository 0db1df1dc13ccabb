"""The agency's own monitoring in the store: firing alerts as rows, read back as Source.MONITORING signals."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import TYPE_CHECKING

from sqlalchemy import delete, select

from bot.catalog.model import Catalog
from bot.core.alerts import Alert
from bot.core.status import Signal, Source, State
from bot.store.db import insert_ignore, rowcount
from bot.store.models import AlertSignalRow

if TYPE_CHECKING:
    from bot.store.repo import Store


@dataclass
class Applied:
    """What one delivery changed: alerts that began, changed state, were already known, resolved."""

    started: list[str] = field(default_factory=list)
    changed: list[str] = field(default_factory=list)
    kept: list[str] = field(default_factory=list)
    resolved: list[str] = field(default_factory=list)

    @property
    def changes(self) -> bool:
        return bool(self.started or self.changed or self.resolved)

    def as_dict(self) -> dict[str, list[str]]:
        return {"started": self.started, "changed": self.changed, "kept": self.kept, "resolved": self.resolved}


@dataclass(frozen=True)
class ActiveAlert:
    key: str
    service_id: str
    state: State
    since: datetime
    seen_at: datetime
    token: str
    name: str


class AlertStore:
    """The alert_signals table of one Store."""

    def __init__(self, store: Store) -> None:
        self.store = store

    async def apply(self, alerts: Sequence[tuple[Alert, str]], *, actor: str, action: str) -> Applied:
        """Apply one delivery's alerts (each with its service id) and audit it, in one transaction.

        A firing alert already stored with the same state only has its last-seen time moved, so a
        re-sent delivery changes nothing anyone sees; a resolved one deletes its row.
        """
        now = self.store.clock()
        applied = Applied()
        dialect = self.store.engine.dialect.name
        async with self.store.sessions.begin() as session:
            for alert, service_id in alerts:
                label = f"{service_id} {alert.key}"
                where = (AlertSignalRow.key == alert.key, AlertSignalRow.service_id == service_id)
                if not alert.firing:
                    result = await session.execute(delete(AlertSignalRow).where(*where))
                    if rowcount(result):
                        applied.resolved.append(label)
                    continue
                since = min(alert.starts_at, now) if alert.starts_at is not None else now
                inserted = await session.execute(insert_ignore(dialect, AlertSignalRow).values(
                    key=alert.key, service_id=service_id, state=alert.state.value, since=since, seen_at=now,
                    token=actor.removeprefix("token:")[:64], name=alert.name))
                if rowcount(inserted):
                    applied.started.append(label)
                    continue
                row = await session.scalar(select(AlertSignalRow).where(*where).with_for_update())
                assert row is not None  # the insert found it
                row.seen_at = now
                if row.state != alert.state.value:
                    row.state, row.since = alert.state.value, now
                    applied.changed.append(label)
                else:
                    applied.kept.append(label)
            session.add(self.store._audit(actor, action, ",".join(sorted({s for _, s in alerts}))[:128] or "-",
                                          None, applied.as_dict()))
        return applied

    async def active(self) -> list[ActiveAlert]:
        async with self.store.sessions() as session:
            rows = (await session.scalars(select(AlertSignalRow).order_by(AlertSignalRow.since))).all()
        return [ActiveAlert(r.key, r.service_id, State(r.state), r.since, r.seen_at, r.token, r.name) for r in rows]

    async def signals(self, catalog: Catalog) -> Mapping[str, Sequence[Signal]]:
        """Every firing alert as a Source.MONITORING signal of its service."""
        found: dict[str, list[Signal]] = {}
        for alert in await self.active():
            if alert.service_id in catalog:
                found.setdefault(alert.service_id, []).append(Signal(Source.MONITORING, alert.state, alert.since))
        return found


__all__ = ["ActiveAlert", "AlertStore", "Applied"]
