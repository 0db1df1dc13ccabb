"""`hali checks`, `hali maintenance` and `hali audit` as an operator types them."""

from __future__ import annotations

import json

import pytest

from bot.cli.commands.operations import parse_since
from bot.core.clock import FrozenClock
from tests.cli import run


def test_checks_list_shows_every_bundled_check_before_any_run(capsys: pytest.CaptureFixture[str]) -> None:
    code, out, _ = run(capsys, "checks", "list", "--json")
    rows = json.loads(out)
    assert code == 0
    assert {r["service"] for r in rows} == {"ecitizen", "kra", "sha", "kuccps", "brs", "iebc"}
    assert all(r["verdict"] is None and r["failure_threshold"] == 3 and r["success_threshold"] == 2 for r in rows)
    assert "https://itax.kra.go.ke" in {r["url"] for r in rows}


def test_checks_run_rejects_an_unknown_service(capsys: pytest.CaptureFixture[str]) -> None:
    code, _, err = run(capsys, "checks", "run", "nosuch")
    assert code == 2 and "unknown service 'nosuch'" in err


def test_checks_run_for_a_service_without_checks_says_so(capsys: pytest.CaptureFixture[str]) -> None:
    code, out, _ = run(capsys, "checks", "run", "ntsa")
    assert code == 0 and out.strip() == "no checks for ntsa"


def test_a_maintenance_window_is_scheduled_listed_and_cancelled(capsys: pytest.CaptureFixture[str]) -> None:
    code, out, _ = run(capsys, "maintenance", "schedule", "kra", "--start", "2030-01-06 18:00", "--end", "4h",
                       "--title", "iTax upgrade", "--title-sw", "Matengenezo ya iTax", "--every", "monthly")
    assert code == 0
    number = out.strip()
    code, out, _ = run(capsys, "maintenance", "list", "--json")
    [row] = json.loads(out)
    assert row["service"] == "kra" and row["every"] == "monthly"
    assert row["starts_at"] == "2030-01-06T15:00:00+00:00" and row["ends_at"] == "2030-01-06T19:00:00+00:00"
    code, out, _ = run(capsys, "maintenance", "list")
    assert "Sun 2030-01-06 18:00–22:00 EAT  monthly  iTax upgrade" in out
    assert run(capsys, "maintenance", "cancel", number)[0] == 0
    assert run(capsys, "maintenance", "list")[1].strip() == "no maintenance windows"
    code, _, err = run(capsys, "maintenance", "cancel", number)
    assert code == 2 and "already cancelled" in err

    code, out, _ = run(capsys, "audit", "--json")
    actions = [(r["action"], r["actor"]) for r in json.loads(out)]
    assert ("maintenance.schedule", "cli") in actions and ("maintenance.cancel", "cli") in actions
    cancel = next(r for r in json.loads(out) if r["action"] == "maintenance.cancel")
    assert cancel["before"]["cancelled_at"] is None and cancel["after"]["cancelled_at"] is not None


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--start", "tomorrow", "--end", "4h"], "is not a date and time like 2026-12-06 18:00"),
        (["--start", "2030-01-06 18:00", "--end", "soon"], "is not an end like 22:00, 4h"),
        (["--start", "2030-01-06 18:00", "--end", "2030-01-20 18:00"], "at most 7 days"),
    ],
)
def test_bad_maintenance_times_change_nothing(capsys: pytest.CaptureFixture[str], args: list[str],
                                              message: str) -> None:
    code, _, err = run(capsys, "maintenance", "schedule", "kra", "--title", "x", *args)
    assert code == 2 and message in err
    assert run(capsys, "maintenance", "list")[1].strip() == "no maintenance windows"


def test_audit_shows_incidents_with_before_and_after(capsys: pytest.CaptureFixture[str]) -> None:
    run(capsys, "incident", "open", "sha", "--status", "degraded", "--title", "Slow claims")
    code, out, _ = run(capsys, "audit", "--since", "2h")
    assert code == 0
    assert "cli" in out and "incident.open" in out and "incident:1" in out and '"title_en": "Slow claims"' in out
    assert run(capsys, "audit", "--since", "2099-01-01")[1].strip() == "no changes in that period"
    code, _, err = run(capsys, "audit", "--since", "last week")
    assert code == 2 and "--since 'last week'" in err


def test_since_reads_durations_and_dates() -> None:
    now = FrozenClock().now
    assert (now - parse_since("2h", now)).total_seconds() == 7200
    assert parse_since("2026-11-01", now).isoformat() == "2026-10-31T21:00:00+00:00"

