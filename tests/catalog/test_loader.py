"""The bundled catalogue is complete and truthful; the loader names every mistake in a malformed one."""

from __future__ import annotations

import json
import re
import socket
import textwrap
import tomllib
from pathlib import Path

import pytest

from bot.catalog.loader import (
    BUNDLED_CATALOG,
    MAX_FILE_BYTES,
    CatalogError,
    catalog_to_dict,
    load_catalog,
    parse_catalog,
    service_from_dict,
)
from bot.catalog.model import GROUPS, Catalog, Check, Service, Text

NOTES_FILE = Path(__file__).parents[2].parent / "shared/domain/services-kenya.md"

EXPECTED_IDS = (
    "ecitizen", "ntsa", "kra", "sha", "nssf", "helb", "kuccps", "brs", "ardhisasa",
    "immigration", "good-conduct", "maisha-namba", "huduma", "kplc", "mpesa", "iebc",
)  # fmt: skip

EXPECTED_GROUPS = {
    "payments": {"ecitizen", "mpesa", "kplc"},
    "tax_business": {"kra", "brs"},
    "transport_land": {"ntsa", "ardhisasa"},
    "identity_travel": {"immigration", "good-conduct", "maisha-namba", "iebc"},
    "social": {"sha", "nssf", "helb", "kuccps"},
    "in_person": {"huduma"},
}

# Ardhisasa: the notes give no contact, no workaround and no confirmed address; Hali only reports its state.
WITHOUT_HELP = {"ardhisasa"}


@pytest.fixture(scope="module")
def catalog() -> Catalog:
    return load_catalog()


def alias_owner(catalog: Catalog, alias: str) -> str | None:
    owners = [s.id for s in catalog.services if alias in s.aliases]
    assert len(owners) <= 1
    return owners[0] if owners else None


def shown_texts(catalog: Catalog) -> list[str]:
    """Every string a citizen can be shown."""
    texts: list[Text] = []
    values: list[str] = []
    for s in catalog.services:
        texts += [s.name, s.used_for, *([s.notes] if s.notes else [])]
        texts += [w.text for w in s.shown_workarounds()]
        texts += [c.label for c in s.shown_contacts()]
        values += [c.value for c in s.shown_contacts()]
    texts += [a.note for a in catalog.ambiguous if a.note]
    return values + [t.en for t in texts] + [t.sw for t in texts if t.sw]


# ------------------------------------------------------------------------------------- the bundled file


def test_the_bundled_catalogue_loads_without_a_path(catalog: Catalog) -> None:
    assert load_catalog(BUNDLED_CATALOG) == catalog


def test_the_bundled_catalogue_has_exactly_the_sixteen_services_in_order(catalog: Catalog) -> None:
    assert catalog.ids == EXPECTED_IDS


def test_each_service_is_in_its_group(catalog: Catalog) -> None:
    groups = {g: {s.id for s in catalog.services if s.group == g} for g in GROUPS}
    assert groups == EXPECTED_GROUPS


def test_every_service_has_a_name_and_a_use_in_english_and_swahili(catalog: Catalog) -> None:
    for s in catalog.services:
        assert s.name.en and s.name.sw, s.id
        assert s.used_for.en and s.used_for.sw, s.id
        assert s.agency, s.id


def test_every_shown_text_has_a_swahili_version(catalog: Catalog) -> None:
    for s in catalog.services:
        shown = [*(w.text for w in s.shown_workarounds()), *(c.label for c in s.shown_contacts())]
        if s.notes:
            shown.append(s.notes)
        for text in shown:
            assert text.has("sw"), (s.id, text.en)
    for a in catalog.ambiguous:
        assert a.note is not None and a.note.has("sw")


def test_every_service_but_ardhisasa_offers_a_shown_workaround_or_contact(catalog: Catalog) -> None:
    without = {s.id for s in catalog.services if not s.shown_workarounds() and not s.shown_contacts()}
    assert without == WITHOUT_HELP


@pytest.mark.parametrize(
    ("alias", "service_id"),
    [
        ("tims", "ntsa"),
        ("nhif", "sha"),
        ("huduma namba", "maisha-namba"),
        ("222222", "ecitizen"),
        ("e-citizen", "ecitizen"),
        ("e citizen", "ecitizen"),
        ("itax", "kra"),
        ("i-tax", "kra"),
        ("kra pin", "kra"),
        ("smart dl", "ntsa"),
        ("pasipoti", "immigration"),
        ("sheria house", "brs"),
        ("888880", "kplc"),
        ("m-pesa", "mpesa"),
    ],
)
def test_what_people_type_routes_to_the_current_service(
    catalog: Catalog, alias: str, service_id: str
) -> None:
    assert alias_owner(catalog, alias) == service_id


