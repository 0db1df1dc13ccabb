"""The status board: every service's effective status, read from the store and cached briefly."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Protocol

from bot.catalog.model import Catalog, Service
from bot.core.status import EffectiveStatus, Incident, effective_status, incident_signals


class StatusSource(Protocol):
    async def catalog(self) -> Catalog: ...

    async def incidents(self, *, open_only: bool = False, limit: int = 200) -> list[Incident]: ...


@dataclass(frozen=True)
class Snapshot:
    catalog: Catalog
    statuses: dict[str, EffectiveStatus]

    def status(self, service_id: str) -> EffectiveStatus:
        return self.statuses[service_id]

    @property
    def services(self) -> Sequence[Service]:
        return self.catalog.services


class StatusBoard:
    """Serves snapshots no older than `max_age` seconds; one refresh at a time, however many readers."""

    def __init__(self, source: StatusSource, *, max_age: float = 2.0) -> None:
        self.source = source
        self.max_age = max_age
        self._snapshot: Snapshot | None = None
        self._taken = 0.0
        self._lock = asyncio.Lock()

    async def snapshot(self) -> Snapshot:
        if self._snapshot is not None and time.monotonic() - self._taken < self.max_age:
            return self._snapshot
        async with self._lock:
            if self._snapshot is None or time.monotonic() - self._taken >= self.max_age:
                self._snapshot = await self._build()
                self._taken = time.monotonic()
        return self._snapshot

    def invalidate(self) -> None:
        self._taken = 0.0

    async def _build(self) -> Snapshot:
        catalog = await self.source.catalog()
        if self._snapshot is not None and self._snapshot.catalog == catalog:
            # Keep the same object so that whatever was built from it (the understander) stays valid.
            catalog = self._snapshot.catalog
        by_service: dict[str, list[Incident]] = {}
        for incident in await self.source.incidents(open_only=True, limit=1000):
            by_service.setdefault(incident.service_id, []).append(incident)
        statuses = {
            s.id: effective_status(
                s.id, incident_signals(by_service.get(s.id, ())), automatically_checked=bool(s.checks)
            )
            for s in catalog.services
        }
        return Snapshot(catalog, statuses)
