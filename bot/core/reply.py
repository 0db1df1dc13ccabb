"""What a reply is: text with markup and rows of buttons. A leaf: it imports nothing of Hali."""

from __future__ import annotations

import html
import re
from dataclasses import dataclass, field

TELEGRAM_TEXT_LIMIT = 4096


@dataclass(frozen=True)
class Button:
    text: str
    data: str | None = None
    url: str | None = None


@dataclass(frozen=True)
class Reply:
    """A message to send: Telegram HTML and an inline keyboard (rows of buttons)."""

    html: str
    buttons: tuple[tuple[Button, ...], ...] = field(default=())

    @property
    def plain(self) -> str:
        return to_plain(self.html)


def e(value: object) -> str:
    """Escape a dynamic value for Telegram HTML."""
    return html.escape(str(value), quote=False)


_TAG = re.compile(r"<[^>]+>")


def to_plain(text: str) -> str:
    """Telegram HTML to plain text (for the terminal and --json)."""
    return html.unescape(_TAG.sub("", text))


def fit(text: str, limit: int = TELEGRAM_TEXT_LIMIT) -> str:
    """Make sure a message fits Telegram's limit, cutting at a line boundary outside any tag."""
    if len(to_plain(text)) <= limit and len(text) <= limit:
        return text
    lines = text.split("\n")
    while lines and len("\n".join(lines)) > limit - 2:
        lines.pop()
    return "\n".join(lines) + "\n…"