@pytest.mark.parametrize("word", ["206206", "id", "pin", "paybill", "huduma", "eta", "revision", "placement"])
def test_the_old_paybill_and_generic_words_are_not_aliases(catalog: Catalog, word: str) -> None:
    assert alias_owner(catalog, word) is None


def test_aliases_are_lower_case_and_trimmed(catalog: Catalog) -> None:
    for s in catalog.services:
        for alias in s.aliases:
            assert alias == " ".join(alias.lower().split())


def test_ntsa_depends_on_ecitizen_and_mpesa(catalog: Catalog) -> None:
    assert set(catalog["ntsa"].depends_on) == {"ecitizen", "mpesa"}


def test_everything_paid_through_222222_depends_on_ecitizen_and_mpesa(catalog: Catalog) -> None:
    for sid in ("ntsa", "kra", "nssf", "helb", "kuccps", "brs", "immigration", "good-conduct"):
        assert {"ecitizen", "mpesa"} <= set(catalog[sid].depends_on), sid
    assert catalog["ecitizen"].depends_on == ("mpesa",)
    assert catalog["kplc"].depends_on == ("mpesa",)


def test_unconfirmed_facts_are_kept_but_never_shown(catalog: Catalog) -> None:
    ecitizen = catalog["ecitizen"]
    hidden = {c.value for c in ecitizen.contacts if c.verify}
    assert {"*2222#", "*222#", "support@ecitizen.go.ke"} <= hidden
    shown = {c.value for c in ecitizen.shown_contacts()}
    assert not shown & hidden
    assert all(not w.verify for s in catalog.services for w in s.shown_workarounds())
    assert all(not c.verify for s in catalog.services for c in s.shown_contacts())
    assert any(w.verify and "M-Pesa code" in w.text.en for w in ecitizen.workarounds)


def test_the_fake_x_account_is_never_a_contact(catalog: Catalog) -> None:
    for s in catalog.services:
        assert all("e_citizen_kenya" not in c.value.lower() for c in s.contacts), s.id
    assert any("@e_citizen_Kenya" in w.text.en for w in catalog["ecitizen"].shown_workarounds())


def test_ardhisasa_has_no_address_because_none_is_confirmed(catalog: Catalog) -> None:
    assert catalog["ardhisasa"].urls == ()


def test_every_address_is_https(catalog: Catalog) -> None:
    for s in catalog.services:
        for url in s.urls:
            assert url.startswith("https://"), (s.id, url)


def test_every_number_shown_comes_from_the_domain_notes(catalog: Catalog) -> None:
    if not NOTES_FILE.is_file():
        pytest.skip(f"{NOTES_FILE} is not in this checkout")
    notes = re.sub(r"\s", "", NOTES_FILE.read_text(encoding="utf-8"))
    for text in shown_texts(catalog):
        # Digits split only by spaces are one number ("020 4999 999").
        for run in re.findall(r"\d(?:[\d ]*\d)?", text):
            number = run.replace(" ", "")
            if len(number) >= 3:
                assert number in notes, f"{number!r} (in {text!r}) is not in the domain notes"


def test_every_web_address_comes_from_the_domain_notes(catalog: Catalog) -> None:
    if not NOTES_FILE.is_file():
        pytest.skip(f"{NOTES_FILE} is not in this checkout")
    notes = NOTES_FILE.read_text(encoding="utf-8")
    for s in catalog.services:
        for url in s.urls:
            host = url.removeprefix("https://").split("/")[0].removeprefix("www.")
            assert host in notes, (s.id, url)


def test_sheria_is_ambiguous_and_points_to_brs(catalog: Catalog) -> None:
    (sheria,) = catalog.ambiguous
    assert sheria.term == "sheria"
    assert sheria.services == ("brs",)
    assert sheria.note is not None and "Kenya Law" in sheria.note.en and "Kenya Law" in (sheria.note.sw or "")


@pytest.mark.parametrize("service_id", EXPECTED_IDS)
def test_each_service_survives_a_json_round_trip(catalog: Catalog, service_id: str) -> None:
    service = catalog[service_id]
    assert service_from_dict(json.loads(json.dumps(catalog_to_dict(service)))) == service


