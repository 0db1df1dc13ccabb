"""`hali reports`: summary, JSON, CSV export that a spreadsheet cannot run, purge."""

from __future__ import annotations

import csv
import io
import json
from pathlib import Path

import pytest

from bot import cli
from bot.catalog.loader import load_catalog
from bot.cli.commands.reports import safe_cell
from bot.core.reports import ReportDraft
from bot.core.understanding import Symptom
from bot.store.repo import Store
from bot.store.reports import ReportStore


@pytest.fixture
async def db(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> str:
    url = f"sqlite+aiosqlite:///{tmp_path / 'cli.db'}"
    store = Store.from_url(url)
    await store.upgrade()
    await store.load_catalog(load_catalog())
    reports = ReportStore(store, secret="c" * 32)
    for chat in range(8):
        await reports.submit(ReportDraft("ecitizen", Symptom.PAYMENT if chat % 4 else Symptom.LOGIN_OTP,
                                         "=HYPERLINK(\"http://x\") call 0712345678" if chat == 0 else None,
                                         chat, "en", False))
    await store.close()
    monkeypatch.setenv("DATABASE_URL", url)
    monkeypatch.setenv("HALI_REPORT_KEY_SECRET", "c" * 32)
    return url


def run(capsys: pytest.CaptureFixture[str], *argv: str) -> tuple[int, str, str]:
    code = cli.main(list(argv))
    out, err = capsys.readouterr()
    return code, out, err


def test_it_summarises_counts_by_symptom_and_the_signal(db: str, capsys: pytest.CaptureFixture[str]) -> None:
    code, out, _ = run(capsys, "reports", "ecitizen", "--since", "1h")
    assert code == 0
    assert "ecitizen: 8 reports (8 counted, 0 flagged" in out
    assert "payment" in out and "login_otp" in out
    assert "crowd signal ON" in out
    code, out, _ = run(capsys, "reports", "--json")
    [summary] = json.loads(out)
    assert summary["by_symptom"] == {"payment": 6, "login_otp": 2}
    assert summary["signal"]["active"] and summary["signal"]["reports_in_window"] == 8


def test_export_is_scrubbed_and_safe_to_open_in_a_spreadsheet(db: str, capsys: pytest.CaptureFixture[str]) -> None:
    code, out, _ = run(capsys, "reports", "export", "--since", "7d")
    assert code == 0
    rows = list(csv.reader(io.StringIO(out)))
    assert rows[0][0] == "reference" and len(rows) == 9
    texts = [r[6] for r in rows[1:] if r[6]]
    assert texts == ["'=HYPERLINK(\"http://x\") call [phone]"]


@pytest.mark.parametrize(("value", "expected"), [("=1+1", "'=1+1"), ("+254", "'+254"), ("-2", "'-2"),
                                                 ("@SUM(A1)", "'@SUM(A1)"), ("fine", "fine"), (None, "")])
def test_cells_that_start_like_a_formula_are_quoted(value: str | None, expected: str) -> None:
    assert safe_cell(value) == expected


def test_purge_runs_once_and_bad_input_changes_nothing(db: str, capsys: pytest.CaptureFixture[str]) -> None:
    code, out, _ = run(capsys, "reports", "purge")
    assert code == 0 and out.startswith("anonymised 0")
    code, _, err = run(capsys, "reports", "nosuchservice")
    assert code == 2 and "unknown service" in err
    with pytest.raises(SystemExit) as exit_info:
        cli.main(["reports", "--since", "forever"])
    assert exit_info.value.code == 2


FORMULAS = ["=1+1", "+1", "-1", "@SUM(A1)", "\t=1", "\r=1", " =1+1", "\u00a0=1", "\u200b=1+1", "\u202e=1+1",
            "\x00=1+1", "\uff1d1+1", "\ufe661+1", "\uff0b1", "|cmd", " |calc", "\u3000@x", "\u0301=1"]


@pytest.mark.parametrize("value", FORMULAS)
def test_a_cell_a_spreadsheet_would_read_as_a_formula_is_quoted(value: str) -> None:
    safe = safe_cell(value)
    assert safe.startswith("'") and safe.replace("'", "") == value  # a tab or CR also gets one after it


@pytest.mark.parametrize("value", ["fine", "R-7F3K2", "2026-12-01T10:00:00+00:00", "ecitizen", "True", "ok = 1",
                                   "", "😡 imekataa"])
def test_ordinary_cells_are_left_as_they_are(value: str) -> None:
    assert safe_cell(value) == value


def test_no_cell_of_the_export_starts_a_formula_whatever_the_separator(capsys: pytest.CaptureFixture[str]) -> None:
    from datetime import UTC, datetime

    from bot.cli.commands.reports import _shown_first, write_csv
    from bot.store.reports import ExportRow

    texts = [*FORMULAS, ";=1+1", "a;=1+1", "x,=1+1", "a\t=1", "line\n=1+1", "a|=1"]
    write_csv([ExportRow(f"R-{i:05d}", datetime(2026, 12, 1, tzinfo=UTC), "ecitizen", "payment", True, False, t)
               for i, t in enumerate(texts)])
    out = capsys.readouterr().out
    for delimiter in (",", ";", "\t", "|"):
        rows = list(csv.reader(io.StringIO(out, newline=""), delimiter=delimiter))
        cells = [cell for row in rows for cell in row]
        assert cells and not [c for c in cells if _shown_first(c) in "=+-@|" and _shown_first(c)], delimiter
