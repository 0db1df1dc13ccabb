"""Settings read once from the environment and validated at start-up.

Each field names its environment variable (its alias) and its limits. ``Settings.from_env`` reads the
environment, or a mapping given instead of it; ``Settings(name=value, ...)`` (as tests and benchmarks
build it) reads nothing and checks the same rules. Every problem is a one-line ConfigError naming the
variable.
"""

from __future__ import annotations

import logging
import os
import re
from collections.abc import Collection, Mapping
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

from pydantic import Field, ValidationError, field_validator, model_validator
from pydantic_settings import BaseSettings, EnvSettingsSource, PydanticBaseSettingsSource, SettingsConfigDict

from bot.store.db import StoreTimeouts

DEFAULT_API_BASE_URL = "https://api.telegram.org/bot"
DEFAULT_DATABASE_URL = "sqlite+aiosqlite:///hali.db"
# Telegram's free bulk limit; beyond it, up to 1000/s, only with paid broadcasts (Telegram Stars).
FREE_BROADCAST_RATE = 30.0
PAID_BROADCAST_RATE = 1000.0
# HALI_SEND_RATE above Telegram's 30/s is only for a Bot API server that allows it (a local one, a test fake).
MAX_SEND_RATE = 100_000.0

_TOKEN_RE = re.compile(r"^\d{3,20}:[A-Za-z0-9_-]{20,}$")
_DB_SCHEMES = ("sqlite+aiosqlite", "postgresql+asyncpg", "postgresql+psycopg")
_USER_ID_RE = re.compile(r"-?\d{1,20}")
_SERVICE_ID_RE = re.compile(r"[a-z][a-z0-9-]*")
_DURATION_RE = re.compile(r"(\d+(?:\.\d+)?)\s*([smhd])?")
_SECONDS = {"s": 1, "m": 60, "h": 3600, "d": 86400}
_CHANNEL_RE = re.compile(r"@[A-Za-z][A-Za-z0-9_]{3,31}|-100\d{5,15}")
_WEBHOOK_SECRET_RE = re.compile(r"[A-Za-z0-9_-]{1,256}")
# Telegram calls webhooks only over HTTPS on these ports; a local Bot API server (or a fake) calls anything.
TELEGRAM_WEBHOOK_PORTS = (443, 80, 88, 8443)


class ConfigError(ValueError):
    """A setting is missing or malformed; the message names the variable."""


def _broadcast_ceiling(values: Mapping[str, Any]) -> float:
    return PAID_BROADCAST_RATE if values.get("paid_broadcast") else FREE_BROADCAST_RATE


