"""What every handler can reach: the engine, the store and the settings, via a typed context."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from telegram.ext import Application, CallbackContext, ExtBot

from bot.config import Settings
from bot.engine import Engine
from bot.store.repo import Store


@dataclass
class Hali:
    settings: Settings
    store: Store
    engine: Engine


class HaliContext(CallbackContext[ExtBot[None], dict[Any, Any], dict[Any, Any], dict[Any, Any]]):
    """The callback context, with the Hali services attached to the application."""

    @property
    def hali(self) -> Hali:
        hali: Hali = self.application.bot_data["hali"]
        return hali


HaliApplication = Application[
    ExtBot[None], HaliContext, dict[Any, Any], dict[Any, Any], dict[Any, Any], Any
]
