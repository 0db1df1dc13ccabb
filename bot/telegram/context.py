"""What every handler can reach: the engine, the store and the settings, via a typed context."""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from telegram.ext import Application, CallbackContext, ExtBot

from bot.config import Settings
from bot.services.answers import Engine
from bot.store.repo import Store
from bot.store.reports import ReportStore

if TYPE_CHECKING:
    from bot.telegram.outbound import Outbound


@dataclass
class Hali:
    settings: Settings
    store: Store
    engine: Engine

    @property
    def reports(self) -> ReportStore:
        """Citizens' reports: a part of the store."""
        return self.store.reports


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
