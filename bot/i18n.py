"""Languages: the gettext catalogs, and the one place that decides which language a reply is in."""

from __future__ import annotations

import gettext
import os
from dataclasses import dataclass
from datetime import datetime, timedelta
from functools import cache
from pathlib import Path
from typing import Any

from babel import Locale
from babel.dates import format_datetime, format_time

from bot.core.clock import EAT

LANGUAGES = ("en", "sw")
DEFAULT_LANGUAGE = "en"
DOMAIN = "messages"


def locales_dir() -> Path:
    """The folder with the compiled catalogs: HALI_LOCALES_DIR; else the package's own `bot/locales/`,
    which an installed wheel has (setup.py compiles it); else `locales/` of the source checkout."""
    override = os.environ.get("HALI_LOCALES_DIR")
    if override:
        return Path(override)
    package = Path(__file__).resolve().parent
    installed = package / "locales"
    return installed if installed.is_dir() else package.parent / "locales"


def N_(message: str) -> str:
    """Mark a string for extraction; it is translated later, where the language is known."""
    return message


# Babel date patterns, translated like any message, so that each language writes a clock time its own
# way: the Swahili catalog quotes a word in ("'saa' HH:mm" gives "saa 09:40", never "saa tatu" Swahili
# time). Templates then never add "saa" before a clock time themselves.
CLOCK_PATTERN = N_("HH:mm")
DATE_TIME_PATTERN = N_("d MMM yyyy, HH:mm")
DAY_TIME_PATTERN = N_("EEEE d MMMM, HH:mm")


class MissingCatalogError(RuntimeError):
    """A compiled .mo file is missing: run `pybabel compile` (see README)."""


@dataclass(frozen=True)
class Translator:
    """The messages of one language. Placeholders are named and filled here."""

    lang: str
    _catalog: gettext.NullTranslations

    def _(self, message: str, /, **values: Any) -> str:
        text = self._catalog.gettext(message)
        return text.format(**values) if values else text

    def ngettext(self, singular: str, plural: str, n: int, /, **values: Any) -> str:
        text = self._catalog.ngettext(singular, plural, n)
        return text.format(n=n, **values)

    @property
    def locale(self) -> Locale:
        return _locale(self.lang)

    def time(self, moment: datetime) -> str:
        """24-hour clock in East Africa Time ('09:40', 'saa 09:40')."""
        return format_time(moment.astimezone(EAT), self._(CLOCK_PATTERN), locale=self.locale)

    def date_time(self, moment: datetime) -> str:
        """A date and time in East Africa Time ('28 Nov 2026, 09:40', '28 Nov 2026, saa 09:40')."""
        return format_datetime(moment.astimezone(EAT), self._(DATE_TIME_PATTERN), locale=self.locale)

    def day_time(self, moment: datetime) -> str:
        """A weekday, date and time in East Africa Time ('Sunday 6 December, 18:00')."""
        return format_datetime(moment.astimezone(EAT), self._(DAY_TIME_PATTERN), locale=self.locale)

    def ago(self, moment: datetime, now: datetime) -> str:
        """How long ago, in words: 'dakika 5 zilizopita', 'dakika moja iliyopita', '3 hours ago', 'just now'."""
        seconds = max(0, int((now - moment).total_seconds()))
        if seconds < 60:
            return self._("just now")
        minutes = seconds // 60
        if minutes < 60:
            return self.ngettext("{n} minute ago", "{n} minutes ago", minutes)
        hours = minutes // 60
        if hours < 48:
            return self.ngettext("{n} hour ago", "{n} hours ago", hours)
        return self.ngettext("{n} day ago", "{n} days ago", hours // 24)

    def since(self, moment: datetime, now: datetime) -> str:
        """'Since 09:40 EAT, 25 minutes ago' ('Tangu saa 09:40 EAT (dakika 25 zilizopita)'); older than a
        day gives the date too."""
        local = moment.astimezone(EAT)
        if now - moment < timedelta(hours=20) and local.date() == now.astimezone(EAT).date():
            clock = self.time(moment)
        else:
            clock = self.date_time(moment)
        return self._("Since {clock} EAT, {ago}", clock=clock, ago=self.ago(moment, now))


@cache
def _locale(lang: str) -> Locale:
    return Locale.parse(lang)


_translators: dict[str, Translator] = {}


def load_translators(directory: Path | None = None) -> dict[str, Translator]:
    """Load every language's compiled catalog once; fail fast when one is missing."""
    directory = directory or locales_dir()
    loaded: dict[str, Translator] = {}
    for lang in LANGUAGES:
        mo = directory / lang / "LC_MESSAGES" / f"{DOMAIN}.mo"
        if not mo.is_file():
            raise MissingCatalogError(
                f"missing compiled catalog {mo}; run `pybabel compile` from the project folder"
            )
        with mo.open("rb") as fh:
            loaded[lang] = Translator(lang, gettext.GNUTranslations(fh))
    return loaded


def translator(lang: str | None) -> Translator:
    """The translator for a language code ('en', 'sw'); unknown codes get English."""
    if not _translators:
        _translators.update(load_translators())
    return _translators.get(lang or DEFAULT_LANGUAGE) or _translators[DEFAULT_LANGUAGE]


def normalise_language(code: str | None) -> str | None:
    """Map a Telegram language_code ('sw', 'sw-KE', 'en-GB') to one of ours, or None."""
    if not code:
        return None
    base = code.split("-")[0].split("_")[0].lower()
    return base if base in LANGUAGES else None


def choose_language(
    *, stored: str | None, detected: str | None, telegram_code: str | None
) -> str:
    """An explicit /language choice wins; then the message's own language; then Telegram's; then English."""
    for candidate in (stored, detected, normalise_language(telegram_code)):
        if candidate in LANGUAGES:
            return candidate
    return DEFAULT_LANGUAGE
