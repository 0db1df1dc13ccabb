"""Read the service catalogue from TOML, check it thoroughly, and turn services into JSON-able dicts and back.

Every problem raises CatalogError with a message naming the file, the service and the field, e.g.
``services.toml: service 'ntsa': depends_on: unknown service 'foo'``.
"""

from __future__ import annotations

import difflib
import math
import re
import tomllib
from collections.abc import Iterable, Mapping
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

from bot.catalog.model import GROUPS, Ambiguity, Catalog, Check, Contact, Service, Text, Workaround

__all__ = [
    "BUNDLED_CATALOG",
    "CatalogError",
    "catalog_to_dict",
    "load_catalog",
    "normalise_alias",
    "parse_catalog",
    "service_from_dict",
]

BUNDLED_CATALOG = Path(__file__).with_name("services.toml")

_ID_RE = re.compile(r"^[a-z][a-z0-9-]*$")
_METHODS = ("GET", "HEAD")

_TOP_KEYS = ("services", "ambiguous", "shared_workarounds")
_SERVICE_KEYS = (
    "id",
    "name",
    "agency",
    "group",
    "used_for",
    "aliases",
    "urls",
    "depends_on",
    "workarounds",
    "contacts",
    "checks",
    "notes",
)
_TEXT_KEYS = ("en", "sw")
_WORKAROUND_KEYS = ("en", "sw", "source", "verify")
_CONTACT_KEYS = ("label", "value", "source", "verify")
_CHECK_KEYS = (
    "url",
    "method",
    "expect_status",
    "body_contains",
    "body_not_contains",
    "timeout_s",
    "interval_s",
    "slow_ms",
    "failure_threshold",
    "success_threshold",
)
_AMBIGUITY_KEYS = ("term", "services", "note")

_MAX_TIMEOUT_S = 60.0
_MIN_INTERVAL_S = 10.0
_MAX_THRESHOLD = 20


class CatalogError(ValueError):
    """The catalogue is malformed; the message says where (file, service, field) and what is wrong."""


def normalise_alias(text: str) -> str:
    """Lower case, trimmed, inner runs of white space made one space: the form aliases are compared in."""
    return " ".join(text.lower().split())


# --------------------------------------------------------------------------------------------- public API


def load_catalog(path: Path | str | None = None) -> Catalog:
    """Load and check a catalogue file; None means the bundled services.toml."""
    file = BUNDLED_CATALOG if path is None else Path(path)
    source = file.name
    try:
        raw = file.read_bytes()
    except OSError as exc:
        raise CatalogError(f"{source}: cannot read the file: {exc.strerror or exc}") from exc
    try:
        data = tomllib.loads(raw.decode("utf-8"))
    except UnicodeDecodeError as exc:
        raise CatalogError(f"{source}: not UTF-8 text: {exc}") from exc
    except tomllib.TOMLDecodeError as exc:
        raise CatalogError(f"{source}: invalid TOML: {exc}") from exc
    return parse_catalog(data, source=source)


def parse_catalog(data: Mapping[str, Any], *, source: str) -> Catalog:
    """Check parsed TOML (or an equivalent dict) and build the Catalog; ``source`` prefixes every error."""
    if not isinstance(data, Mapping):
        raise CatalogError(f"{source}: the catalogue must be a table, not {_kind(data)}")
    _reject_unknown(data, _TOP_KEYS, f"{source}: top level")

    shared = _parse_shared_workarounds(data.get("shared_workarounds", {}), source)

    raw_services = data.get("services")
    if raw_services is None:
        raise CatalogError(f"{source}: missing required field 'services'")
    if not isinstance(raw_services, list) or not raw_services:
        raise CatalogError(f"{source}: services: must be a non-empty array of tables ([[services]])")

    services: list[Service] = []
    seen: set[str] = set()
    for number, raw in enumerate(raw_services, start=1):
        service = _parse_service(raw, source=source, number=number, shared=shared)
        if service.id in seen:
            raise CatalogError(f"{source}: duplicate service id '{service.id}'")
        seen.add(service.id)
        services.append(service)

    _check_dependencies(services, source)
    owners = _check_aliases(services, source)
    ambiguous = _parse_ambiguities(data.get("ambiguous", []), source, seen, owners)
    return Catalog(services=tuple(services), ambiguous=ambiguous)


