"""The service catalogue as immutable data: what each service is, what people call it, what to do instead."""

from __future__ import annotations

from dataclasses import dataclass, field

LANGUAGES = ("en", "sw")

# The groups /services shows, in this order.
GROUPS = ("payments", "tax_business", "transport_land", "identity_travel", "social", "in_person")


@dataclass(frozen=True)
class Text:
    """A text in English and (optionally) Swahili."""

    en: str
    sw: str | None = None

    def get(self, lang: str) -> str:
        return self.sw if lang == "sw" and self.sw else self.en

    def has(self, lang: str) -> bool:
        return lang == "en" or bool(self.sw)


@dataclass(frozen=True)
class Workaround:
    """What a citizen can do instead when the service fails."""

    text: Text
    source: str
    verify: bool = False  # not yet confirmed: kept in the file, never shown to citizens


@dataclass(frozen=True)
class Contact:
    """A way to reach the agency: phone, USSD, SMS, e-mail, X account, walk-in office."""

    label: Text
    value: str
    source: str
    verify: bool = False


@dataclass(frozen=True)
class Check:
    """An automatic HTTP check of one of the service's addresses."""

    url: str
    method: str = "GET"
    expect_status: tuple[int, ...] = (200,)
    body_contains: str | None = None
    body_not_contains: str | None = None
    timeout_s: float = 10.0
    interval_s: float = 60.0
    slow_ms: int = 5000
    # As Gatus does: a status worsens only after this many bad results in a row, and recovers
    # only after this many good ones, so one lost packet never flips a service.
    failure_threshold: int = 3
    success_threshold: int = 2

    def key(self, service_id: str) -> str:
        """The stable name history and state are kept under: the service and the address."""
        return f"{service_id} {self.method} {self.url}"[:255]


@dataclass(frozen=True)
class Service:
    id: str
    name: Text
    agency: str
    group: str
    used_for: Text
    aliases: tuple[str, ...] = ()
    urls: tuple[str, ...] = ()
    depends_on: tuple[str, ...] = ()
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

    term: str
    services: tuple[str, ...]
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