class Settings(BaseSettings):
    model_config = SettingsConfigDict(
        frozen=True,
        extra="forbid",
        case_sensitive=True,
        validate_by_name=True,
        validate_by_alias=True,
        enable_decoding=False,  # lists are written as Hali documents them, not as JSON
        allow_inf_nan=False,
    )

    # repr=False: the token, the secret and the database's password stay out of logs.
    token: str | None = Field(None, alias="TELEGRAM_BOT_TOKEN", repr=False)
    api_base_url: str = Field(DEFAULT_API_BASE_URL, alias="TELEGRAM_API_BASE_URL")
    database_url: str = Field(DEFAULT_DATABASE_URL, alias="DATABASE_URL", repr=False)
    admin_ids: frozenset[int] = Field(frozenset(), alias="HALI_ADMIN_IDS")
    log_level: str = Field("INFO", alias="HALI_LOG_LEVEL")
    status_cache_seconds: float = Field(2.0, ge=0, le=5, alias="HALI_STATUS_CACHE_SECONDS")
    poll_timeout_seconds: int = Field(30, ge=0, le=60, alias="HALI_POLL_TIMEOUT")
    report_key_secret: str | None = Field(None, alias="HALI_REPORT_KEY_SECRET", repr=False)
    report_retention_days: int = Field(90, ge=1, le=3650, alias="HALI_REPORT_RETENTION_DAYS")
    report_daily_cap: int = Field(10, ge=1, le=1000, alias="HALI_REPORT_DAILY_CAP")
    report_flow_timeout_minutes: float = Field(10.0, ge=1, le=1440, alias="HALI_REPORT_FLOW_TIMEOUT_MINUTES")
    check_concurrency: int = Field(20, ge=1, le=200, alias="HALI_CHECK_CONCURRENCY")
    # Operator id -> the service ids they may edit; an operator not listed may edit every service.
    operator_scopes: Mapping[int, frozenset[str]] = Field(default_factory=dict, alias="HALI_OPERATOR_SCOPES")
    paid_broadcast: bool = Field(False, alias="HALI_PAID_BROADCAST")
    # Unset: the most the kind of broadcast allows (paid_broadcast is read first).
    broadcast_rate: float = Field(
        default_factory=_broadcast_ceiling, ge=0.1, le=PAID_BROADCAST_RATE, alias="HALI_BROADCAST_RATE"
    )
    broadcast_inflight: int | None = Field(None, ge=1, le=1000, alias="HALI_BROADCAST_INFLIGHT")
    settle_seconds: float = Field(120.0, ge=0, le=3600, alias="HALI_SETTLE_SECONDS")
    # Every message the bot sends, answers and notifications, all of the deployment's processes together.
    send_rate: float = Field(FREE_BROADCAST_RATE, ge=0.1, le=MAX_SEND_RATE, alias="HALI_SEND_RATE")
    # Seconds (or 10m, 6h…): how long an answer may wait for its turn before it is dropped.
    reply_max_wait: float = Field(600.0, ge=5, le=86400, alias="HALI_REPLY_MAX_WAIT")
    # How long a notification is retried after its first failure, while it is still useful.
    notify_max_age: float = Field(6 * 3600.0, ge=60, le=7 * 86400, alias="HALI_NOTIFY_MAX_AGE")
    # Every wait on the store is bounded, so a slow or absent database gets a citizen a plain answer.
    store_connect_timeout: float = Field(3.0, ge=0.1, le=60, alias="HALI_STORE_CONNECT_TIMEOUT")
    store_statement_timeout: float = Field(5.0, ge=0.1, le=600, alias="HALI_STORE_STATEMENT_TIMEOUT")
    store_pool_timeout: float = Field(3.0, ge=0.1, le=60, alias="HALI_STORE_POOL_TIMEOUT")
    # The public channel for mass announcements: "@name" or its numeric id (-100…).
    channel: str | None = Field(None, alias="HALI_CHANNEL")
    # The HTTP server (webhook, health, metrics, the public page): started when a port is given.
    http_host: str = Field("127.0.0.1", alias="HALI_HTTP_HOST")
    http_port: int | None = Field(None, ge=1, le=65535, alias="HALI_HTTP_PORT")
    # Webhook mode: the public https address Telegram posts updates to, and the secret it sends with them.
    webhook_url: str | None = Field(None, alias="HALI_WEBHOOK_URL")
    webhook_secret: str | None = Field(None, alias="HALI_WEBHOOK_SECRET", repr=False)
    webhook_max_connections: int = Field(40, ge=1, le=100, alias="HALI_WEBHOOK_MAX_CONNECTIONS")
    # Where the public status page is reached: cards and "working again" messages link to incident records.
    public_url: str | None = Field(None, alias="HALI_PUBLIC_URL")

    def __init__(self, **values: Any) -> None:
        try:
            super().__init__(**values)
        except ValidationError as exc:
            raise ConfigError(_message(exc)) from None

    @classmethod
    def from_env(cls, env: Mapping[str, str] | None = None) -> Settings:
        """Read and validate every setting; raise ConfigError naming the first bad one."""
        return cls(**_Environment(cls, os.environ if env is None else env)())

    @classmethod
    def variables(cls) -> dict[str, str]:
        """Environment variable -> field name, for every setting."""
        return {str(info.alias): name for name, info in cls.model_fields.items()}

    @classmethod
    def settings_customise_sources(
        cls,
        settings_cls: type[BaseSettings],
        init_settings: PydanticBaseSettingsSource,
        env_settings: PydanticBaseSettingsSource,
        dotenv_settings: PydanticBaseSettingsSource,
        file_secret_settings: PydanticBaseSettingsSource,
    ) -> tuple[PydanticBaseSettingsSource, ...]:
        """Only what the constructor is given: from_env passes the environment in, so a test never reads it."""
        return (init_settings,)

    def store_timeouts(self) -> StoreTimeouts:
        return StoreTimeouts(self.store_connect_timeout, self.store_statement_timeout, self.store_pool_timeout)

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

    # --- validators: each message names its variable ---------------------------------------------

    @model_validator(mode="before")
    @classmethod
    def _trimmed(cls, values: Any) -> Any:
        """White space around a value is dropped, and a blank value means the default."""
        if not isinstance(values, dict):
            return values
        trimmed = {key: value.strip() if isinstance(value, str) else value for key, value in values.items()}
        return {key: value for key, value in trimmed.items() if value != ""}

    @field_validator("token")
    @classmethod
    def _token(cls, value: str | None) -> str | None:
        if value is not None and not _TOKEN_RE.match(value):
            raise ConfigError(
                "TELEGRAM_BOT_TOKEN does not look like a bot token (expected '123456789:ABC…' from @BotFather)"
            )
        return value

    @field_validator("api_base_url")
    @classmethod
    def _base_url(cls, value: str) -> str:
        if not re.match(r"^https?://[^/\s]+", value):
            raise ConfigError(f"TELEGRAM_API_BASE_URL must be an http(s) address, got {value!r}")
        return value

    @field_validator("database_url")
    @classmethod
    def _database_url(cls, value: str) -> str:
        return database_url(value)

    @field_validator("admin_ids", mode="before")
    @classmethod
    def _admin_ids(cls, value: Any) -> Any:
        if not isinstance(value, str):
            return value
        ids: set[int] = set()
        for part in re.split(r"[,\s]+", value):
            if part and not _USER_ID_RE.fullmatch(part):
                raise ConfigError(f"HALI_ADMIN_IDS must be Telegram user ids separated by commas; {part!r} is not")
            if part:
                ids.add(int(part))
        return frozenset(ids)

    @field_validator("log_level")
    @classmethod
    def _log_level(cls, value: str) -> str:
        if value.upper() not in logging.getLevelNamesMapping():
            raise ConfigError(f"HALI_LOG_LEVEL must be one of DEBUG, INFO, WARNING, ERROR; got {value!r}")
        return value.upper()

    @field_validator("report_key_secret")
    @classmethod
    def _secret(cls, value: str | None) -> str | None:
        if value is not None and len(value) < 16:
            raise ConfigError("HALI_REPORT_KEY_SECRET must be at least 16 characters (or unset to generate one)")
        return value

    @field_validator("reply_max_wait", "notify_max_age", mode="before")
    @classmethod
    def _duration(cls, value: Any, info: Any) -> Any:
        """A number of seconds, or a duration like 90s, 10m, 6h, 1d."""
        if not isinstance(value, str):
            return value
        match = _DURATION_RE.fullmatch(value.lower())
        if match is None:
            variable = cls.model_fields[info.field_name].alias
            raise ConfigError(f"{variable} must be a duration like 600, 10m or 6h, got {value!r}")
        return float(match.group(1)) * _SECONDS[match.group(2) or "s"]

    @field_validator("channel")
    @classmethod
    def _channel(cls, value: str | None) -> str | None:
        if value is None or _CHANNEL_RE.fullmatch(value):
            return value
        raise ConfigError(f"HALI_CHANNEL must be a channel's @username or its id (-100…), got {value!r}")

    @field_validator("webhook_url", "public_url")
    @classmethod
    def _address(cls, value: str | None, info: Any) -> str | None:
        if value is None:
            return None
        parts = urlsplit(value)
        if parts.scheme not in ("http", "https") or not parts.hostname or parts.query or parts.fragment:
            variable = cls.model_fields[info.field_name].alias
            raise ConfigError(f"{variable} must be an http(s) address without ?query or #fragment, got {value!r}")
        return value

    @field_validator("webhook_secret")
    @classmethod
    def _webhook_secret(cls, value: str | None) -> str | None:
        if value is not None and not _WEBHOOK_SECRET_RE.fullmatch(value):
            raise ConfigError("HALI_WEBHOOK_SECRET must be 1–256 characters of A-Z, a-z, 0-9, _ and -")
        return value

    @field_validator("operator_scopes", mode="before")
    @classmethod
    def _scopes(cls, value: Any) -> Any:
        """HALI_OPERATOR_SCOPES="12345:ntsa,ecitizen;67890:*": who may edit which services."""
        return _parse_scopes(value) if isinstance(value, str) else value

    @model_validator(mode="after")
    def _consistent(self) -> Settings:
        for user_id in self.operator_scopes:
            if user_id not in self.admin_ids:
                raise ConfigError(f"HALI_OPERATOR_SCOPES: {user_id} is not in HALI_ADMIN_IDS")
        if self.broadcast_rate > _broadcast_ceiling({"paid_broadcast": self.paid_broadcast}):
            raise ConfigError(
                f"HALI_BROADCAST_RATE above {FREE_BROADCAST_RATE:g} messages per second needs "
                f"HALI_PAID_BROADCAST=1 (Telegram's paid broadcasts), got {self.broadcast_rate:g}"
            )
        if self.webhook_url is not None:
            self._check_webhook(self.webhook_url)
        return self

    def _check_webhook(self, url: str) -> None:
        if self.webhook_secret is None:
            raise ConfigError("HALI_WEBHOOK_URL needs HALI_WEBHOOK_SECRET (1–256 of A-Z, a-z, 0-9, _ and -)")
        if self.http_port is None:
            raise ConfigError("HALI_WEBHOOK_URL needs HALI_HTTP_PORT: the HTTP server receives the updates")
        if not self.telegram_api:
            return  # a local Bot API server or a test fake may call plain http on any port
        parts = urlsplit(url)
        if parts.scheme != "https" or (parts.port or 443) not in TELEGRAM_WEBHOOK_PORTS:
            raise ConfigError(f"HALI_WEBHOOK_URL must be https on port 443, 80, 88 or 8443 for Telegram, got {url!r}")

    @property
    def telegram_api(self) -> bool:
        """Is the Bot API Telegram's own (whose rules on webhooks apply)?"""
        return urlsplit(self.api_base_url).hostname == urlsplit(DEFAULT_API_BASE_URL).hostname

    @property
    def webhook_path(self) -> str | None:
        """The path of HALI_WEBHOOK_URL, served by the HTTP server."""
        return (urlsplit(self.webhook_url).path or "/") if self.webhook_url else None


