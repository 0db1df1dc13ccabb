"""The gettext catalogs: complete in Swahili, compiled and current, and times in East Africa Time."""

from __future__ import annotations

import io
import re
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from babel.messages.mofile import read_mo, write_mo
from babel.messages.pofile import read_po

from bot.i18n import choose_language, locales_dir, translator

LOCALES = locales_dir()
PLACEHOLDER = re.compile(r"\{(\w+)\}")
TAG = re.compile(r"</?([a-z]+)")


def _po(lang: str):  # type: ignore[no-untyped-def]
    with (LOCALES / lang / "LC_MESSAGES" / "messages.po").open("rb") as fh:
        return read_po(fh, locale=lang)


def _pairs(message) -> list[tuple[str, str]]:  # type: ignore[no-untyped-def]
    ids = message.id if isinstance(message.id, tuple | list) else (message.id,)
    strings = message.string if isinstance(message.string, tuple | list) else (message.string,)
    return [(ids[min(i, len(ids) - 1)], s) for i, s in enumerate(strings)]


def test_every_message_has_a_reviewed_swahili_translation() -> None:
    missing, fuzzy = [], []
    for message in _po("sw"):
        if not message.id:
            continue
        if message.fuzzy:
            fuzzy.append(message.id)
        if any(not s for _, s in _pairs(message)):
            missing.append(message.id)
    assert not missing, f"untranslated in sw: {missing}"
    assert not fuzzy, f"fuzzy in sw: {fuzzy}"


@pytest.mark.parametrize("lang", ["en", "sw"])
def test_translations_keep_the_placeholders_and_tags(lang: str) -> None:
    for message in _po(lang):
        if not message.id:
            continue
        for source, translated in _pairs(message):
            if not translated:
                continue
            assert set(PLACEHOLDER.findall(translated)) == set(PLACEHOLDER.findall(source)), message.id
            assert sorted(TAG.findall(translated)) == sorted(TAG.findall(source)), message.id


def test_the_template_knows_every_message_the_catalogs_have() -> None:
    with (LOCALES / "messages.pot").open("rb") as fh:
        template = {m.id if isinstance(m.id, str) else tuple(m.id) for m in read_po(fh) if m.id}
    for lang in ("en", "sw"):
        ids = {m.id if isinstance(m.id, str) else tuple(m.id) for m in _po(lang) if m.id}
        assert ids == template, f"{lang}: run pybabel update"


@pytest.mark.parametrize("lang", ["en", "sw"])
def test_the_compiled_catalog_is_current(lang: str) -> None:
    po = _po(lang)
    buffer = io.BytesIO()
    write_mo(buffer, po)
    buffer.seek(0)
    expected = {_key(m.id): _key(m.string) for m in read_mo(buffer) if m.id}
    with (LOCALES / lang / "LC_MESSAGES" / "messages.mo").open("rb") as fh:
        compiled = {_key(m.id): _key(m.string) for m in read_mo(fh) if m.id}
    assert compiled == expected, f"{lang}: run pybabel compile"


def _key(value: object) -> object:
    return tuple(value) if isinstance(value, list | tuple) else value


def test_relative_times_read_naturally_in_both_languages() -> None:
    now = datetime(2026, 11, 28, 7, 5, tzinfo=UTC)
    sw, en = translator("sw"), translator("en")
    assert sw.ago(now - timedelta(minutes=5), now) == "dakika 5 zilizopita"
    assert sw.ago(now - timedelta(minutes=1), now) == "dakika 1 iliyopita"
    assert en.ago(now - timedelta(hours=3), now) == "3 hours ago"
    assert en.ago(now - timedelta(seconds=20), now) == "just now"
    # 06:40 UTC is 09:40 in Nairobi.
    assert sw.since(now - timedelta(minutes=25), now) == "Tangu 09:40 EAT, dakika 25 zilizopita"


def test_the_language_choice_follows_its_order() -> None:
    assert choose_language(stored="en", detected="sw", telegram_code="sw") == "en"
    assert choose_language(stored=None, detected="sw", telegram_code="en") == "sw"
    assert choose_language(stored=None, detected=None, telegram_code="sw-KE") == "sw"
    assert choose_language(stored=None, detected=None, telegram_code="fr") == "en"


def test_an_unknown_language_falls_back_to_english() -> None:
    assert translator("fr").lang == "en"


def test_locales_are_where_the_code_looks() -> None:
    assert (Path(LOCALES) / "sw" / "LC_MESSAGES" / "messages.mo").is_file()