# ------------------------------------------------------------------------------------------- validation


def service(sid: str = "a", extra: str = "", *, group: str = "payments") -> str:
    """A minimal valid [[services]] table, with extra lines appended inside it."""
    return f"""
[[services]]
id = "{sid}"
name = {{ en = "Service {sid}", sw = "Huduma {sid}" }}
agency = "Agency {sid}"
group = "{group}"
used_for = {{ en = "Testing", sw = "Majaribio" }}
{textwrap.dedent(extra)}
"""


def parse(toml: str) -> Catalog:
    return parse_catalog(tomllib.loads(toml), source="test.toml")


def rejects(toml: str, message: str) -> None:
    with pytest.raises(CatalogError) as info:
        parse(toml)
    assert message in str(info.value), str(info.value)


def test_a_minimal_catalogue_parses_with_defaults() -> None:
    cat = parse(service("a") + service("b", 'depends_on = ["a"]\naliases = ["  Bee Service ", "B"]'))
    assert cat.ids == ("a", "b")
    assert cat["b"].depends_on == ("a",)
    assert cat["b"].aliases == ("bee service", "b")
    assert cat["a"].notes is None and cat["a"].workarounds == () and cat["a"].checks == ()


def test_an_unknown_dependency_is_named() -> None:
    rejects(
        service("ntsa", 'depends_on = ["foo"]'),
        "test.toml: service 'ntsa': depends_on: unknown service 'foo'",
    )


def test_a_missing_english_name_is_named() -> None:
    toml = service("a").replace('name = { en = "Service a", sw = "Huduma a" }', 'name = { sw = "Huduma a" }')
    rejects(toml, "test.toml: service 'a': missing required field 'name.en'")


def test_a_missing_name_is_reported_as_its_english_field() -> None:
    toml = service("a").replace('name = { en = "Service a", sw = "Huduma a" }', "")
    rejects(toml, "test.toml: service 'a': missing required field 'name.en'")


def test_a_service_without_an_id_is_named_by_its_position() -> None:
    rejects(
        service("a") + service("b").replace('id = "b"', ""),
        "test.toml: service #2: missing required field 'id'",
    )


@pytest.mark.parametrize("bad_id", ["KRA", "1abc", "a_b", "a b", ""])
def test_an_id_must_be_lower_case_letters_digits_and_dashes(bad_id: str) -> None:
    rejects(service(bad_id), "test.toml: service #1: id:")


def test_a_duplicate_service_id_is_named() -> None:
    rejects(service("kra") + service("kra"), "test.toml: duplicate service id 'kra'")


def test_an_alias_used_by_two_services_is_named() -> None:
    rejects(
        service("ntsa", 'aliases = ["tims"]') + service("kra", 'aliases = ["TIMS "]'),
        "test.toml: alias 'tims' is used by both 'ntsa' and 'kra'",
    )


def test_an_alias_may_not_be_another_services_id() -> None:
    rejects(
        service("a") + service("b", 'aliases = ["a"]'), "service 'b': alias 'a' is the id of another service"
    )


def test_an_empty_alias_is_rejected() -> None:
    rejects(service("a", 'aliases = ["ok", "   "]'), "test.toml: service 'a': aliases[1]: must not be empty")


def test_an_unknown_group_lists_the_known_ones() -> None:
    rejects(
        service("a", group="x"),
        "test.toml: service 'a': group 'x' is not one of payments, tax_business, transport_land, "
        "identity_travel, social, in_person",
    )


def test_a_misspelt_key_is_named_with_a_suggestion() -> None:
    rejects(
        service("a", 'alises = ["x"]'),
        "test.toml: service 'a': unknown key 'alises' (did you mean 'aliases'?)",
    )


def test_an_unknown_top_level_key_is_named() -> None:
    rejects(service("a") + "\n[servces]\nx = 1\n", "test.toml: top level: unknown key 'servces'")


def test_a_catalogue_without_services_is_rejected() -> None:
    with pytest.raises(CatalogError, match=r"^test\.toml: missing required field 'services'$"):
        parse_catalog({}, source="test.toml")


def test_a_dependency_cycle_is_spelt_out() -> None:
    toml = service("a", 'depends_on = ["b"]') + service("b", 'depends_on = ["a"]')
    rejects(toml, "test.toml: dependency cycle: a -> b -> a")


