"""Settings read once from the environment and validated at start-up."""

from __future__ import annotations

import logging
import os
import re
from collections.abc import Collection, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import TypedDict

DEFAULT_API_BASE_URL = "https://api.telegram.org/bot"
DEFAULT_DATABASE_URL = "sqlite+aiosqlite:///hali.db"

_TOKEN_RE = re.compile(r"^\d{3,20}:[A-Za-z0-9_-]{20,}$")
_DB_SCHEMES = ("sqlite+aiosqlite", "postgresql+asyncpg", "postgresql+psycopg")


class ConfigError(ValueError):
    """A setting is missing or malformed; the message names the variable."""


@dataclass(frozen=True)
class Settings:
    token: str | None = None
    api_base_url: str = DEFAULT_API_BASE_URL
    database_url: str = DEFAULT_DATABASE_URL
    admin_ids: frozenset[int] = field(default_factory=frozenset)
    log_level: str = "INFO"
    status_cache_seconds: float = 2.0
    poll_timeout_seconds: int = 30
    report_key_secret: str | None = None
    report_retention_days: int = 90
    report_daily_cap: int = 10
    report_flow_timeout_minutes: float = 10.0
    check_concurrency: int = 20
    # Operator id -> the service ids they may edit; an operator not listed may edit every service.
    operator_scopes: Mapping[int, frozenset[str]] = field(default_factory=dict)

    def may_edit(self, user_id: int, service_id: str) -> bool:
        """Is this Telegram user an operator allowed to change this service?"""
        if user_id not in self.admin_ids:
            return False
        scope = self.operator_scopes.get(user_id)
        return scope is None or "*" in scope or service_id in scope

    def check_scopes(self, service_ids: Collection[str]) -> None:
        """At start-up, once the catalogue is loaded: every scoped service must exist."""
        for user_id, scope in sorted(self.operator_scopes.items()):
            for service_id in sorted(scope - {"*"}):
                if service_id not in service_ids:
                    raise ConfigError(
                        f"HALI_OPERATOR_SCOPES: operator {user_id}: unknown service {service_id!r} "
                        f"(see `hali services`)"
                    )
    broadcast_rate: float = 30.0
    paid_broadcast: bool = False
    broadcast_inflight: int | None = None
    settle_seconds: float = 120.0
    send_rate: float = 30.0  # every message the bot sends, all processes together
    reply_max_wait: float = 600.0  # seconds an answer may wait for its turn before it is dropped
    notify_max_age: float = 6 * 3600.0  # seconds a notification is retried after its first failure
    channel: str | None = None  # the public channel: "@name" or its numeric id

    @classmethod
    def from_env(cls, env: Mapping[str, str] | None = None) -> Settings:
        """Read and validate every setting; raise ConfigError naming the first bad one."""
        env = os.environ if env is None else env
        return cls(
            token=_token(env.get("TELEGRAM_BOT_TOKEN")),
            api_base_url=_base_url(env.get("TELEGRAM_API_BASE_URL")),
            database_url=database_url(env.get("DATABASE_URL")),
            admin_ids=_admin_ids(env.get("HALI_ADMIN_IDS")),
            log_level=_log_level(env.get("HALI_LOG_LEVEL")),
            status_cache_seconds=_float(env, "HALI_STATUS_CACHE_SECONDS", 2.0, low=0.0, high=5.0),
            poll_timeout_seconds=int(_float(env, "HALI_POLL_TIMEOUT", 30, low=0, high=60)),
            report_key_secret=_secret(env.get("HALI_REPORT_KEY_SECRET")),
            report_retention_days=int(_float(env, "HALI_REPORT_RETENTION_DAYS", 90, low=1, high=3650)),
            report_daily_cap=int(_float(env, "HALI_REPORT_DAILY_CAP", 10, low=1, high=1000)),
            report_flow_timeout_minutes=_float(env, "HALI_REPORT_FLOW_TIMEOUT_MINUTES", 10, low=1, high=1440),
            check_concurrency=int(_float(env, "HALI_CHECK_CONCURRENCY", 20, low=1, high=200)),
            send_rate=_float(env, "HALI_SEND_RATE", FREE_BROADCAST_RATE, low=0.1, high=MAX_SEND_RATE),
            reply_max_wait=_duration(env, "HALI_REPLY_MAX_WAIT", 600.0, low=5.0, high=86400.0),
            notify_max_age=_duration(env, "HALI_NOTIFY_MAX_AGE", 6 * 3600.0, low=60.0, high=7 * 86400.0),
            channel=_channel(env.get("HALI_CHANNEL")),
            **_broadcast(env),
        ).with_scopes(env.get("HALI_OPERATOR_SCOPES"))

    def with_scopes(self, value: str | None) -> Settings:
        """HALI_OPERATOR_SCOPES="12345:ntsa,ecitizen;67890:*": who may edit which services."""
        from dataclasses import replace

        return replace(self, operator_scopes=_scopes(value, self.admin_ids))


