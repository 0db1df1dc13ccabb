"""Who a notification goes to: a medium and an address on it.

Subscriptions and deliveries are keyed by a `Recipient`, not by a Telegram chat id, so that another
front-end (SMS: a phone number; a web push endpoint) subscribes and is delivered to through the same
store and the same outbox. Telegram is the only medium delivered today; its address is the chat id
written as text (a private chat, a group, or the public channel).
"""

from __future__ import annotations

from dataclasses import dataclass

TELEGRAM = "telegram"


@dataclass(frozen=True, slots=True)
class Recipient:
    medium: str  # "telegram" today
    address: str  # on Telegram: the chat id, as text

    @classmethod
    def telegram(cls, chat_id: int) -> Recipient:
        return cls(TELEGRAM, str(chat_id))

    @property
    def telegram_chat(self) -> int | None:
        """The Telegram chat id, or None on another medium (whose recipients the chat cache never holds)."""
        return int(self.address) if self.medium == TELEGRAM else None

    @property
    def chat_id(self) -> int:
        """The Telegram chat id; a recipient on another medium has none."""
        if self.medium != TELEGRAM:
            raise ValueError(f"a {self.medium} recipient has no Telegram chat id")
        return int(self.address)


__all__ = ["TELEGRAM", "Recipient"]