def catalog_to_dict(service: Service) -> dict[str, Any]:
    """One service as plain JSON-able data, in the same shape as its [[services]] table in the TOML file."""
    out: dict[str, Any] = {
        "id": service.id,
        "name": _text_to_dict(service.name),
        "agency": service.agency,
        "group": service.group,
        "used_for": _text_to_dict(service.used_for),
        "aliases": list(service.aliases),
        "urls": list(service.urls),
        "depends_on": list(service.depends_on),
        "workarounds": [
            {**_text_to_dict(w.text), "source": w.source, "verify": w.verify} for w in service.workarounds
        ],
        "contacts": [
            {"label": _text_to_dict(c.label), "value": c.value, "source": c.source, "verify": c.verify}
            for c in service.contacts
        ],
        "checks": [_check_to_dict(c) for c in service.checks],
    }
    if service.notes is not None:
        out["notes"] = _text_to_dict(service.notes)
    return out


def service_from_dict(d: Mapping[str, Any]) -> Service:
    """Rebuild a Service from catalog_to_dict's output, checking it as the loader would."""
    return _parse_service(d, source="stored service", number=1, shared={})


# ------------------------------------------------------------------------------------------------ services


def _parse_service(raw: Any, *, source: str, number: int, shared: Mapping[str, Workaround]) -> Service:
    where = f"{source}: service #{number}"
    if not isinstance(raw, Mapping):
        raise CatalogError(f"{where}: must be a table, not {_kind(raw)}")
    if "id" not in raw:
        raise CatalogError(f"{where}: missing required field 'id'")
    service_id = raw["id"]
    if not isinstance(service_id, str) or not _ID_RE.fullmatch(service_id):
        raise CatalogError(f"{where}: id: {service_id!r} must match ^[a-z][a-z0-9-]*$")
    where = f"{source}: service '{service_id}'"
    _reject_unknown(raw, _SERVICE_KEYS, where)

    group = _required_str(raw, "group", where)
    if group not in GROUPS:
        raise CatalogError(f"{where}: group '{group}' is not one of {', '.join(GROUPS)}")

    notes = raw.get("notes")
    return Service(
        id=service_id,
        name=_required_text(raw, "name", where),
        agency=_required_str(raw, "agency", where),
        group=group,
        used_for=_required_text(raw, "used_for", where),
        aliases=_parse_aliases(raw.get("aliases", []), where),
        urls=_parse_urls(raw.get("urls", []), where),
        depends_on=_parse_depends_on(raw.get("depends_on", []), where),
        workarounds=tuple(
            _parse_workaround(item, f"workarounds[{i}]", where, shared)
            for i, item in enumerate(_array(raw.get("workarounds", []), "workarounds", where))
        ),
        contacts=tuple(
            _parse_contact(item, f"contacts[{i}]", where)
            for i, item in enumerate(_array(raw.get("contacts", []), "contacts", where))
        ),
        checks=tuple(
            _parse_check(item, f"checks[{i}]", where)
            for i, item in enumerate(_array(raw.get("checks", []), "checks", where))
        ),
        notes=None if notes is None else _parse_text(notes, "notes", where),
    )


def _parse_aliases(raw: Any, where: str) -> tuple[str, ...]:
    aliases: list[str] = []
    for i, item in enumerate(_array(raw, "aliases", where)):
        alias = normalise_alias(_str(item, f"aliases[{i}]", where))
        if alias in aliases:
            raise CatalogError(f"{where}: aliases[{i}]: '{alias}' is listed twice")
        aliases.append(alias)
    return tuple(aliases)


def _parse_urls(raw: Any, where: str) -> tuple[str, ...]:
    urls: list[str] = []
    for i, item in enumerate(_array(raw, "urls", where)):
        url = _url(item, f"urls[{i}]", where)
        if url in urls:
            raise CatalogError(f"{where}: urls[{i}]: '{url}' is listed twice")
        urls.append(url)
    return tuple(urls)


def _parse_depends_on(raw: Any, where: str) -> tuple[str, ...]:
    deps: list[str] = []
    for i, item in enumerate(_array(raw, "depends_on", where)):
        dep = _str(item, f"depends_on[{i}]", where)
        if dep in deps:
            raise CatalogError(f"{where}: depends_on: '{dep}' is listed twice")
        deps.append(dep)
    return tuple(deps)