def test_a_service_may_not_depend_on_itself() -> None:
    rejects(service("a", 'depends_on = ["a"]'), "test.toml: dependency cycle: a -> a")


def test_a_longer_cycle_is_spelt_out_from_where_it_starts() -> None:
    toml = (
        service("a", 'depends_on = ["b"]')
        + service("b", 'depends_on = ["c"]')
        + service("c", 'depends_on = ["b"]')
    )
    rejects(toml, "test.toml: dependency cycle: b -> c -> b")


def test_an_empty_string_is_rejected_with_its_field() -> None:
    rejects(
        service("a").replace('agency = "Agency a"', 'agency = "  "'), "service 'a': agency: must not be empty"
    )


def test_a_non_web_address_is_rejected() -> None:
    rejects(
        service("a", 'urls = ["ftp://x.go.ke"]'), "service 'a': urls[0]: 'ftp://x.go.ke' is not an http(s)"
    )


def test_a_workaround_needs_a_source() -> None:
    rejects(
        service("a", '[[services.workarounds]]\nen = "Wait."\nsw = "Subiri."'),
        "test.toml: service 'a': missing required field 'workarounds[0].source'",
    )


def test_verify_must_be_a_boolean() -> None:
    rejects(
        service(
            "a", '[[services.contacts]]\nlabel = { en = "Phone" }\nvalue = "1"\nsource = "s"\nverify = "yes"'
        ),
        "service 'a': contacts[0].verify: must be true or false",
    )


def test_a_shared_workaround_is_reused_by_reference() -> None:
    toml = '[shared_workarounds.wait]\nen = "Wait."\nsw = "Subiri."\nsource = "notes"\n' + service(
        "a", '[[services.workarounds]]\nref = "wait"'
    )
    (workaround,) = parse(toml)["a"].workarounds
    assert workaround.text == Text("Wait.", "Subiri.") and workaround.source == "notes"


def test_an_unknown_shared_workaround_is_named() -> None:
    rejects(
        service("a", '[[services.workarounds]]\nref = "nope"'),
        "service 'a': workarounds[0].ref: unknown shared workaround 'nope'",
    )


def test_an_ambiguous_term_may_not_also_be_an_alias() -> None:
    toml = service("brs", 'aliases = ["sheria"]') + '\n[[ambiguous]]\nterm = "sheria"\nservices = ["brs"]\n'
    rejects(toml, "test.toml: ambiguous term 'sheria': is also an alias of 'brs'")


def test_an_ambiguous_term_must_name_known_services() -> None:
    toml = service("brs") + '\n[[ambiguous]]\nterm = "sheria"\nservices = ["kenya-law"]\n'
    rejects(toml, "test.toml: ambiguous term 'sheria': services: unknown service 'kenya-law'")


# ------------------------------------------------------------------------------------------------ checks


def test_a_check_gets_the_documented_defaults() -> None:
    cat = parse(service("a", '[[services.checks]]\nurl = "https://a.go.ke"'))
    assert cat["a"].checks == (Check(url="https://a.go.ke"),)


def test_a_check_with_every_field_parses() -> None:
    extra = """
    [[services.checks]]
    url = "https://a.go.ke/health"
    method = "get"
    expect_status = [200, 301]
    body_contains = "ok"
    body_not_contains = "maintenance"
    timeout_s = 5
    interval_s = 30
    slow_ms = 2000
    failure_threshold = 5
    success_threshold = 1
    """
    (check,) = parse(service("a", extra))["a"].checks
    assert check == Check(
        url="https://a.go.ke/health",
        method="GET",
        expect_status=(200, 301),
        body_contains="ok",
        body_not_contains="maintenance",
        timeout_s=5.0,
        interval_s=30.0,
        slow_ms=2000,
        failure_threshold=5,
        success_threshold=1,
    )
    assert isinstance(check.timeout_s, float)


