"""A reply for media without markup or buttons (SMS: 160 characters a message; USSD: 182 a screen).

The engine answers every front-end with the same `Reply`; Telegram sends its HTML and keyboard, and a
plain medium takes `pages(reply, SMS)`: the text without tags, cut into pages at line breaks (then at
spaces), each but the last marked as continued, and the buttons as numbered choices a menu can offer.
"""

from __future__ import annotations

from bot.core.reply import Reply

SMS = 160
USSD = 182
MORE = " …"


def choices(reply: Reply) -> list[str]:
    """The reply's buttons as "1. Refresh", "2. Notify me"…: links are left out (a phone cannot follow them)."""
    labels = [b.text for row in reply.buttons for b in row if b.data is not None]
    return [f"{n}. {label}" for n, label in enumerate(labels, start=1)]


def pages(reply: Reply, limit: int = SMS) -> list[str]:
    """The reply's plain text and choices in pages of at most `limit` characters."""
    if limit <= len(MORE) + 1:
        raise ValueError(f"a page of {limit} characters cannot hold any text")
    lines = [line.strip() for line in reply.plain.split("\n")]
    text = "\n".join(line for line in lines if line) + ("\n" + "\n".join(choices(reply)) if reply.buttons else "")
    found: list[str] = []
    rest = text.strip()
    while len(rest) > limit:
        room = limit - len(MORE)
        cut = rest.rfind("\n", 0, room + 1)
        if cut <= 0:
            cut = rest.rfind(" ", 0, room + 1)
        if cut <= 0:
            cut = room  # one word longer than a page: cut inside it
        found.append(rest[:cut].rstrip() + MORE)
        rest = rest[cut:].strip()
    if rest:
        found.append(rest)
    return found
