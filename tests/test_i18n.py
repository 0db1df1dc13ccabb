"""The gettext catalogs: complete in Swahili, compiled and current, and times in East Africa Time."""

from __future__ import annotations

import gettext
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


def _only_one(catalog, form: int) -> bool:  # type: ignore[no-untyped-def]
    """Whether the catalog's plural rule uses this form for n == 1 alone."""
    rule = gettext.c2py(catalog.plural_expr)
    return [n for n in range(1000) if rule(n) == form] == [1]


@pytest.mark.parametrize("lang", ["en", "sw"])
def test_translations_keep_the_placeholders_and_tags(lang: str) -> None:
    catalog = _po(lang)
    for message in catalog:
        if not message.id:
            continue
        plural = isinstance(message.id, tuple | list)
        for form, (source, translated) in enumerate(_pairs(message)):
            if not translated:
                continue
            expected = set(PLACEHOLDER.findall(source))
            if plural and _only_one(catalog, form):
                # The form for exactly one may say "moja" instead of the number: "dakika moja iliyopita".
                expected.discard("n")
                assert set(PLACEHOLDER.findall(translated)) - {"n"} == expected, message.id
            else:
                assert set(PLACEHOLDER.findall(translated)) == expected, message.id
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
    assert sw.ago(now - timedelta(minutes=1), now) == "dakika moja iliyopita"
    assert sw.ago(now - timedelta(hours=1), now) == "saa moja iliyopita"
    assert sw.ago(now - timedelta(days=3), now) == "siku 3 zilizopita"
    assert sw.ago(now - timedelta(seconds=20), now) == "hivi punde"
    assert en.ago(now - timedelta(hours=3), now) == "3 hours ago"
    assert en.ago(now - timedelta(minutes=1), now) == "1 minute ago"
    assert en.ago(now - timedelta(seconds=20), now) == "just now"
    # 06:40 UTC is 09:40 in Nairobi.
    assert sw.since(now - timedelta(minutes=25), now) == "Tangu saa 09:40 EAT (dakika 25 zilizopita)"
    assert en.since(now - timedelta(minutes=25), now) == "Since 09:40 EAT, 25 minutes ago"


def test_swahili_clock_times_carry_saa_and_english_ones_do_not() -> None:
    moment = datetime(2026, 12, 6, 15, 0, tzinfo=UTC)  # 18:00 in Nairobi, a Sunday
    sw, en = translator("sw"), translator("en")
    assert (sw.time(moment), en.time(moment)) == ("saa 18:00", "18:00")
    assert (sw.date_time(moment), en.date_time(moment)) == ("6 Des 2026, saa 18:00", "6 Dec 2026, 18:00")
    assert (sw.day_time(moment), en.day_time(moment)) == ("Jumapili 6 Desemba, saa 18:00", "Sunday 6 December, 18:00")


def test_no_swahili_template_adds_saa_before_a_formatted_clock_time() -> None:
    # Durations ("saa {n} zilizopita") and quiet hours, whole hours the template writes itself ("saa
    # {start}:00"), keep their "saa"; every clock time comes formatted, with "saa" already in it.
    doubled = [m.id for m in _po("sw") if m.id and any(
        re.search(r"\bsaa \{(?!n\})\w+\}(?!:00)", s) for _, s in _pairs(m) if s)]
    assert doubled == []


def test_the_language_choice_is_confirmed_in_the_language_chosen() -> None:
    from bot.render import language_set

    assert language_set(translator("en")).plain == "Done: I will answer you in English."
    assert language_set(translator("sw")).plain == "Sawa: nitakujibu kwa Kiswahili."


def test_the_language_choice_follows_its_order() -> None:
    assert choose_language(stored="en", detected="sw", telegram_code="sw") == "en"
    assert choose_language(stored=None, detected="sw", telegram_code="en") == "sw"
    assert choose_language(stored=None, detected=None, telegram_code="sw-KE") == "sw"
    assert choose_language(stored=None, detected=None, telegram_code="fr") == "en"


def test_an_unknown_language_falls_back_to_english() -> None:
    assert translator("fr").lang == "en"


def test_locales_are_where_the_code_looks() -> None:
    assert (Path(LOCALES) / "sw" / "LC_MESSAGES" / "messages.mo").is_file()
