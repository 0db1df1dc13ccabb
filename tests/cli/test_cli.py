"""The operator's command line, as an operator types it."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from tests.cli import run


def test_services_lists_every_catalogue_id(capsys: pytest.CaptureFixture[str]) -> None:
    code, out, _ = run(capsys, "services", "--json")
    rows = json.loads(out)
    assert code == 0
    assert [r["id"] for r in rows][:3] == ["ecitizen", "ntsa", "kra"]
    assert {r["state"] for r in rows} == {"no_known_problem"}


def test_an_incident_goes_from_open_to_resolved(capsys: pytest.CaptureFixture[str]) -> None:
    code, out, _ = run(capsys, "incident", "open", "ecitizen", "--status", "major_outage",
                       "--title", "Payments failing", "--title-sw", "Malipo yanakataa",
                       "--workaround", "Pay at a bank")
    assert code == 0
    incident_id = out.strip()
    assert incident_id.isdigit()

    code, out, _ = run(capsys, "services", "--json")
    ecitizen = next(r for r in json.loads(out) if r["id"] == "ecitizen")
    assert ecitizen["state"] == "major_outage" and ecitizen["source"] == "incident"

    assert run(capsys, "incident", "update", incident_id, "--message", "Partly back",
               "--status", "partial_outage")[0] == 0
    assert run(capsys, "incident", "resolve", incident_id, "--message", "Fixed")[0] == 0

    code, out, _ = run(capsys, "incident", "list", "--json")
    [row] = json.loads(out)
    assert row["status"] == "partial_outage" and row["resolved_at"] is not None and row["updates"] == 3


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["incident", "open", "nosuch", "--status", "degraded", "--title", "x"], "unknown service 'nosuch'"),
        (["incident", "open", "kra", "--status", "broken", "--title", "x"], "unknown status 'broken'"),
        (["incident", "open", "kra", "--status", "operational", "--title", "x"], "not for incidents"),
        (["incident", "update", "999", "--message", "x"], "unknown incident 999"),
        (["incident", "resolve", "abc"], "incident id must be a number"),
        (["incident", "open", "kra", "--status", "degraded", "--title", "  "], "must not be empty"),
    ],
)
def test_bad_arguments_get_one_line_and_status_2_and_change_nothing(
    capsys: pytest.CaptureFixture[str], args: list[str], message: str
) -> None:
    code, out, err = run(capsys, *args)
    assert code == 2
    assert message in err and err.count("\n") == 1
    code, out, _ = run(capsys, "incident", "list", "--json")
    assert json.loads(out) == []


def test_resolving_twice_is_an_error(capsys: pytest.CaptureFixture[str]) -> None:
    _, out, _ = run(capsys, "incident", "open", "kra", "--status", "degraded", "--title", "Slow")
    assert run(capsys, "incident", "resolve", out.strip())[0] == 0
    code, _, err = run(capsys, "incident", "resolve", out.strip())
    assert code == 2 and "already resolved" in err


def test_run_without_a_token_says_how_to_get_one(capsys: pytest.CaptureFixture[str]) -> None:
    code, _, err = run(capsys, "run")
    assert code == 2
    assert "@BotFather" in err and "hali chat" in err


def test_a_malformed_setting_is_named(capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("HALI_ADMIN_IDS", "12,abc")
    code, _, err = run(capsys, "services")
    assert code == 2 and "HALI_ADMIN_IDS" in err


def test_catalog_load_reports_what_changed(capsys: pytest.CaptureFixture[str]) -> None:
    assert run(capsys, "db", "upgrade")[0] == 0
    code, out, _ = run(capsys, "catalog", "load")
    assert code == 0 and out.startswith("added 16, updated 0")
    code, out, _ = run(capsys, "catalog", "load")
    assert out.startswith("added 0, updated 0")


def test_catalog_load_names_the_error_in_a_bad_file(capsys: pytest.CaptureFixture[str], tmp_path: Path) -> None:
    bad = tmp_path / "bad.toml"
    bad.write_text('[[services]]\nid = "x"\nalises = []\n', encoding="utf-8")
    code, _, err = run(capsys, "catalog", "load", str(bad))
    assert code == 2 and "bad.toml" in err
