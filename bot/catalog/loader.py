"""Read the service catalogue from TOML, validate it against the schema in model.py, check the rules that
span services, and turn services into JSON-able dicts and back with the same schema.

Every problem raises CatalogError with one line naming the file, the service and the field, e.g.
``services.toml: service 'ntsa': depends_on: unknown service 'foo'``.
"""

from __future__ import annotations

import difflib
import re
import reprlib
import tomllib
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from functools import cache
from pathlib import Path
from typing import Annotated, Any

from pydantic import ConfigDict, Field, TypeAdapter, ValidationError
from pydantic_core import ErrorDetails

from bot.catalog.model import ID_PATTERN, Ambiguity, Catalog, Id, Service, Workaround, normalise_alias

__all__ = [
    "BUNDLED_CATALOG",
    "MAX_FILE_BYTES",
    "CatalogError",
    "catalog_to_dict",
    "load_catalog",
    "normalise_alias",
    "parse_catalog",
    "service_from_dict",
]

BUNDLED_CATALOG = Path(__file__).with_name("services.toml")
MAX_FILE_BYTES = 1024 * 1024  # the bundled file is about 50 KiB

# tomllib's time and memory grow with the square of a dotted key's length (a.b.c… = 1, [a.b.c…]), so a
# 1 MiB file of long keys takes gigabytes; they are refused before it reads them. The catalogue's keys
# have two parts. (Text in a string that looks like such a key is refused too: nine words joined by dots.)
_MAX_KEY_PARTS = 8
_LONG_KEY = re.compile(rf"""(?:(?:[\w-]+|"[^"\n]*"|'[^'\n]*')[ \t]*\.[ \t]*){{{_MAX_KEY_PARTS}}}""")


class CatalogError(ValueError):
    """The catalogue is malformed; the message says where (file, service, field) and what is wrong."""


@dataclass(frozen=True, kw_only=True)
class _CatalogFile:
    """The file's top level; shared workarounds first, so a broken one is named where it is written."""

    __pydantic_config__ = ConfigDict(extra="forbid")

    shared_workarounds: dict[Id, Workaround] = field(default_factory=dict)
    services: Annotated[tuple[Service, ...], Field(min_length=1)]
    ambiguous: tuple[Ambiguity, ...] = ()


# Built on first use: a command that only reads services from the store never builds the file's schema.
@cache
def _file_schema() -> TypeAdapter[_CatalogFile]:
    return TypeAdapter(_CatalogFile)


@cache
def _service_schema() -> TypeAdapter[Service]:
    return TypeAdapter(Service)


# --------------------------------------------------------------------------------------------- public API


def load_catalog(path: Path | str | None = None) -> Catalog:
    """Load and check a catalogue file; None means the bundled services.toml."""
    file = BUNDLED_CATALOG if path is None else Path(path)
    source = file.name
    try:
        with file.open("rb") as stream:
            raw = stream.read(MAX_FILE_BYTES + 1)
    except OSError as exc:
        raise CatalogError(f"{source}: cannot read the file: {exc.strerror or exc}") from exc
    if len(raw) > MAX_FILE_BYTES:
        raise CatalogError(f"{source}: larger than {MAX_FILE_BYTES / 2**20:g} MiB, too large for a catalogue")
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise CatalogError(f"{source}: not UTF-8 text: {exc}") from exc
    for number, line in enumerate(text.splitlines(), start=1):
        if line.count(".") >= _MAX_KEY_PARTS and _LONG_KEY.search(line):
            raise CatalogError(f"{source}: invalid TOML: a key of more than {_MAX_KEY_PARTS} parts (line {number})")
    try:
        data = tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        raise CatalogError(f"{source}: invalid TOML: {exc}") from exc
    except RecursionError:  # tomllib descends once per nested array or inline table
        raise CatalogError(f"{source}: invalid TOML: arrays or tables nested too deeply") from None
    return parse_catalog(data, source=source)


def parse_catalog(data: Mapping[str, Any], *, source: str) -> Catalog:
    """Check parsed TOML (or an equivalent dict) and build the Catalog; ``source`` prefixes every error."""
    data = _resolve_refs(data, source)
    try:
        parsed = _file_schema().validate_python(data)
    except ValidationError as exc:
        raise CatalogError(_describe(exc, data, source)) from None
    ids = _check_ids(parsed.services, source)
    _check_dependencies(parsed.services, source)
    owners = _check_aliases(parsed.services, ids, source)
    _check_ambiguities(parsed.ambiguous, ids, owners, source)
    return Catalog(services=parsed.services, ambiguous=parsed.ambiguous)


def catalog_to_dict(service: Service) -> dict[str, Any]:
    """One service as plain JSON-able data, in the same shape as its [[services]] table in the TOML file."""
    data: dict[str, Any] = _service_schema().dump_python(service, mode="json", exclude_none=True)
    return data


def service_from_dict(d: Mapping[str, Any]) -> Service:
    """Rebuild a Service from catalog_to_dict's output, checking it as the loader would."""
    try:
        return _service_schema().validate_python(d)
    except ValidationError as exc:
        raise CatalogError(_describe(exc, {"services": [d]}, "stored service", within=("services", 0))) from None


