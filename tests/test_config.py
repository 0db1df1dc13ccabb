"""Settings: every variable is read into its field, held to its limits, and named in a one-line error;
the README's configuration table lists exactly the variables Hali reads, with their defaults and limits."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import pytest
from pydantic import ValidationError

from bot.config import (
    DEFAULT_API_BASE_URL,
    DEFAULT_DATABASE_URL,
    FREE_BROADCAST_RATE,
    PAID_BROADCAST_RATE,
    ConfigError,
    Settings,
)
from hali_dev.botapi import TOKEN

ROOT = Path(__file__).parents[1]
SECRET = "a-reporter-key-secret-of-32-chars"

# Every variable with a value that is not its default, the field it sets, and what the field holds then.
GOOD: dict[str, tuple[str, str, Any]] = {
    "TELEGRAM_BOT_TOKEN": (f" {TOKEN} ", "token", TOKEN),
    "TELEGRAM_API_BASE_URL": ("http://127.0.0.1:8081/bot", "api_base_url", "http://127.0.0.1:8081/bot"),
    "DATABASE_URL": ("postgres://hali@db/hali", "database_url", "postgresql+asyncpg://hali@db/hali"),
    "HALI_ADMIN_IDS": ("12, 34 -56", "admin_ids", frozenset({12, 34, -56})),
    "HALI_LOG_LEVEL": ("debug", "log_level", "DEBUG"),
    "HALI_STATUS_CACHE_SECONDS": ("0.5", "status_cache_seconds", 0.5),
    "HALI_POLL_TIMEOUT": ("5", "poll_timeout_seconds", 5),
    "HALI_REPORT_KEY_SECRET": (SECRET, "report_key_secret", SECRET),
    "HALI_REPORT_RETENTION_DAYS": ("30", "report_retention_days", 30),
    "HALI_REPORT_DAILY_CAP": ("3", "report_daily_cap", 3),
    "HALI_REPORT_FLOW_TIMEOUT_MINUTES": ("2.5", "report_flow_timeout_minutes", 2.5),
    "HALI_CHECK_CONCURRENCY": ("50", "check_concurrency", 50),
    "HALI_OPERATOR_SCOPES": (
        "12:ntsa, kra;34:*;",
        "operator_scopes",
        {12: frozenset({"ntsa", "kra"}), 34: frozenset({"*"})},
    ),
    "HALI_PAID_BROADCAST": ("1", "paid_broadcast", True),
    "HALI_BROADCAST_RATE": ("500", "broadcast_rate", 500.0),
    "HALI_BROADCAST_INFLIGHT": ("8", "broadcast_inflight", 8),
    "HALI_SETTLE_SECONDS": ("0", "settle_seconds", 0.0),
    "HALI_SEND_RATE": ("25", "send_rate", 25.0),
    "HALI_REPLY_MAX_WAIT": ("90s", "reply_max_wait", 90.0),
    "HALI_NOTIFY_MAX_AGE": ("2h", "notify_max_age", 7200.0),
    "HALI_CHANNEL": ("@hali_status", "channel", "@hali_status"),
    "HALI_STORE_CONNECT_TIMEOUT": ("2", "store_connect_timeout", 2.0),
    "HALI_STORE_STATEMENT_TIMEOUT": ("1.5", "store_statement_timeout", 1.5),
    "HALI_STORE_POOL_TIMEOUT": ("4", "store_pool_timeout", 4.0),
    "HALI_HTTP_HOST": ("0.0.0.0", "http_host", "0.0.0.0"),
    "HALI_HTTP_PORT": ("8080", "http_port", 8080),
    "HALI_WEBHOOK_URL": ("https://hali.example/telegram/hook", "webhook_url", "https://hali.example/telegram/hook"),
    "HALI_WEBHOOK_SECRET": ("s3cret_-token", "webhook_secret", "s3cret_-token"),
    "HALI_WEBHOOK_MAX_CONNECTIONS": ("10", "webhook_max_connections", 10),
    "HALI_PUBLIC_URL": ("https://hali.example/", "public_url", "https://hali.example/"),
}


def test_every_variable_is_read_into_its_setting() -> None:
    assert set(GOOD) == set(Settings.variables())
    settings = Settings.from_env({name: raw for name, (raw, _, _) in GOOD.items()})
    assert {name: getattr(settings, field) for name, (_, field, _) in GOOD.items()} == {
        name: expected for name, (_, _, expected) in GOOD.items()
    }


def test_without_variables_every_setting_has_its_default() -> None:
    settings = Settings.from_env({})
    assert settings == Settings()
    assert (settings.token, settings.api_base_url, settings.database_url) == (
        None, DEFAULT_API_BASE_URL, DEFAULT_DATABASE_URL,
    )  # fmt: skip
    assert (settings.admin_ids, settings.operator_scopes, settings.report_key_secret) == (frozenset(), {}, None)
    assert (settings.poll_timeout_seconds, settings.check_concurrency, settings.broadcast_inflight) == (30, 20, None)
    assert (settings.broadcast_rate, settings.paid_broadcast) == (FREE_BROADCAST_RATE, False)


def test_paid_broadcasts_raise_the_default_rate_to_the_paid_ceiling() -> None:
    assert Settings.from_env({"HALI_PAID_BROADCAST": "yes"}).broadcast_rate == PAID_BROADCAST_RATE


@pytest.mark.parametrize("blank", ["", "   "])
def test_a_blank_variable_means_the_default(blank: str) -> None:
    assert Settings.from_env(dict.fromkeys(GOOD, blank)) == Settings()


def test_from_env_reads_the_mapping_it_is_given_and_the_constructor_reads_nothing(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("HALI_CHECK_CONCURRENCY", "7")
    assert Settings.from_env().check_concurrency == 7
    assert Settings.from_env({}).check_concurrency == 20
    assert Settings().check_concurrency == 20


def test_a_local_bot_api_server_may_call_a_plain_http_webhook_on_any_port() -> None:
    settings = Settings.from_env({"TELEGRAM_API_BASE_URL": "http://127.0.0.1:8081/bot", "HALI_HTTP_PORT": "8080",
                                  "HALI_WEBHOOK_URL": "http://127.0.0.1:8080/hook", "HALI_WEBHOOK_SECRET": "s"})
    assert (settings.telegram_api, settings.webhook_path) == (False, "/hook")
    assert Settings().telegram_api


def test_variable_names_are_exact() -> None:
    assert Settings.from_env({"hali_check_concurrency": "7", "HALI_CHECK_CONCURRENCY ": "8"}).check_concurrency == 20


@pytest.mark.parametrize(
    ("env", "message"),
    [
        ({"HALI_CHECK_CONCURRENCY": "2.7"}, "HALI_CHECK_CONCURRENCY must be a whole number, got '2.7'"),
        ({"HALI_REPLY_MAX_WAIT": "soon"}, "HALI_REPLY_MAX_WAIT must be a duration like 600, 10m or 6h, got 'soon'"),
        ({"HALI_NOTIFY_MAX_AGE": "30s"}, "HALI_NOTIFY_MAX_AGE must be between 60 and 604800, got 30.0"),
        ({"HALI_SEND_RATE": "0"}, "HALI_SEND_RATE must be between 0.1 and 100000, got '0'"),
        ({"HALI_CHANNEL": "hali"}, "HALI_CHANNEL must be a channel's @username or its id (-100…), got 'hali'"),
        ({"HALI_POLL_TIMEOUT": "2.7"}, "HALI_POLL_TIMEOUT must be a whole number, got '2.7'"),
        ({"HALI_WEBHOOK_URL": "https://hali.example/hook", "HALI_HTTP_PORT": "8080"},
         "HALI_WEBHOOK_URL needs HALI_WEBHOOK_SECRET (1–256 of A-Z, a-z, 0-9, _ and -)"),
        ({"HALI_WEBHOOK_URL": "https://hali.example/hook", "HALI_WEBHOOK_SECRET": "s"},
         "HALI_WEBHOOK_URL needs HALI_HTTP_PORT: the HTTP server receives the updates"),
        ({"HALI_WEBHOOK_SECRET": "no spaces"},
         "HALI_WEBHOOK_SECRET must be 1–256 characters of A-Z, a-z, 0-9, _ and -"),
        ({"HALI_WEBHOOK_SECRET": "x" * 257},
         "HALI_WEBHOOK_SECRET must be 1–256 characters of A-Z, a-z, 0-9, _ and -"),
        ({"HALI_WEBHOOK_URL": "http://hali.example/hook", "HALI_WEBHOOK_SECRET": "s", "HALI_HTTP_PORT": "8080"},
         "HALI_WEBHOOK_URL must be https on port 443, 80, 88 or 8443 for Telegram, got 'http://hali.example/hook'"),
        ({"HALI_WEBHOOK_URL": "https://hali.example:8080/hook", "HALI_WEBHOOK_SECRET": "s", "HALI_HTTP_PORT": "80"},
         "HALI_WEBHOOK_URL must be https on port 443, 80, 88 or 8443 for Telegram, got "
         "'https://hali.example:8080/hook'"),
        ({"HALI_PUBLIC_URL": "hali.example"},
         "HALI_PUBLIC_URL must be an http(s) address without ?query or #fragment, got 'hali.example'"),
        ({"HALI_HTTP_PORT": "70000"}, "HALI_HTTP_PORT must be between 1 and 65535, got '70000'"),
        ({"HALI_REPORT_RETENTION_DAYS": "2.7"}, "HALI_REPORT_RETENTION_DAYS must be a whole number, got '2.7'"),
        ({"HALI_REPORT_DAILY_CAP": "ten"}, "HALI_REPORT_DAILY_CAP must be a whole number, got 'ten'"),
        ({"HALI_BROADCAST_INFLIGHT": "1.5"}, "HALI_BROADCAST_INFLIGHT must be a whole number, got '1.5'"),
        ({"HALI_CHECK_CONCURRENCY": "201"}, "HALI_CHECK_CONCURRENCY must be between 1 and 200, got '201'"),
        ({"HALI_POLL_TIMEOUT": "61"}, "HALI_POLL_TIMEOUT must be between 0 and 60, got '61'"),
        ({"HALI_STATUS_CACHE_SECONDS": "soon"}, "HALI_STATUS_CACHE_SECONDS must be a number, got 'soon'"),
        ({"HALI_STATUS_CACHE_SECONDS": "nan"}, "HALI_STATUS_CACHE_SECONDS must be a number, got 'nan'"),
        ({"HALI_STATUS_CACHE_SECONDS": "6"}, "HALI_STATUS_CACHE_SECONDS must be between 0 and 5, got '6'"),
        ({"HALI_REPORT_FLOW_TIMEOUT_MINUTES": "0.5"},
         "HALI_REPORT_FLOW_TIMEOUT_MINUTES must be between 1 and 1440, got '0.5'"),
        ({"HALI_SETTLE_SECONDS": "-1"}, "HALI_SETTLE_SECONDS must be between 0 and 3600, got '-1'"),
        ({"HALI_PAID_BROADCAST": "maybe"}, "HALI_PAID_BROADCAST must be 1 or 0, got 'maybe'"),
        ({"HALI_BROADCAST_RATE": "100"},
         "HALI_BROADCAST_RATE above 30 messages per second needs HALI_PAID_BROADCAST=1 (Telegram's paid "
         "broadcasts), got 100"),
        ({"HALI_PAID_BROADCAST": "1", "HALI_BROADCAST_RATE": "5000"},
         "HALI_BROADCAST_RATE must be between 0.1 and 1000, got '5000'"),
        ({"TELEGRAM_BOT_TOKEN": "not-a-token"},
         "TELEGRAM_BOT_TOKEN does not look like a bot token (expected '123456789:ABC…' from @BotFather)"),
        ({"TELEGRAM_API_BASE_URL": "ftp://x"}, "TELEGRAM_API_BASE_URL must be an http(s) address, got 'ftp://x'"),
        ({"DATABASE_URL": "mysql://h/db"},
         "DATABASE_URL scheme 'mysql' is not supported; use one of: sqlite+aiosqlite, postgresql+asyncpg, "
         "postgresql+psycopg"),
        ({"HALI_ADMIN_IDS": "12,abc"}, "HALI_ADMIN_IDS must be Telegram user ids separated by commas; 'abc' is not"),
        ({"HALI_LOG_LEVEL": "loud"}, "HALI_LOG_LEVEL must be one of DEBUG, INFO, WARNING, ERROR; got 'loud'"),
        ({"HALI_REPORT_KEY_SECRET": "short"},
         "HALI_REPORT_KEY_SECRET must be at least 16 characters (or unset to generate one)"),
        ({"HALI_OPERATOR_SCOPES": "12:ntsa"}, "HALI_OPERATOR_SCOPES: 12 is not in HALI_ADMIN_IDS"),
        ({"HALI_ADMIN_IDS": "12", "HALI_OPERATOR_SCOPES": "12:ntsa;12:kra"},
         "HALI_OPERATOR_SCOPES: operator 12 is listed twice"),
        ({"HALI_ADMIN_IDS": "12", "HALI_OPERATOR_SCOPES": "12:NTSA"},
         "HALI_OPERATOR_SCOPES: operator 12: NTSA is not a list of service ids"),
        ({"HALI_ADMIN_IDS": "12", "HALI_OPERATOR_SCOPES": "ntsa"},
         "HALI_OPERATOR_SCOPES: 'ntsa' must be 'USER_ID:service,service' (entries separated by ';', '*' for "
         "every service)"),
    ],
)  # fmt: skip
def test_a_bad_value_is_one_line_naming_the_variable(env: dict[str, str], message: str) -> None:
    with pytest.raises(ConfigError) as info:
        Settings.from_env(env)
    assert str(info.value) == message


def test_an_error_never_shows_the_token_or_the_secret() -> None:
    for env in ({"TELEGRAM_BOT_TOKEN": "12:secret-looking-value"}, {"HALI_REPORT_KEY_SECRET": "secret-value"}):
        with pytest.raises(ConfigError) as info:
            Settings.from_env(env)
        assert "secret" not in str(info.value).replace("_SECRET", "")


def test_settings_built_by_name_are_checked_by_the_same_rules() -> None:
    settings = Settings(token=TOKEN, database_url="sqlite:///x.db", admin_ids=frozenset({5}),
                        operator_scopes={5: frozenset({"ntsa"})}, poll_timeout_seconds=1)  # fmt: skip
    assert (settings.database_url, settings.poll_timeout_seconds) == ("sqlite+aiosqlite:///x.db", 1)
    with pytest.raises(ConfigError, match=r"^HALI_CHECK_CONCURRENCY must be a whole number, got 2\.7$"):
        Settings(check_concurrency=2.7)
    with pytest.raises(ConfigError, match=r"^HALI_OPERATOR_SCOPES: 6 is not in HALI_ADMIN_IDS$"):
        Settings(admin_ids=frozenset({5}), operator_scopes={6: frozenset({"ntsa"})})
    with pytest.raises(ConfigError, match=r"^'check_concurency' is not a setting$"):
        Settings(check_concurency=3)


def test_settings_are_frozen_and_keep_secrets_out_of_their_repr() -> None:
    settings = Settings(token=TOKEN, report_key_secret=SECRET, database_url="postgresql://hali:pw@db/hali")
    with pytest.raises(ValidationError, match="frozen"):
        settings.check_concurrency = 1  # type: ignore[misc]
    assert settings.check_concurrency == 20
    assert TOKEN not in repr(settings) and SECRET not in repr(settings) and "pw@" not in repr(settings)


def test_an_operator_edits_only_the_services_in_scope() -> None:
    settings = Settings.from_env({"HALI_ADMIN_IDS": "1,2,3", "HALI_OPERATOR_SCOPES": "2:ntsa;3:*"})
    assert [settings.may_edit(user, "ntsa") for user in (1, 2, 3, 4)] == [True, True, True, False]
    assert [settings.may_edit(user, "kra") for user in (1, 2, 3, 4)] == [True, False, True, False]
    settings.check_scopes({"ntsa"})
    with pytest.raises(ConfigError, match=r"^HALI_OPERATOR_SCOPES: operator 2: unknown service 'ntsa'"):
        settings.check_scopes({"kra"})


# ------------------------------------------------------------------------------------ the README's table


def readme_rows() -> dict[str, tuple[str, str]]:
    """The Configuration table: variable -> (default, meaning)."""
    section = (ROOT / "README.md").read_text(encoding="utf-8").split("\n## Configuration\n", 1)[1]
    section = section.split("\n## ", 1)[0]
    rows = {m[1]: (m[2], m[3]) for m in re.finditer(r"^\| `([A-Z][A-Z0-9_]*)` \| (.*?) \| (.*) \|$", section, re.M)}
    assert len(rows) > 10, "the Configuration table was not found"
    return rows


def read_outside_settings() -> set[str]:
    """Environment variables the code in bot/ reads by name itself, outside Settings."""
    pattern = re.compile(r"""os\.(?:environ\.get\(|getenv\(|environ\[)\s*["']([A-Z][A-Z0-9_]*)["']""")
    return {
        name
        for path in (ROOT / "bot").rglob("*.py")
        for name in pattern.findall(path.read_text(encoding="utf-8"))
    }


def test_the_readme_lists_every_variable_hali_reads_and_nothing_else() -> None:
    assert set(readme_rows()) == set(Settings.variables()) | read_outside_settings()


def test_the_readme_states_each_settings_default() -> None:
    defaults, fields = Settings(), Settings.variables()
    for variable, (default, _) in readme_rows().items():
        if variable not in fields:
            continue
        value = getattr(defaults, fields[variable])
        literal = re.match(r"`([^`]*)`", default)
        if literal is None:
            assert value in (None, frozenset(), {}), (variable, default, value)
        elif isinstance(value, bool):
            assert literal[1] == str(int(value)), variable
        elif isinstance(value, int | float):
            assert float(literal[1]) == value, variable
        else:
            assert literal[1] == value, variable


def test_the_readme_states_the_limits_of_each_bounded_setting() -> None:
    rows = readme_rows()
    for variable, name in Settings.variables().items():
        limits = {k: getattr(m, k) for m in Settings.model_fields[name].metadata for k in ("ge", "le") if hasattr(m, k)}
        stated = re.findall(r"\((\d+(?:\.\d+)?)–(\d+(?:\.\d+)?)[;)]", rows[variable][1])
        if limits:
            assert [(float(low), float(high)) for low, high in stated] == [(limits["ge"], limits["le"])], variable
        else:
            assert not stated, variable