@pytest.mark.parametrize(
    ("line", "message"),
    [
        ("expect_status = [200, 700]", "checks[0].expect_status: 700 is not an HTTP status"),
        ("expect_status = []", "checks[0].expect_status: must list at least one status"),
        ('expect_status = ["200"]', "checks[0].expect_status: '200' is not an HTTP status"),
        ('method = "POST"', "checks[0].method: 'POST' is not one of GET, HEAD"),
        ("timeout_s = 0", "checks[0].timeout_s: 0 must be > 0 and ≤ 60"),
        ("timeout_s = 61", "checks[0].timeout_s: 61 must be > 0 and ≤ 60"),
        ("interval_s = 5", "checks[0].interval_s: 5 must be ≥ 10"),
        ("slow_ms = 0", "checks[0].slow_ms: 0 must be a whole number > 0"),
        ("slow_ms = 1.5", "checks[0].slow_ms: 1.5 must be a whole number > 0"),
        ('body_contains = ""', "checks[0].body_contains: must not be empty"),
        ("retries = 3", "checks[0]: unknown key 'retries'"),
        ("failure_threshold = 0", "checks[0].failure_threshold: 0 must be a whole number from 1 to 20"),
        ("success_threshold = 2.5", "checks[0].success_threshold: 2.5 must be a whole number from 1 to 20"),
        ("failure_threshold = true", "checks[0].failure_threshold: True must be a whole number from 1 to 20"),
        ("slow_ms = 10000", "checks[0].slow_ms: 10000 must be below timeout_s (10 s = 10000 ms)"),
        ('method = "HEAD"\nbody_contains = "ok"', "checks[0].method: HEAD has no body to look for text in"),
    ],
)
def test_a_bad_check_field_is_named(line: str, message: str) -> None:
    rejects(service("a", f'[[services.checks]]\nurl = "https://a.go.ke"\n{line}'), f"service 'a': {message}")


def test_a_check_needs_a_web_address() -> None:
    rejects(service("a", '[[services.checks]]\nmethod = "GET"'), "missing required field 'checks[0].url'")
    rejects(
        service("a", '[[services.checks]]\nurl = "a.go.ke"'), "checks[0].url: 'a.go.ke' is not an http(s)"
    )


def test_a_service_with_checks_survives_a_json_round_trip() -> None:
    extra = '[[services.checks]]\nurl = "https://a.go.ke"\nbody_contains = "ok"\nexpect_status = [200, 204]'
    original: Service = parse(service("a", extra))["a"]
    assert service_from_dict(json.loads(json.dumps(catalog_to_dict(original)))) == original


def test_a_malformed_stored_service_is_rejected() -> None:
    with pytest.raises(CatalogError, match=r"^stored service: service 'a': group 'nope'"):
        service_from_dict(
            {"id": "a", "name": {"en": "A"}, "agency": "x", "group": "nope", "used_for": {"en": "u"}}
        )


@pytest.mark.parametrize(
    "url",
    [
        "http://127.0.0.1:5432/",
        "http://localhost:8080/health",
        "https://api.localhost/",
        "http://LOCALHOST./",
        "http://0.0.0.0/",
        "http://10.1.2.3/",
        "http://172.16.0.1/",
        "http://192.168.1.1:80/",
        "http://100.64.0.1/",
        "http://169.254.169.254/latest/meta-data/",
        "http://2130706433/",  # 127.0.0.1 as the resolver also reads it
        "http://127.1/",
        "http://[::1]:8080/",
        "http://[fe80::1%25eth0]/",
        "http://[fd12:3456::1]/",
        "http://[::ffff:127.0.0.1]/",
    ],
)
def test_a_check_of_a_private_address_is_rejected(url: str) -> None:
    rejects(
        service("a", f'[[services.checks]]\nurl = "{url}"'),
        f"test.toml: service 'a': checks[0].url: '{url}' is not a public address",
    )


def test_a_check_may_probe_a_private_address_when_the_catalogue_says_so() -> None:
    extra = '[[services.checks]]\nurl = "http://10.0.0.5:8080/health"\nallow_private = true'
    (check,) = parse(service("a", extra))["a"].checks
    assert (check.url, check.allow_private) == ("http://10.0.0.5:8080/health", True)


def test_allow_private_must_be_a_boolean() -> None:
    rejects(
        service("a", '[[services.checks]]\nurl = "http://10.0.0.5/"\nallow_private = "yes"'),
        "service 'a': checks[0].allow_private: must be true or false, not a string",
    )


def test_public_addresses_load_and_host_names_are_not_looked_up(monkeypatch: pytest.MonkeyPatch) -> None:
    def no_dns(*args: object, **kwargs: object) -> None:
        raise AssertionError("the loader looked a host name up")

    monkeypatch.setattr(socket, "getaddrinfo", no_dns)
    monkeypatch.setattr(socket, "gethostbyname", no_dns)
    urls = ["https://a.go.ke/", "https://8.8.8.8/", "http://[2001:4860:4860::8888]/", "https://intranet.example/"]
    extra = "".join(f'[[services.checks]]\nurl = "{url}"\n' for url in urls)
    assert [c.url for c in parse(service("a", extra))["a"].checks] == urls


