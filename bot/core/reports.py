"""Citizens' failure reports: the rules that keep them safe and fair, with no storage and no Telegram.

Counting: one citizen counts once per service per hour (later reports add detail, not weight), and
there is a daily cap per citizen. New accounts count fully: many first-time users at once is what an
outage looks like. What looks coordinated is flagged for operators instead of counted: the same
free text (after normalising case, accents and spacing) from `coordination_keys` different citizens
within `coordination_window`. Only texts of at least `coordination_min_words` words qualify, since a
short "not working" is typed independently by many real reporters in an outage.

Privacy: a report keeps a pseudonymous reporter key, an HMAC of the chat id under a secret, never
the chat id itself, except while a follow-up ("it's working again") is pending: at most
`follow_up_window`. Free text is scrubbed (`bot.core.scrub`) before it is stored, anywhere.
"""

from __future__ import annotations

import hashlib
import hmac
import secrets
from dataclasses import dataclass
from datetime import datetime, timedelta
from enum import StrEnum

from bot.core.crowd import CrowdSignal
from bot.core.understanding import Symptom, normalise

__all__ = [
    "MAX_TEXT",
    "REFERENCE_ALPHABET",
    "FollowUp",
    "ReportDraft",
    "ReportFlow",
    "ReportPolicy",
    "Step",
    "Submitted",
    "coordination_hash",
    "new_nonce",
    "new_reference",
    "reporter_key",
]

MAX_TEXT = 500
# Crockford's base 32 without I, L, O and U: nothing to misread when a citizen reads it out.
REFERENCE_ALPHABET = "0123456789ABCDEFGHJKMNPQRSTVWXYZ"


@dataclass(frozen=True)
class ReportPolicy:
    daily_cap: int = 10
    count_once_per: timedelta = timedelta(hours=1)
    coordination_window: timedelta = timedelta(seconds=120)
    coordination_keys: int = 3
    coordination_min_words: int = 4
    follow_up_window: timedelta = timedelta(hours=24)
    retention: timedelta = timedelta(days=90)
    flow_timeout: timedelta = timedelta(minutes=10)


class Step(StrEnum):
    SERVICE = "service"
    SYMPTOM = "symptom"
    DETAILS = "details"
    FOLLOW_UP = "follow_up"


@dataclass(frozen=True)
class ReportFlow:
    """A report being written: the step reached and the answers so far. `nonce` ties buttons to it."""

    chat_id: int
    nonce: str
    step: Step
    service_id: str | None = None
    symptom: Symptom | None = None
    text: str | None = None


@dataclass(frozen=True)
class ReportDraft:
    service_id: str
    symptom: Symptom
    text: str | None
    chat_id: int
    language: str
    follow_up: bool


@dataclass(frozen=True)
class Submitted:
    """What happened to a report. `reference` is None when the daily cap refused it."""

    reference: str | None
    counted: bool = False
    flagged: bool = False
    others_last_hour: int = 0

    @property
    def accepted(self) -> bool:
        return self.reference is not None


@dataclass(frozen=True)
class FollowUp:
    """One chat to tell that a service works again, in its language, with its report references."""

    chat_id: int
    language: str | None
    service_id: str
    references: tuple[str, ...]


def new_reference() -> str:
    """A short reference a citizen can quote, e.g. R-7F3K2 (33 million possibilities)."""
    return "R-" + "".join(secrets.choice(REFERENCE_ALPHABET) for _ in range(5))


def new_nonce() -> str:
    return secrets.token_hex(3)


def reporter_key(secret: bytes, chat_id: int) -> str:
    """The pseudonymous key a report is counted by: HMAC-SHA256 of the chat id."""
    return hmac.new(secret, str(chat_id).encode(), hashlib.sha256).hexdigest()


def coordination_hash(text: str | None, policy: ReportPolicy = ReportPolicy()) -> str | None:
    """A fingerprint of the text for spotting copies, or None when the text is too short to tell."""
    if not text:
        return None
    words = normalise(text)
    if len(words.split()) < policy.coordination_min_words:
        return None
    return hashlib.sha256(words.encode()).hexdigest()


def follow_up_since(returned_at: datetime, policy: ReportPolicy = ReportPolicy()) -> datetime:
    """Reports made after this moment get the "working again" message."""
    return returned_at - policy.follow_up_window


@dataclass(frozen=True)
class ServiceSummary:
    """Reports about one service in a period, for operators (`hali reports`, the operators' bot)."""

    service_id: str
    since: datetime
    until: datetime
    total: int
    counted: int
    flagged: int
    by_symptom: dict[str, int]
    signal: CrowdSignal | None = None
    flagged_texts: tuple[str, ...] = ()