# ------------------------------------------------------------------------------------ before validation


def _resolve_refs(data: Any, source: str) -> Any:
    """Put the shared workaround in place of each ``{ ref = "key" }``; leave anything malformed to the schema."""
    if not isinstance(data, Mapping) or not isinstance(data.get("services"), list):
        return data
    shared = data.get("shared_workarounds")
    shared = shared if isinstance(shared, Mapping) else {}
    services = []
    for number, raw in enumerate(data["services"], start=1):
        if isinstance(raw, Mapping) and isinstance(raw.get("workarounds"), list):
            where = f"{source}: {_service_label(raw, number - 1)}"
            raw = {**raw, "workarounds": [_resolve(w, i, shared, where) for i, w in enumerate(raw["workarounds"])]}
        services.append(raw)
    return {**data, "services": services}


def _resolve(workaround: Any, i: int, shared: Mapping[str, Any], where: str) -> Any:
    if not isinstance(workaround, Mapping) or "ref" not in workaround:
        return workaround
    for key in workaround:
        if key != "ref":
            raise CatalogError(f"{where}: workarounds[{i}]: unknown key '{key}' (a ref = \"…\" stands alone)")
    ref = workaround["ref"]
    if not isinstance(ref, str):
        raise CatalogError(f"{where}: workarounds[{i}].ref: must be a string, not {_kind(ref)}")
    if ref.strip() not in shared:
        raise CatalogError(f"{where}: workarounds[{i}].ref: unknown shared workaround '{ref.strip()}'")
    return shared[ref.strip()]


# ------------------------------------------------------------------------------------ cross-service rules


def _check_ids(services: tuple[Service, ...], source: str) -> set[str]:
    ids: set[str] = set()
    for service in services:
        if service.id in ids:
            raise CatalogError(f"{source}: duplicate service id '{service.id}'")
        ids.add(service.id)
    return ids


def _check_dependencies(services: tuple[Service, ...], source: str) -> None:
    by_id = {s.id: s for s in services}
    for service in services:
        for dep in service.depends_on:
            if dep not in by_id:
                raise CatalogError(f"{source}: service '{service.id}': depends_on: unknown service '{dep}'")

    # Depth first, without recursion: a long chain of dependencies must not exhaust the stack.
    done: set[str] = set()
    for root in by_id:
        if root in done:
            continue
        path, pending = [root], [iter(by_id[root].depends_on)]
        while pending:
            step = next(pending[-1], None)
            if step is None:
                done.add(path.pop())
                pending.pop()
            elif step in path:
                cycle = [*path[path.index(step) :], step]
                raise CatalogError(f"{source}: dependency cycle: {' -> '.join(cycle)}")
            elif step not in done:
                path.append(step)
                pending.append(iter(by_id[step].depends_on))


def _check_aliases(services: tuple[Service, ...], ids: set[str], source: str) -> dict[str, str]:
    """Aliases must name one service only, and not another service's id; returns alias -> owner id."""
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


def _check_ambiguities(
    ambiguous: tuple[Ambiguity, ...], ids: set[str], alias_owners: Mapping[str, str], source: str
) -> None:
    terms: set[str] = set()
    for ambiguity in ambiguous:
        where = f"{source}: ambiguous term '{ambiguity.term}'"
        if ambiguity.term in terms:
            raise CatalogError(f"{source}: duplicate ambiguous term '{ambiguity.term}'")
        if ambiguity.term in alias_owners:
            raise CatalogError(f"{where}: is also an alias of '{alias_owners[ambiguity.term]}'")
        if ambiguity.term in ids:
            raise CatalogError(f"{where}: is also a service id")
        for service_id in ambiguity.services:
            if service_id not in ids:
                raise CatalogError(f"{where}: services: unknown service '{service_id}'")
        terms.add(ambiguity.term)


# --------------------------------------------------------------------------- validation errors as one line


def _service_label(raw: Any, index: int) -> str:
    sid = raw.get("id") if isinstance(raw, Mapping) else None
    return f"service '{sid}'" if isinstance(sid, str) and re.fullmatch(ID_PATTERN, sid) else f"service #{index + 1}"


def _ambiguity_label(raw: Any, index: int) -> str:
    term = raw.get("term") if isinstance(raw, Mapping) else None
    if isinstance(term, str) and term.strip():
        return f"ambiguous term '{normalise_alias(term)}'"
    return f"ambiguous[{index}]"


# The tables an error is placed in by name rather than by position.
_LABELS: dict[str, Callable[[Any, Any], str]] = {
    "services": _service_label,
    "ambiguous": _ambiguity_label,
    "shared_workarounds": lambda raw, key: f"shared workaround '{key}'",
}

_UNKNOWN_KEY = ("extra_forbidden", "unexpected_keyword_argument")
_BOUNDS = (("exclusiveMinimum", ">"), ("minimum", "≥"), ("exclusiveMaximum", "<"), ("maximum", "≤"))
_BOUND_ERRORS = ("greater_than", "greater_than_equal", "less_than", "less_than_equal")
_KIND_ERRORS = {
    "string_type": "must be a string",
    "bool_type": "must be true or false",
    "tuple_type": "must be an array",
    "dataclass_type": "must be a table",
    "dict_type": "must be a table",
}
_repr = reprlib.Repr()  # short, and safe on deeply nested values
_repr.maxstring = _repr.maxother = 60


