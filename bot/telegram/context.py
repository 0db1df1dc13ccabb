"""What every handler can reach: the engine, the store and the settings, via a typed context."""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from telegram.ext import Application, CallbackContext, ExtBot

from bot.config import Settings
from bot.engine import Engine
from bot.store.repo import Store
from bot.store.reports import ReportStore, report_store

if TYPE_CHECKING:
    from bot.telegram.outbound import Outbound


@dataclass
class Hali:
    settings: Settings
    store: Store
    engine: Engine
    reports: ReportStore | None = None  # made from the store and settings when not given

    @property
    def report_store(self) -> ReportStore:
        if self.reports is None:
            self.reports = report_store(self.store, self.settings)
        return self.reports


class HaliContext(CallbackContext[ExtBot[dict[str, Any]], dict[Any, Any], dict[Any, Any], dict[Any, Any]]):
    """The callback context, with the Hali services attached to the application."""

    @property
    def hali(self) -> Hali:
        hali: Hali = self.application.bot_data["hali"]
        return hali

    @property
    def outbound(self) -> Outbound:
        """Where every message goes: the send budget (see bot/telegram/outbound.py)."""
        outbound: Outbound = self.application.bot_data["outbound"]
        return outbound


HaliApplication = Application[
    ExtBot[dict[str, Any]], HaliContext, dict[Any, Any], dict[Any, Any], dict[Any, Any], Any
]