class _Environment(EnvSettingsSource):
    """pydantic-settings' reading of environment variables, from a mapping given in place of os.environ."""

    def __init__(self, settings_cls: type[BaseSettings], environ: Mapping[str, str]) -> None:
        self._environ = environ
        super().__init__(settings_cls)

    def _load_env_vars(self) -> Mapping[str, str | None]:  # the hook pydantic-settings' own .env source overrides
        return dict(self._environ)


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


def _parse_scopes(value: str) -> dict[int, frozenset[str]]:
    scopes: dict[int, frozenset[str]] = {}
    for entry in value.strip(";").split(";"):
        user, sep, services = entry.strip().partition(":")
        if not sep or not _USER_ID_RE.fullmatch(user.strip()):
            raise ConfigError(
                f"HALI_OPERATOR_SCOPES: {entry.strip()!r} must be 'USER_ID:service,service' "
                "(entries separated by ';', '*' for every service)"
            )
        user_id = int(user.strip())
        if user_id in scopes:
            raise ConfigError(f"HALI_OPERATOR_SCOPES: operator {user_id} is listed twice")
        names = frozenset(n.strip() for n in services.split(",") if n.strip())
        bad = [n for n in names if n != "*" and not _SERVICE_ID_RE.fullmatch(n)]
        if not names or bad:
            raise ConfigError(
                f"HALI_OPERATOR_SCOPES: operator {user_id}: {', '.join(bad) or 'nothing'} "
                "is not a list of service ids"
            )
        scopes[user_id] = names
    return scopes


