"""The status board: every service's effective status, read from the store and cached briefly."""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field, replace
from datetime import datetime
from typing import TYPE_CHECKING, Protocol

from bot.catalog.model import Catalog, Service
from bot.core.clock import Clock, system_clock
from bot.core.status import EffectiveStatus, Incident, Signal, effective_status, incident_signals

if TYPE_CHECKING:
    from bot.core.checks import CheckView
    from bot.core.maintenance import Occurrence

log = logging.getLogger(__name__)


class StatusSource(Protocol):
    async def catalog(self) -> Catalog: ...

    async def incidents(self, *, open_only: bool = False, limit: int = 200) -> list[Incident]: ...


class SignalProvider(Protocol):
    """Another source of signals (citizens' reports, automatic checks…): signals per service id.

    Providers are asked on every refresh, after the incidents; a provider that fails is logged and left
    out of that snapshot rather than taking the whole board down.
    """

    async def signals(self, catalog: Catalog) -> Mapping[str, Sequence[Signal]]: ...


class DetailProvider(Protocol):
    """What the card shows beyond the state: the checks' last result and uptime, planned windows."""

    async def check_views(self, catalog: Catalog) -> Mapping[str, CheckView]: ...

    async def planned(self, catalog: Catalog) -> Mapping[str, tuple[Occurrence, ...]]: ...


@dataclass(frozen=True)
class Snapshot:
    catalog: Catalog
    statuses: dict[str, EffectiveStatus]
    checks: Mapping[str, CheckView] = field(default_factory=dict)
    planned: Mapping[str, tuple[Occurrence, ...]] = field(default_factory=dict)
    taken_at: datetime | None = None  # when it was read from the store
    stale: bool = False  # the store did not answer the latest refresh: this is the last one it gave

    def status(self, service_id: str) -> EffectiveStatus:
        return self.statuses[service_id]

    @property
    def services(self) -> Sequence[Service]:
        return self.catalog.services


class StatusBoard:
    """Serves snapshots no older than `max_age` seconds; one refresh at a time, however many readers.

    With `keep_last`, a refresh that fails serves the last good snapshot, marked stale, for
    `retry_after` seconds before the store is asked again (so that a store that hangs holds up one
    reader, not every one in turn); without one ever taken, the failure is raised.
    """

    def __init__(
        self,
        source: StatusSource,
        *,
        max_age: float = 2.0,
        providers: Sequence[SignalProvider] = (),
        details: DetailProvider | None = None,
        keep_last: bool = False,
        retry_after: float = 5.0,
        clock: Clock = system_clock,
    ) -> None:
        self.source = source
        self.providers = tuple(providers)
        self.details = details
        self.max_age = max_age
        self.keep_last = keep_last
        self.retry_after = retry_after
        self.clock = clock
        self._snapshot: Snapshot | None = None
        self._good: Snapshot | None = None
        self._taken = 0.0
        self._fresh_for = max_age
        self._lock = asyncio.Lock()

    async def snapshot(self) -> Snapshot:
        if self._snapshot is not None and time.monotonic() - self._taken < self._fresh_for:
            return self._snapshot
        async with self._lock:
            if self._snapshot is None or time.monotonic() - self._taken >= self._fresh_for:
                self._snapshot = await self._refresh()
                self._taken = time.monotonic()
        return self._snapshot

    def invalidate(self) -> None:
        self._taken = float("-inf")

    async def _refresh(self) -> Snapshot:
        try:
            built = await self._build()
        except Exception:
            if not self.keep_last or self._good is None:
                raise
            if not self._snapshot or not self._snapshot.stale:
                log.warning("the status store did not answer; serving the snapshot of %s",
                            self._good.taken_at, exc_info=True)
            self._fresh_for = self.retry_after
            return replace(self._good, stale=True)
        if self._snapshot is not None and self._snapshot.stale:
            log.info("the status store answers again; snapshots are fresh")
        self._good, self._fresh_for = built, self.max_age
        return built

    async def _build(self) -> Snapshot:
        catalog = await self.source.catalog()
        if self._snapshot is not None and self._snapshot.catalog == catalog:
            # Keep the same object so that whatever was built from it (the understander) stays valid.
            catalog = self._snapshot.catalog
        by_service: dict[str, list[Incident]] = {}
        for incident in await self.source.incidents(open_only=True, limit=1000):
            by_service.setdefault(incident.service_id, []).append(incident)
        extra: dict[str, list[Signal]] = {}
        for provider in self.providers:
            try:
                provided = await provider.signals(catalog)
            except Exception:
                log.exception("signal provider %s failed; left out of this snapshot", type(provider).__name__)
                continue
            for service_id, signals in provided.items():
                extra.setdefault(service_id, []).extend(signals)
        views = await self.details.check_views(catalog) if self.details is not None else None
        statuses = {
            s.id: effective_status(
                s.id, [*incident_signals(by_service.get(s.id, ())), *extra.get(s.id, ())],
                automatically_checked=bool(s.checks) and _checks_have_run(views, s.id),
            )
            for s in catalog.services
        }
        taken_at = self.clock()
        if self.details is None or views is None:
            return Snapshot(catalog, statuses, taken_at=taken_at)
        return Snapshot(catalog, statuses, views, await self.details.planned(catalog), taken_at=taken_at)


def _checks_have_run(views: Mapping[str, CheckView] | None, service_id: str) -> bool:
    """Whether a check has learnt something about the service (unknown without check views): a card
    says the service is checked and fine only then, not above "checks have not run yet"."""
    if views is None:
        return True
    view = views.get(service_id)
    return view is not None and view.last_at is not None and not view.offline