def test_a_citizens_address_is_not_held_to_the_checks_rule() -> None:
    assert parse(service("a", 'urls = ["http://192.168.1.1/"]'))["a"].urls == ("http://192.168.1.1/",)


def test_a_stored_service_is_held_to_the_same_rules_as_the_file() -> None:
    stored = catalog_to_dict(parse(service("a", '[[services.checks]]\nurl = "https://a.go.ke"'))["a"])
    stored["checks"][0]["url"] = "http://127.0.0.1:5432/"
    with pytest.raises(CatalogError, match=r"^stored service: service 'a': checks\[0\]\.url: .* not a public address"):
        service_from_dict(stored)
    stored["checks"][0]["allow_private"] = True
    assert service_from_dict(stored).checks[0].allow_private


def test_the_stored_form_keeps_the_files_shape() -> None:
    extra = """
    [[services.workarounds]]
    en = "Wait."
    source = "notes"
    [[services.contacts]]
    label = { en = "Phone", sw = "Simu" }
    value = "1919"
    source = "notes"
    verify = true
    [[services.checks]]
    url = "https://a.go.ke"
    body_contains = "ok"
    """
    assert catalog_to_dict(parse(service("a", 'notes = { en = "N" }' + extra))["a"]) == {
        "id": "a",
        "name": {"en": "Service a", "sw": "Huduma a"},
        "agency": "Agency a",
        "group": "payments",
        "used_for": {"en": "Testing", "sw": "Majaribio"},
        "aliases": [],
        "urls": [],
        "depends_on": [],
        "workarounds": [{"en": "Wait.", "source": "notes", "verify": False}],
        "contacts": [{"label": {"en": "Phone", "sw": "Simu"}, "value": "1919", "source": "notes", "verify": True}],
        "checks": [
            {
                "url": "https://a.go.ke",
                "method": "GET",
                "expect_status": [200],
                "body_contains": "ok",
                "timeout_s": 10.0,
                "interval_s": 60.0,
                "slow_ms": 5000,
                "failure_threshold": 3,
                "success_threshold": 2,
            }
        ],
        "notes": {"en": "N"},
    }


def test_a_check_allowed_a_private_address_survives_a_json_round_trip() -> None:
    extra = '[[services.checks]]\nurl = "http://10.0.0.5/"\nallow_private = true'
    original: Service = parse(service("a", extra))["a"]
    assert catalog_to_dict(original)["checks"][0]["allow_private"] is True
    assert service_from_dict(json.loads(json.dumps(catalog_to_dict(original)))) == original


# ------------------------------------------------------------------------------------ what errors say


def test_a_misspelt_key_is_named_before_the_field_it_leaves_missing() -> None:
    rejects(
        service("a", '[[services.workarounds]]\nen = "Wait."\nsoruce = "notes"'),
        "test.toml: service 'a': workarounds[0]: unknown key 'soruce' (did you mean 'source'?)",
    )


def test_an_alias_listed_twice_is_named_at_its_second_place() -> None:
    rejects(service("a", 'aliases = ["x", " X "]'), "test.toml: service 'a': aliases[1]: 'x' is listed twice")


def test_a_broken_shared_workaround_is_named_where_it_is_written() -> None:
    toml = '[shared_workarounds.wait]\nen = "Wait."\n' + service("a", '[[services.workarounds]]\nref = "wait"')
    with pytest.raises(CatalogError, match=r"^test\.toml: shared workaround 'wait': missing required field 'source'$"):
        parse(toml)


def test_a_text_given_as_a_string_says_what_the_table_holds() -> None:
    rejects(service("a", 'notes = "N"'), "service 'a': notes: must be a table with 'en' and 'sw', not a string")


def test_a_deeply_nested_value_is_named_in_one_short_line() -> None:
    nested = "[" * 200 + "]" * 200
    with pytest.raises(CatalogError) as info:
        parse(service("a", f'[[services.checks]]\nurl = "https://a.go.ke"\ntimeout_s = {nested}'))
    message = str(info.value)
    assert message.startswith("test.toml: service 'a': checks[0].timeout_s: [[[")
    assert message.endswith("must be a number") and len(message) < 200