_BOUND_ERRORS = ("greater_than", "greater_than_equal", "less_than", "less_than_equal")


def _message(exc: ValidationError) -> str:
    """The first error as one line naming the variable, as ConfigError carries it."""
    error = exc.errors()[0]
    cause = error.get("ctx", {}).get("error")
    if isinstance(cause, ConfigError):  # a validator's message, which names its variable
        return str(cause)
    key = str(error["loc"][0]) if error["loc"] else ""
    if error["type"] == "extra_forbidden":
        return f"{key!r} is not a setting"
    names = Settings.variables()
    variable = key if key in names else next((v for v, n in names.items() if n == key), key)
    field = Settings.model_fields[names[variable]] if variable in names else None
    kind, raw = error["type"], error["input"]
    if kind.startswith("int_"):
        return f"{variable} must be a whole number, got {raw!r}"
    if kind.startswith("float_") or kind == "finite_number":
        return f"{variable} must be a number, got {raw!r}"
    if kind.startswith("bool_"):
        return f"{variable} must be 1 or 0, got {raw!r}"
    if kind in _BOUND_ERRORS and field is not None:
        limits = {key: getattr(m, key) for m in field.metadata for key in ("ge", "gt", "le", "lt") if hasattr(m, key)}
        low, high = limits.get("ge", limits.get("gt")), limits.get("le", limits.get("lt"))
        return f"{variable} must be between {low:g} and {high:g}, got {raw!r}"
    return f"{variable}: {error['msg']}"