def _parse_shared_workarounds(raw: Any, source: str) -> dict[str, Workaround]:
    if not isinstance(raw, Mapping):
        raise CatalogError(f"{source}: shared_workarounds: must be a table, not {_kind(raw)}")
    shared: dict[str, Workaround] = {}
    for key, item in raw.items():
        if not _ID_RE.fullmatch(key):
            raise CatalogError(f"{source}: shared_workarounds: key {key!r} must match ^[a-z][a-z0-9-]*$")
        shared[key] = _parse_workaround(item, key, f"{source}: shared_workarounds", {}, allow_ref=False)
    return shared


def _parse_workaround(
    raw: Any, field: str, where: str, shared: Mapping[str, Workaround], *, allow_ref: bool = True
) -> Workaround:
    if not isinstance(raw, Mapping):
        raise CatalogError(f"{where}: {field}: must be a table, not {_kind(raw)}")
    if allow_ref and "ref" in raw:
        _reject_unknown(raw, ("ref",), f"{where}: {field}")
        ref = _str(raw["ref"], f"{field}.ref", where)
        if ref not in shared:
            raise CatalogError(f"{where}: {field}.ref: unknown shared workaround '{ref}'")
        return shared[ref]
    _reject_unknown(raw, _WORKAROUND_KEYS, f"{where}: {field}")
    return Workaround(
        text=_parse_text({k: raw[k] for k in _TEXT_KEYS if k in raw}, field, where),
        source=_required_str(raw, "source", where, prefix=field),
        verify=_bool(raw.get("verify", False), f"{field}.verify", where),
    )


def _parse_contact(raw: Any, field: str, where: str) -> Contact:
    if not isinstance(raw, Mapping):
        raise CatalogError(f"{where}: {field}: must be a table, not {_kind(raw)}")
    _reject_unknown(raw, _CONTACT_KEYS, f"{where}: {field}")
    return Contact(
        label=_required_text(raw, "label", where, prefix=field),
        value=_required_str(raw, "value", where, prefix=field),
        source=_required_str(raw, "source", where, prefix=field),
        verify=_bool(raw.get("verify", False), f"{field}.verify", where),
    )


def _parse_check(raw: Any, field: str, where: str) -> Check:
    if not isinstance(raw, Mapping):
        raise CatalogError(f"{where}: {field}: must be a table, not {_kind(raw)}")
    _reject_unknown(raw, _CHECK_KEYS, f"{where}: {field}")
    if "url" not in raw:
        raise CatalogError(f"{where}: missing required field '{field}.url'")
    defaults = Check(url=_url(raw["url"], f"{field}.url", where))

    method = _str(raw.get("method", defaults.method), f"{field}.method", where).upper()
    if method not in _METHODS:
        raise CatalogError(f"{where}: {field}.method: '{method}' is not one of {', '.join(_METHODS)}")

    statuses: list[int] = []
    raw_statuses = raw.get("expect_status", list(defaults.expect_status))
    for status in _array(raw_statuses, f"{field}.expect_status", where):
        if isinstance(status, bool) or not isinstance(status, int) or not 100 <= status <= 599:
            raise CatalogError(f"{where}: {field}.expect_status: {status!r} is not an HTTP status")
        statuses.append(status)
    if not statuses:
        raise CatalogError(f"{where}: {field}.expect_status: must list at least one status")

    timeout_s = _number(raw.get("timeout_s", defaults.timeout_s), f"{field}.timeout_s", where)
    if not 0 < timeout_s <= _MAX_TIMEOUT_S:
        raise CatalogError(f"{where}: {field}.timeout_s: {timeout_s:g} must be > 0 and ≤ {_MAX_TIMEOUT_S:g}")
    interval_s = _number(raw.get("interval_s", defaults.interval_s), f"{field}.interval_s", where)
    if interval_s < _MIN_INTERVAL_S:
        raise CatalogError(f"{where}: {field}.interval_s: {interval_s:g} must be ≥ {_MIN_INTERVAL_S:g}")
    slow_ms = raw.get("slow_ms", defaults.slow_ms)
    if isinstance(slow_ms, bool) or not isinstance(slow_ms, int) or slow_ms <= 0:
        raise CatalogError(f"{where}: {field}.slow_ms: {slow_ms!r} must be a whole number > 0")
    if slow_ms >= timeout_s * 1000:
        raise CatalogError(
            f"{where}: {field}.slow_ms: {slow_ms} must be below timeout_s ({timeout_s:g} s = "
            f"{timeout_s * 1000:g} ms), or no answer could ever count as slow"
        )
    thresholds = {
        name: _threshold(raw.get(name, getattr(defaults, name)), f"{field}.{name}", where)
        for name in ("failure_threshold", "success_threshold")
    }
    body_contains = _optional_str(raw.get("body_contains"), f"{field}.body_contains", where)
    body_not_contains = _optional_str(raw.get("body_not_contains"), f"{field}.body_not_contains", where)
    if method == "HEAD" and (body_contains or body_not_contains):
        raise CatalogError(f"{where}: {field}.method: HEAD has no body to look for text in; use GET")

    return Check(
        url=defaults.url,
        method=method,
        expect_status=tuple(statuses),
        body_contains=body_contains,
        body_not_contains=body_not_contains,
        timeout_s=timeout_s,
        interval_s=interval_s,
        slow_ms=slow_ms,
        **thresholds,
    )


