"""The labelled corpus for the understanding layer: `development.tsv` and `heldout.tsv`.

The development part is for tuning; the held-out part is for measuring only (its header says why).
Both files share one format, described in their headers; `load` reads either.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

HERE = Path(__file__).resolve().parent
PARTS = ("development", "heldout")
INTENTS = frozenset(
    {"status", "report", "workaround", "subscribe", "unsubscribe", "forget", "language", "help", "greeting",
     "thanks", "other"}
)
REGISTERS = frozenset({"en", "sw", "sheng", "mixed", "none"})
# How many messages the one split was made of (development two thirds, held-out one third). Messages added
# to the development part since were never split, so the held-out share is measured against this.
SPLIT = 751


@dataclass(frozen=True)
class Labelled:
    text: str
    intent: str
    service: str | None
    language: str | None
    register: str


def path(part: str) -> Path:
    if part not in PARTS:
        raise ValueError(f"unknown corpus part {part!r}; one of {', '.join(PARTS)}")
    return HERE / f"{part}.tsv"


def load(part: str) -> list[Labelled]:
    """The part's messages in file order; a malformed line raises ValueError naming it."""
    items: list[Labelled] = []
    with path(part).open(encoding="utf-8") as fh:
        for number, line in enumerate(fh, 1):
            line = line.rstrip("\n")
            if not line or line.startswith("#"):
                continue
            fields = line.split("\t")
            if len(fields) != 5:
                raise ValueError(f"{part}.tsv:{number}: expected 5 tab-separated fields, got {len(fields)}")
            intent, service, language, register, text = fields
            if intent not in INTENTS or register not in REGISTERS or language not in ("en", "sw", "-"):
                raise ValueError(f"{part}.tsv:{number}: unknown label in {line!r}")
            items.append(Labelled(text, intent, None if service == "-" else service,
                                  None if language == "-" else language, register))
    return items
