"""What a button does, as data: one frozen class per kind of button, and one codec to and from the
string a front-end carries (Telegram's `callback_data`, at most 64 bytes).

Renderers build buttons with `encode(Refresh("ecitizen"))`; handlers `match decode(query.data)`. The
strings are short and stable ("r:ecitizen"), so buttons already sitting in chats keep working after a
release; anything that does not decode is a stale or forged button (None), answered as expired.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from enum import StrEnum

#: Telegram's limit on callback data, in bytes.
MAX_DATA = 64


@dataclass(frozen=True)
class Refresh:
    """🔄 on a status card: the same card, fresh."""

    service_id: str


@dataclass(frozen=True)
class ShowCard:
    """A service picked from a list: its status card."""

    service_id: str


@dataclass(frozen=True)
class ServicesList:
    """Every service and its state."""


@dataclass(frozen=True)
class Follow:
    """🔔 Notify me (or a service picked to follow; `ALL_SERVICES` for all)."""

    service_id: str


@dataclass(frozen=True)
class Unfollow:
    """🔕 Stop notifications, on a card."""

    service_id: str


@dataclass(frozen=True)
class RemoveAlert:
    """❌ Remove, in /alerts."""

    service_id: str


@dataclass(frozen=True)
class ChooseLanguage:
    lang: str


@dataclass(frozen=True)
class Forget:
    """The answer to /forget's "erase everything?"."""

    confirmed: bool


@dataclass(frozen=True)
class ReportStart:
    """⚠️ Report a problem, on a card."""

    service_id: str


class ReportOp(StrEnum):
    CANCEL = "x"
    SERVICE = "s"  # arg: the service id
    SYMPTOM = "y"  # arg: the symptom
    SKIP = "k"  # no words
    FOLLOW_UP = "f"  # arg: "1" (tell me) or "0"


@dataclass(frozen=True)
class ReportStep:
    """A step of a report under way; `nonce` ties it to that report (an older flow's buttons expire)."""

    nonce: str
    op: ReportOp
    arg: str = ""


@dataclass(frozen=True)
class OperatorStep:
    """A step of an operator's draft: its `token`, the step's number, the value chosen."""

    token: str
    index: int
    value: str


Action = (Refresh | ShowCard | ServicesList | Follow | Unfollow | RemoveAlert | ChooseLanguage | Forget
          | ReportStart | ReportStep | OperatorStep)

_BY_SERVICE: dict[str, type[Refresh | ShowCard | Follow | Unfollow | RemoveAlert | ReportStart]] = {
    "r": Refresh, "s": ShowCard, "n": Follow, "x": Unfollow, "u": RemoveAlert, "rp": ReportStart,
}
_PREFIX = {kind: prefix for prefix, kind in _BY_SERVICE.items()}


class TooLong(ValueError):
    """An action whose data would not fit in a button."""


def encode(action: Action) -> str:
    """The button's data; raises TooLong past Telegram's 64 bytes (a service id or value too long)."""
    match action:
        case Refresh() | ShowCard() | Follow() | Unfollow() | RemoveAlert() | ReportStart():
            data = f"{_PREFIX[type(action)]}:{action.service_id}"
        case ServicesList():
            data = "sv"
        case ChooseLanguage(lang):
            data = f"l:{lang}"
        case Forget(confirmed):
            data = "f:yes" if confirmed else "f:no"
        case ReportStep(nonce, op, arg):
            data = f"rf:{nonce}:{op.value}" + (f":{arg}" if arg else "")
        case OperatorStep(token, index, value):
            data = f"op:{token}:{index}:{value}"
    if len(data.encode()) > MAX_DATA:
        raise TooLong(data)
    return data


def decode(data: str | None) -> Action | None:
    """The action a button's data stands for; None when it is none that Hali makes (stale, forged)."""
    if not data or len(data.encode()) > MAX_DATA:
        return None
    if data == "sv":
        return ServicesList()
    prefix, sep, rest = data.partition(":")
    if not sep:
        return None
    kind = _BY_SERVICE.get(prefix)
    if kind is not None:
        return kind(rest) if rest and ":" not in rest else None
    if prefix == "l":
        return ChooseLanguage(rest) if rest else None
    if prefix == "f":
        return Forget(rest == "yes") if rest in ("yes", "no") else None
    if prefix == "rf":
        nonce, _, step = rest.partition(":")
        op, _, arg = step.partition(":")
        if not nonce or op not in ReportOp.__members__.values():
            return None
        return ReportStep(nonce, ReportOp(op), arg)
    if prefix == "op":
        parts = rest.split(":", 2)
        if len(parts) != 3 or not parts[0] or not parts[1].isdigit():
            return None
        return OperatorStep(parts[0], int(parts[1]), parts[2])
    return None


def matches(*kinds: type) -> Callable[[object], bool]:
    """A predicate on button data for a front-end's routing (python-telegram-bot's `pattern=`)."""

    def check(data: object) -> bool:
        return isinstance(data, str) and isinstance(decode(data), kinds)

    return check