def _token(value: str | None) -> str | None:
    if value is None or not value.strip():
        return None
    value = value.strip()
    if not _TOKEN_RE.match(value):
        raise ConfigError(
            "TELEGRAM_BOT_TOKEN does not look like a bot token (expected '123456789:ABC…' from @BotFather)"
        )
    return value


def _base_url(value: str | None) -> str:
    if not value or not value.strip():
        return DEFAULT_API_BASE_URL
    value = value.strip()
    if not re.match(r"^https?://[^/\s]+", value):
        raise ConfigError(f"TELEGRAM_API_BASE_URL must be an http(s) address, got {value!r}")
    return value


def database_url(value: str | None) -> str:
    """Normalise DATABASE_URL to an async SQLAlchemy URL; a bare path means a SQLite file."""
    if not value or not value.strip():
        return DEFAULT_DATABASE_URL
    value = value.strip()
    if value.startswith("sqlite:///"):
        value = "sqlite+aiosqlite:///" + value.removeprefix("sqlite:///")
    elif value.startswith(("postgres://", "postgresql://")):
        value = "postgresql+asyncpg://" + value.split("://", 1)[1]
    elif "://" not in value:
        value = "sqlite+aiosqlite:///" + str(Path(value))
    scheme = value.split("://", 1)[0]
    if scheme not in _DB_SCHEMES:
        raise ConfigError(
            f"DATABASE_URL scheme {scheme!r} is not supported; use one of: {', '.join(_DB_SCHEMES)}"
        )
    return value


def _admin_ids(value: str | None) -> frozenset[int]:
    if not value or not value.strip():
        return frozenset()
    ids: set[int] = set()
    for part in re.split(r"[,\s]+", value.strip()):
        if not part:
            continue
        if not re.fullmatch(r"-?\d{1,20}", part):
            raise ConfigError(f"HALI_ADMIN_IDS must be Telegram user ids separated by commas; {part!r} is not")
        ids.add(int(part))
    return frozenset(ids)


def _scopes(value: str | None, admin_ids: frozenset[int]) -> dict[int, frozenset[str]]:
    if not value or not value.strip():
        return {}
    scopes: dict[int, frozenset[str]] = {}
    for entry in value.strip().strip(";").split(";"):
        user, sep, services = entry.strip().partition(":")
        if not sep or not re.fullmatch(r"-?\d{1,20}", user.strip()):
            raise ConfigError(
                f"HALI_OPERATOR_SCOPES: {entry.strip()!r} must be 'USER_ID:service,service' "
                "(entries separated by ';', '*' for every service)"
            )
        user_id = int(user.strip())
        if user_id not in admin_ids:
            raise ConfigError(f"HALI_OPERATOR_SCOPES: {user_id} is not in HALI_ADMIN_IDS")
        if user_id in scopes:
            raise ConfigError(f"HALI_OPERATOR_SCOPES: operator {user_id} is listed twice")
        names = frozenset(n.strip() for n in services.split(",") if n.strip())
        bad = [n for n in names if n != "*" and not re.fullmatch(r"[a-z][a-z0-9-]*", n)]
        if not names or bad:
            raise ConfigError(
                f"HALI_OPERATOR_SCOPES: operator {user_id}: {', '.join(bad) or 'nothing'} "
                "is not a list of service ids"
            )
        scopes[user_id] = names
    return scopes


def _log_level(value: str | None) -> str:
    if not value or not value.strip():
        return "INFO"
    level = value.strip().upper()
    if level not in logging.getLevelNamesMapping():
        raise ConfigError(f"HALI_LOG_LEVEL must be one of DEBUG, INFO, WARNING, ERROR; got {value!r}")
    return level


