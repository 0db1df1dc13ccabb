"""The service catalogue as immutable data: what each service is, what people call it, what to do instead.

The annotations are also the catalogue's schema: the loader validates services.toml, and the copies kept
in the database, against these types and limits with pydantic, so each field is declared here once.
Building the dataclasses directly (as tests do) checks nothing. A validator's message may name its field
with ``{field}``; otherwise the loader writes ``field: `` in front of it.
"""

from __future__ import annotations

import ipaddress
import socket
from collections.abc import Callable, Collection
from dataclasses import dataclass, field
from typing import Annotated, Any, NotRequired, TypeVar
from urllib.parse import urlsplit

from pydantic import (
    AfterValidator,
    BeforeValidator,
    ConfigDict,
    Field,
    GetCoreSchemaHandler,
    StrictBool,
    StringConstraints,
    model_validator,
    with_config,
)
from pydantic_core import core_schema
from typing_extensions import TypedDict  # pydantic needs this one before Python 3.12

LANGUAGES = ("en", "sw")

# The groups /services shows, in this order.
GROUPS = ("payments", "tax_business", "transport_land", "identity_travel", "social", "in_person")

ID_PATTERN = r"^[a-z][a-z0-9-]*$"
METHODS = ("GET", "HEAD")

_T = TypeVar("_T")
_TABLE = ConfigDict(extra="forbid")


def normalise_alias(text: str) -> str:
    """Lower case, trimmed, inner runs of white space made one space: the form aliases are compared in."""
    return " ".join(text.lower().split())


def private_address(url: str) -> bool:
    """Does this address name the local machine or a non-public network? Judged from the text: no DNS."""
    host = (urlsplit(url).hostname or "").rstrip(".")
    if host == "localhost" or host.endswith(".localhost"):
        return True
    try:
        ip: ipaddress.IPv4Address | ipaddress.IPv6Address = ipaddress.ip_address(host)
    except ValueError:
        try:  # the forms the system resolver also reads as IPv4: 127.1, 2130706433, 0x7f000001
            ip = ipaddress.IPv4Address(socket.inet_aton(host))
        except OSError:
            return False  # a host name
    return not ip.is_global or ip.is_multicast


def _one_of(options: Collection[str], message: str = "'{value}' is not one of {options}") -> Callable[[str], str]:
    def check(value: str) -> str:
        if value not in options:
            raise ValueError(message.format(value=value, options=", ".join(options)))
        return value

    return check


def _unique(values: tuple[_T, ...]) -> tuple[_T, ...]:
    seen: set[_T] = set()
    for i, value in enumerate(values):
        if value in seen:
            raise ValueError(f"{{field}}[{i}]: '{value}' is listed twice")
        seen.add(value)
    return values


def _web_address(url: str) -> str:
    parts = urlsplit(url)
    if parts.scheme not in ("http", "https") or not parts.netloc:
        raise ValueError(f"'{url}' is not an http(s):// address")
    return url


def _http_statuses(value: Any) -> Any:
    """Checked as a whole, so an error names the status, not its position."""
    if isinstance(value, list | tuple):
        for status in value:
            if isinstance(status, bool) or not isinstance(status, int) or not 100 <= status <= 599:
                raise ValueError(f"{status!r} is not an HTTP status")
        if not value:
            raise ValueError("must list at least one status")
    return value


# A string with something in it, without the white space around it.
Trimmed = Annotated[str, StringConstraints(strict=True, strip_whitespace=True, min_length=1)]
Id = Annotated[str, Field(strict=True, pattern=ID_PATTERN)]
Alias = Annotated[Trimmed, AfterValidator(normalise_alias)]
WebAddress = Annotated[Trimmed, AfterValidator(_web_address)]
Group = Annotated[Trimmed, AfterValidator(_one_of(GROUPS, "{{field}} '{value}' is not one of {options}"))]
Method = Annotated[Trimmed, AfterValidator(str.upper), AfterValidator(_one_of(METHODS))]
Seconds = Annotated[float, Field(strict=True, allow_inf_nan=False)]
Whole = Annotated[int, Field(strict=True)]


@dataclass(frozen=True)
class Text:
    """A text in English and (optionally) Swahili."""

    __pydantic_config__ = _TABLE

    en: Trimmed
    sw: Trimmed | None = None

    def get(self, lang: str) -> str:
        return self.sw if lang == "sw" and self.sw else self.en

    def has(self, lang: str) -> bool:
        return lang == "en" or bool(self.sw)


@with_config(_TABLE)
class _WorkaroundTable(TypedDict):
    """A workaround as the file has it: the text's en and sw beside source and verify."""

    en: Trimmed
    sw: NotRequired[Trimmed]
    source: Trimmed
    verify: NotRequired[StrictBool]