def _threshold(value: Any, field: str, where: str) -> int:
    if isinstance(value, bool) or not isinstance(value, int) or not 1 <= value <= _MAX_THRESHOLD:
        raise CatalogError(f"{where}: {field}: {value!r} must be a whole number from 1 to {_MAX_THRESHOLD}")
    return value


# ------------------------------------------------------------------------------------ cross-service checks


def _check_dependencies(services: list[Service], source: str) -> None:
    by_id = {s.id: s for s in services}
    for service in services:
        for dep in service.depends_on:
            if dep not in by_id:
                raise CatalogError(f"{source}: service '{service.id}': depends_on: unknown service '{dep}'")

    done: set[str] = set()

    def visit(service_id: str, path: list[str]) -> None:
        if service_id in path:
            cycle = [*path[path.index(service_id) :], service_id]
            raise CatalogError(f"{source}: dependency cycle: {' -> '.join(cycle)}")
        if service_id in done:
            return
        for dep in by_id[service_id].depends_on:
            visit(dep, [*path, service_id])
        done.add(service_id)

    for service in services:
        visit(service.id, [])


def _check_aliases(services: list[Service], source: str) -> dict[str, str]:
    """Aliases must name one service only, and not another service's id; returns alias -> owner id."""
    ids = {s.id for s in services}
    owners: dict[str, str] = {}
    for service in services:
        for alias in service.aliases:
            if alias in owners:
                raise CatalogError(
                    f"{source}: alias '{alias}' is used by both '{owners[alias]}' and '{service.id}'"
                )
            if alias in ids and alias != service.id:
                raise CatalogError(
                    f"{source}: service '{service.id}': alias '{alias}' is the id of another service"
                )
            owners[alias] = service.id
    return owners


def _parse_ambiguities(
    raw: Any, source: str, ids: set[str], alias_owners: Mapping[str, str]
) -> tuple[Ambiguity, ...]:
    result: list[Ambiguity] = []
    terms: set[str] = set()
    for i, item in enumerate(_array(raw, "ambiguous", source)):
        where = f"{source}: ambiguous[{i}]"
        if not isinstance(item, Mapping):
            raise CatalogError(f"{where}: must be a table, not {_kind(item)}")
        _reject_unknown(item, _AMBIGUITY_KEYS, where)
        term = normalise_alias(_required_str(item, "term", where))
        where = f"{source}: ambiguous term '{term}'"
        if term in terms:
            raise CatalogError(f"{source}: duplicate ambiguous term '{term}'")
        if term in alias_owners:
            raise CatalogError(f"{where}: is also an alias of '{alias_owners[term]}'")
        if term in ids:
            raise CatalogError(f"{where}: is also a service id")
        if "services" not in item:
            raise CatalogError(f"{where}: missing required field 'services'")
        services = tuple(
            _str(s, f"services[{j}]", where)
            for j, s in enumerate(_array(item["services"], "services", where))
        )
        if not services:
            raise CatalogError(f"{where}: services: must name at least one service")
        for service_id in services:
            if service_id not in ids:
                raise CatalogError(f"{where}: services: unknown service '{service_id}'")
        note = item.get("note")
        terms.add(term)
        result.append(
            Ambiguity(
                term=term, services=services, note=None if note is None else _parse_text(note, "note", where)
            )
        )
    return tuple(result)