def _float(env: Mapping[str, str], name: str, default: float, *, low: float, high: float) -> float:
    raw = env.get(name)
    if raw is None or not raw.strip():
        return default
    try:
        number = float(raw)
    except ValueError:
        raise ConfigError(f"{name} must be a number, got {raw!r}") from None
    if not low <= number <= high:
        raise ConfigError(f"{name} must be between {low:g} and {high:g}, got {raw!r}")
    return number


_DURATION = re.compile(r"^(\d+(?:\.\d+)?)\s*(s|m|h|d)?$")
_SECONDS = {"s": 1, "m": 60, "h": 3600, "d": 86400, None: 1}


def _duration(env: Mapping[str, str], name: str, default: float, *, low: float, high: float) -> float:
    """A number of seconds, or a duration like 90s, 10m, 6h, 1d."""
    raw = env.get(name)
    if raw is None or not raw.strip():
        return default
    match = _DURATION.match(raw.strip().lower())
    if match is None:
        raise ConfigError(f"{name} must be a duration like 600, 10m or 6h, got {raw!r}")
    seconds = float(match.group(1)) * _SECONDS[match.group(2)]
    if not low <= seconds <= high:
        raise ConfigError(f"{name} must be between {low:g} and {high:g} seconds, got {raw!r}")
    return seconds


def _channel(value: str | None) -> str | None:
    """HALI_CHANNEL: "@name" (a public channel's username) or the channel's numeric id (-100…)."""
    if value is None or not value.strip():
        return None
    value = value.strip()
    if re.fullmatch(r"@[A-Za-z][A-Za-z0-9_]{3,31}", value) or re.fullmatch(r"-100\d{5,15}", value):
        return value
    raise ConfigError(f"HALI_CHANNEL must be a channel's @username or its id (-100…), got {value!r}")


def _secret(value: str | None) -> str | None:
    if value is None or not value.strip():
        return None
    if len(value.strip()) < 16:
        raise ConfigError("HALI_REPORT_KEY_SECRET must be at least 16 characters (or unset to generate one)")
    return value.strip()
# Telegram's free bulk limit; beyond it, up to 1000/s, only with paid broadcasts (Telegram Stars).
FREE_BROADCAST_RATE = 30.0
PAID_BROADCAST_RATE = 1000.0
# HALI_SEND_RATE above Telegram's 30/s is only for a Bot API server that allows it (a local one, a test fake).
MAX_SEND_RATE = 100_000.0


class _Broadcast(TypedDict):
    broadcast_rate: float
    paid_broadcast: bool
    broadcast_inflight: int | None
    settle_seconds: float


def _broadcast(env: Mapping[str, str]) -> _Broadcast:
    """HALI_BROADCAST_RATE, HALI_PAID_BROADCAST, HALI_BROADCAST_INFLIGHT, HALI_SETTLE_SECONDS."""
    raw_paid = (env.get("HALI_PAID_BROADCAST") or "").strip().lower()
    if raw_paid not in ("", "0", "1", "true", "false", "yes", "no"):
        raise ConfigError(f"HALI_PAID_BROADCAST must be 1 or 0, got {raw_paid!r}")
    paid = raw_paid in ("1", "true", "yes")
    ceiling = PAID_BROADCAST_RATE if paid else FREE_BROADCAST_RATE
    rate = _float(env, "HALI_BROADCAST_RATE", ceiling, low=0.1, high=PAID_BROADCAST_RATE)
    if rate > ceiling:
        raise ConfigError(
            f"HALI_BROADCAST_RATE above {FREE_BROADCAST_RATE:g} messages per second needs "
            f"HALI_PAID_BROADCAST=1 (Telegram's paid broadcasts), got {rate:g}"
        )
    inflight = env.get("HALI_BROADCAST_INFLIGHT")
    return {
        "broadcast_rate": rate,
        "paid_broadcast": paid,
        "broadcast_inflight": int(_float(env, "HALI_BROADCAST_INFLIGHT", 1, low=1, high=1000))
        if inflight and inflight.strip() else None,
        "settle_seconds": _float(env, "HALI_SETTLE_SECONDS", 120.0, low=0.0, high=3600.0),
    }
