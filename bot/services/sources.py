"""The status board with every source wired in: incidents, maintenance windows, the agency's monitoring, checks."""

from __future__ import annotations

from collections.abc import Mapping, Sequence

from bot.catalog.model import Catalog
from bot.core.board import SignalProvider, StatusBoard
from bot.core.checks import CheckView
from bot.core.maintenance import Occurrence, active_signals, planned
from bot.core.status import Signal
from bot.store.repo import Store


class CheckSignals:
    """Automatic checks as Source.CHECK signals, with each checked service's last result and uptime."""

    def __init__(self, store: Store) -> None:
        self.checks = store.checks

    async def signals(self, catalog: Catalog) -> Mapping[str, Sequence[Signal]]:
        return await self.checks.signals(catalog)


class MonitoringSignals:
    """Alerts firing in the agency's own monitoring (the hooks) as Source.MONITORING signals."""

    def __init__(self, store: Store) -> None:
        self.alerts = store.alerts

    async def signals(self, catalog: Catalog) -> Mapping[str, Sequence[Signal]]:
        return await self.alerts.signals(catalog)


class MaintenanceSignals:
    """Windows running now as Source.MAINTENANCE signals."""

    def __init__(self, store: Store) -> None:
        self.store = store

    async def signals(self, catalog: Catalog) -> Mapping[str, Sequence[Signal]]:
        return active_signals(await self.store.maintenance_windows(), self.store.clock())


class CardDetails:
    """The parts of a card that are not a state: checks' last result and uptime, planned windows."""

    def __init__(self, store: Store) -> None:
        self.store = store
        self.checks = store.checks

    async def check_views(self, catalog: Catalog) -> Mapping[str, CheckView]:
        return await self.checks.views(catalog)

    async def planned(self, catalog: Catalog) -> Mapping[str, tuple[Occurrence, ...]]:
        return planned(await self.store.maintenance_windows(), self.store.clock())


def make_board(store: Store, *, max_age: float = 2.0, extra: Sequence[SignalProvider] = ()) -> StatusBoard:
    """The board the bot and the CLI read: maintenance, monitoring, checks, and any `extra` source (reports)."""
    return StatusBoard(
        store, max_age=max_age, keep_last=True, clock=store.clock,
        providers=(MaintenanceSignals(store), MonitoringSignals(store), CheckSignals(store), *extra),
        details=CardDetails(store),
    )