def _describe(exc: ValidationError, data: Any, source: str, within: tuple[str | int, ...] = ()) -> str:
    """The first error as one line: the file, the service (or other table) it is in, the field, the problem."""
    errors = exc.errors()
    first = errors[0]
    # As a misspelt key also leaves a required one missing, an unknown key in the same table goes first.
    error = next((e for e in errors if e["type"] in _UNKNOWN_KEY and _contains(e["loc"][:-1], first["loc"])), first)
    loc = (*within, *error["loc"])
    where, path = source, loc
    if len(loc) >= 2 and loc[0] in _LABELS and isinstance(data, Mapping):
        table = data.get(loc[0])
        raw = table[loc[1]] if isinstance(table, list) and isinstance(loc[1], int) else None
        where, path = f"{source}: {_LABELS[str(loc[0])](raw, loc[1])}", loc[2:]
    name = _dotted(path)

    if error["type"] == "missing":
        required = _schema_at(loc).get("required")  # a missing table is named by its first required field
        return f"{where}: missing required field '{name}{'.' + required[0] if required else ''}'"
    if error["type"] in _UNKNOWN_KEY:
        close = difflib.get_close_matches(str(loc[-1]), _schema_at(loc[:-1]).get("properties", {}), n=1)
        hint = f" (did you mean '{close[0]}'?)" if close else ""
        table = _dotted(path[:-1]) or ("top level" if where == source else "")
        return f"{where}: {table + ': ' if table else ''}unknown key '{loc[-1]}'{hint}"
    message = _problem(error, _schema_at(loc))
    if "{field}" in message:
        return f"{where}: {message.replace('{field}', name)}"
    return f"{where}: {name}: {message}" if name else f"{where}: {message}"


def _problem(error: ErrorDetails, schema: Mapping[str, Any]) -> str:
    """What is wrong with the value; a number's message states every limit the schema holds it to."""
    kind, value = error["type"], error["input"]
    if kind == "value_error":
        return str(error["ctx"]["error"])
    if schema.get("type") == "integer":
        return f"{_repr.repr(value)} must be a whole number {_bounds(schema, whole=True)}".rstrip()
    if schema.get("type") == "number":
        if kind in _BOUND_ERRORS:
            return f"{value:g} must be {_bounds(schema)}"
        return f"{_repr.repr(value)} must be a number"
    if kind in _KIND_ERRORS:
        keys = schema.get("properties", ())
        with_keys = f" with {' and '.join(map(repr, keys))}" if 0 < len(keys) <= 2 else ""
        return f"{_KIND_ERRORS[kind]}{with_keys}, not {_kind(value)}"
    if kind in ("string_too_short", "too_short"):
        return "must not be empty"
    if kind == "string_pattern_mismatch":
        return f"{_repr.repr(value)} must match {error['ctx']['pattern']}"
    return error["msg"]


def _contains(table: tuple[str | int, ...], loc: tuple[str | int, ...]) -> bool:
    return loc[: len(table)] == table


def _dotted(path: tuple[str | int, ...]) -> str:
    """('checks', 0, 'timeout_s') -> 'checks[0].timeout_s'."""
    out = ""
    for part in path:
        out += f"[{part}]" if isinstance(part, int) else f"{'.' if out else ''}{'key' if part == '[key]' else part}"
    return out


@cache
def _json_schema() -> dict[str, Any]:
    return _file_schema().json_schema()


def _schema_at(loc: tuple[str | int, ...]) -> dict[str, Any]:
    """The JSON Schema of the value at ``loc`` in the file (empty when there is none)."""
    defs = _json_schema().get("$defs", {})

    def resolve(node: dict[str, Any]) -> dict[str, Any]:
        while "$ref" in node or "anyOf" in node:
            if "$ref" in node:
                node = defs[node["$ref"].rsplit("/", 1)[-1]]
            else:  # an optional field: the type that is not null
                node = next((n for n in node["anyOf"] if n.get("type") != "null"), {})
        return node

    node = resolve(_json_schema())
    for part in loc:
        if isinstance(part, int):
            node = node.get("items", {})
        elif part in node.get("properties", {}):
            node = node["properties"][part]
        elif node.get("patternProperties"):
            node = next(iter(node["patternProperties"].values()))
        else:
            return {}
        node = resolve(node)
    return node


def _bounds(schema: Mapping[str, Any], *, whole: bool = False) -> str:
    if whole and "minimum" in schema and "maximum" in schema:
        return f"from {schema['minimum']:g} to {schema['maximum']:g}"
    return " and ".join(f"{sign} {schema[key]:g}" for key, sign in _BOUNDS if key in schema)


def _kind(value: object) -> str:
    names = {str: "a string", bool: "a boolean", int: "a number", float: "a number", list: "an array"}
    if isinstance(value, Mapping):
        return "a table"
    return names.get(type(value), type(value).__name__)