@dataclass(frozen=True)
class Workaround:
    """What a citizen can do instead when the service fails."""

    text: Text
    source: str
    verify: bool = False  # not yet confirmed: kept in the file, never shown to citizens

    @classmethod
    def __get_pydantic_core_schema__(cls, source: Any, handler: GetCoreSchemaHandler) -> core_schema.CoreSchema:
        def build(table: dict[str, Any]) -> Workaround:
            table = dict(table)
            return cls(Text(table.pop("en"), table.pop("sw", None)), **table)

        def flat(workaround: Workaround) -> dict[str, Any]:
            en, sw = workaround.text.en, workaround.text.sw
            text = {"en": en} if sw is None else {"en": en, "sw": sw}
            return {**text, "source": workaround.source, "verify": workaround.verify}

        return core_schema.no_info_after_validator_function(
            build,
            handler.generate_schema(_WorkaroundTable),
            serialization=core_schema.plain_serializer_function_ser_schema(flat),
        )


@dataclass(frozen=True)
class Contact:
    """A way to reach the agency: phone, USSD, SMS, e-mail, X account, walk-in office."""

    __pydantic_config__ = _TABLE

    label: Text
    value: Trimmed
    source: Trimmed
    verify: StrictBool = False


@dataclass(frozen=True)
class Check:
    """An automatic HTTP check of one of the service's addresses."""

    __pydantic_config__ = _TABLE

    url: WebAddress
    method: Method = "GET"
    expect_status: Annotated[tuple[int, ...], BeforeValidator(_http_statuses)] = (200,)
    body_contains: Trimmed | None = None
    body_not_contains: Trimmed | None = None
    timeout_s: Annotated[Seconds, Field(gt=0, le=60)] = 10.0
    interval_s: Annotated[Seconds, Field(ge=10)] = 60.0
    slow_ms: Annotated[Whole, Field(gt=0)] = 5000
    # As Gatus does: a status worsens only after this many bad results in a row, and recovers
    # only after this many good ones, so one lost packet never flips a service.
    failure_threshold: Annotated[Whole, Field(ge=1, le=20)] = 3
    success_threshold: Annotated[Whole, Field(ge=1, le=20)] = 2
    # Stored only when set, so copies written before this field existed compare equal.
    allow_private: Annotated[StrictBool, Field(exclude_if=lambda allowed: not allowed)] = False

    def key(self, service_id: str) -> str:
        """The stable name history and state are kept under: the service and the address."""
        return f"{service_id} {self.method} {self.url}"[:255]

    @model_validator(mode="after")
    def _consistent(self) -> Check:
        if not self.allow_private and private_address(self.url):
            raise ValueError(
                f"{{field}}.url: '{self.url}' is not a public address (the local machine or a private network); "
                "a check may probe it only with allow_private = true"
            )
        if self.slow_ms >= self.timeout_s * 1000:
            raise ValueError(
                f"{{field}}.slow_ms: {self.slow_ms} must be below timeout_s ({self.timeout_s:g} s = "
                f"{self.timeout_s * 1000:g} ms), or no answer could ever count as slow"
            )
        if self.method == "HEAD" and (self.body_contains or self.body_not_contains):
            raise ValueError("{field}.method: HEAD has no body to look for text in; use GET")
        return self


@dataclass(frozen=True)
class Service:
    __pydantic_config__ = _TABLE

    id: Id
    name: Text
    agency: Trimmed
    group: Group
    used_for: Text
    aliases: Annotated[tuple[Alias, ...], AfterValidator(_unique)] = ()
    urls: Annotated[tuple[WebAddress, ...], AfterValidator(_unique)] = ()
    depends_on: Annotated[tuple[Trimmed, ...], AfterValidator(_unique)] = ()
    workarounds: tuple[Workaround, ...] = ()
    contacts: tuple[Contact, ...] = ()
    checks: tuple[Check, ...] = ()
    notes: Text | None = None

    def shown_workarounds(self) -> tuple[Workaround, ...]:
        return tuple(w for w in self.workarounds if not w.verify)

    def shown_contacts(self) -> tuple[Contact, ...]:
        return tuple(c for c in self.contacts if not c.verify)


@dataclass(frozen=True)
class Ambiguity:
    """A word that names more than one thing ("sheria"): the bot asks which one is meant."""

    __pydantic_config__ = _TABLE

    term: Alias
    services: Annotated[tuple[Trimmed, ...], Field(min_length=1)]
    note: Text | None = None  # e.g. names the meaning Hali does not track


@dataclass(frozen=True)
class Catalog:
    services: tuple[Service, ...]
    ambiguous: tuple[Ambiguity, ...] = ()
    _by_id: dict[str, Service] = field(default_factory=dict, init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        self._by_id.update({s.id: s for s in self.services})

    def get(self, service_id: str) -> Service | None:
        return self._by_id.get(service_id)

    def __getitem__(self, service_id: str) -> Service:
        return self._by_id[service_id]

    def __contains__(self, service_id: object) -> bool:
        return service_id in self._by_id

    @property
    def ids(self) -> tuple[str, ...]:
        return tuple(s.id for s in self.services)