# --------------------------------------------------------------------------------------------- primitives


def _reject_unknown(table: Mapping[str, Any], allowed: Iterable[str], where: str) -> None:
    allowed = tuple(allowed)
    for key in table:
        if key not in allowed:
            close = difflib.get_close_matches(key, allowed, n=1)
            hint = f" (did you mean '{close[0]}'?)" if close else ""
            raise CatalogError(f"{where}: unknown key '{key}'{hint}")


def _kind(value: object) -> str:
    names = {str: "a string", bool: "a boolean", int: "a number", float: "a number", list: "an array"}
    if isinstance(value, Mapping):
        return "a table"
    return names.get(type(value), type(value).__name__)


def _str(value: Any, field: str, where: str) -> str:
    if not isinstance(value, str):
        raise CatalogError(f"{where}: {field}: must be a string, not {_kind(value)}")
    text: str = value.strip()
    if not text:
        raise CatalogError(f"{where}: {field}: must not be empty")
    return text


def _optional_str(value: Any, field: str, where: str) -> str | None:
    return None if value is None else _str(value, field, where)


def _required_str(table: Mapping[str, Any], key: str, where: str, *, prefix: str = "") -> str:
    field = f"{prefix}.{key}" if prefix else key
    if key not in table:
        raise CatalogError(f"{where}: missing required field '{field}'")
    return _str(table[key], field, where)


def _bool(value: Any, field: str, where: str) -> bool:
    if not isinstance(value, bool):
        raise CatalogError(f"{where}: {field}: must be true or false, not {_kind(value)}")
    return value


def _number(value: Any, field: str, where: str) -> float:
    if isinstance(value, bool) or not isinstance(value, int | float) or not math.isfinite(value):
        raise CatalogError(f"{where}: {field}: {value!r} must be a number")
    return float(value)


def _array(value: Any, field: str, where: str) -> list[Any]:
    if not isinstance(value, list | tuple):
        raise CatalogError(f"{where}: {field}: must be an array, not {_kind(value)}")
    return list(value)


def _url(value: Any, field: str, where: str) -> str:
    url = _str(value, field, where)
    parts = urlsplit(url)
    if parts.scheme not in ("http", "https") or not parts.netloc:
        raise CatalogError(f"{where}: {field}: '{url}' is not an http(s):// address")
    return url


def _parse_text(value: Any, field: str, where: str) -> Text:
    if not isinstance(value, Mapping):
        raise CatalogError(f"{where}: {field}: must be a table with 'en' and 'sw', not {_kind(value)}")
    _reject_unknown(value, _TEXT_KEYS, f"{where}: {field}")
    if "en" not in value:
        raise CatalogError(f"{where}: missing required field '{field}.en'")
    en = _str(value["en"], f"{field}.en", where)
    sw = _optional_str(value.get("sw"), f"{field}.sw", where)
    return Text(en=en, sw=sw)


def _required_text(table: Mapping[str, Any], key: str, where: str, *, prefix: str = "") -> Text:
    field = f"{prefix}.{key}" if prefix else key
    if key not in table:
        raise CatalogError(f"{where}: missing required field '{field}.en'")
    return _parse_text(table[key], field, where)


def _text_to_dict(text: Text) -> dict[str, str]:
    return {"en": text.en} if text.sw is None else {"en": text.en, "sw": text.sw}


def _check_to_dict(check: Check) -> dict[str, Any]:
    out: dict[str, Any] = {
        "url": check.url,
        "method": check.method,
        "expect_status": list(check.expect_status),
        "timeout_s": check.timeout_s,
        "interval_s": check.interval_s,
        "slow_ms": check.slow_ms,
        "failure_threshold": check.failure_threshold,
        "success_threshold": check.success_threshold,
    }
    if check.body_contains is not None:
        out["body_contains"] = check.body_contains
    if check.body_not_contains is not None:
        out["body_not_contains"] = check.body_not_contains
    return out