def test_a_long_chain_of_dependencies_is_checked_without_recursion() -> None:
    count = 5000
    services = [
        {"id": f"s{n}", "name": {"en": "S"}, "agency": "A", "group": "payments", "used_for": {"en": "U"},
         "depends_on": [f"s{n + 1}"] if n + 1 < count else ["s0"]}
        for n in range(count)
    ]  # fmt: skip
    with pytest.raises(CatalogError, match=r"^test\.toml: dependency cycle: s0 -> s1 -> .* -> s4999 -> s0$"):
        parse_catalog({"services": services}, source="test.toml")
    services[-1]["depends_on"] = []
    assert len(parse_catalog({"services": services}, source="test.toml").services) == count


# -------------------------------------------------------------------------------------------------- files


def test_a_toml_syntax_error_names_the_file(tmp_path: Path) -> None:
    path = tmp_path / "broken.toml"
    path.write_text('[[services]]\nid = "a\n', encoding="utf-8")
    with pytest.raises(CatalogError, match=r"^broken\.toml: invalid TOML"):
        load_catalog(path)


def test_a_missing_file_names_the_file(tmp_path: Path) -> None:
    with pytest.raises(CatalogError, match=r"^absent\.toml: cannot read the file"):
        load_catalog(tmp_path / "absent.toml")


def test_errors_in_a_file_carry_its_name(tmp_path: Path) -> None:
    path = tmp_path / "services.toml"
    path.write_text(service("ntsa", 'depends_on = ["foo"]'), encoding="utf-8")
    with pytest.raises(
        CatalogError, match=r"^services\.toml: service 'ntsa': depends_on: unknown service 'foo'$"
    ):
        load_catalog(str(path))


def test_a_file_over_the_size_limit_is_refused_before_it_is_read(tmp_path: Path) -> None:
    path = tmp_path / "huge.toml"
    with path.open("wb") as f:
        f.truncate(200 * 1024 * 1024)  # sparse: 200 MB that take no room on disk
    with pytest.raises(CatalogError, match=r"^huge\.toml: larger than 1 MiB, too large for a catalogue$"):
        load_catalog(path)


def test_the_size_limit_is_exact(tmp_path: Path) -> None:
    text = BUNDLED_CATALOG.read_bytes()
    padding = b"#" * (MAX_FILE_BYTES - len(text) - 1) + b"\n"
    path = tmp_path / "services.toml"
    path.write_bytes(text + padding)
    assert load_catalog(path) == load_catalog()
    path.write_bytes(text + b" " + padding)
    with pytest.raises(CatalogError, match="larger than 1 MiB"):
        load_catalog(path)


DEEP = 100_000


@pytest.mark.parametrize(
    ("toml", "problem"),
    [
        ("x = " + "[" * DEEP + "]" * DEEP, "arrays or tables nested too deeply"),
        ("x = " + "[\n" * DEEP + "]\n" * DEEP, "arrays or tables nested too deeply"),
        ("x = " + "{ a = " * DEEP + "1" + " }" * DEEP, "arrays or tables nested too deeply"),
        ("a" + ".a" * DEEP + " = 1\n", "a key of more than 8 parts (line 1)"),
        ('"a"' + '."a"' * DEEP + " = 1\n", "a key of more than 8 parts (line 1)"),
        ("\n[" + ".".join(["a"] * DEEP) + "]\n", "a key of more than 8 parts (line 2)"),
        ("[[" + ".".join(["a"] * DEEP) + "]]\n", "a key of more than 8 parts (line 1)"),
    ],
    ids=["arrays", "arrays-on-lines", "inline-tables", "dotted-key", "quoted-dotted-key", "table", "array-of-tables"],
)
def test_pathologically_nested_toml_is_one_line_of_error(tmp_path: Path, toml: str, problem: str) -> None:
    path = tmp_path / "deep.toml"
    path.write_text(toml, encoding="utf-8")
    with pytest.raises(CatalogError) as info:
        load_catalog(path)
    assert str(info.value) == f"deep.toml: invalid TOML: {problem}"


def test_a_key_of_eight_parts_is_still_read(tmp_path: Path) -> None:
    path = tmp_path / "services.toml"
    path.write_text(".".join(["x"] * 8) + " = 1\n" + service("a"), encoding="utf-8")
    with pytest.raises(CatalogError, match=r"^services\.toml: top level: unknown key 'x'$"):
        load_catalog(path)
