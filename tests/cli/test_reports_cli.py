"""`hali reports`: summary, JSON, CSV export that a spreadsheet cannot run, purge."""

from __future__ import annotations

import csv
import io
import json
from pathlib import Path

import pytest

from bot import cli
from bot.catalog.loader import load_catalog
from bot.cli_reports import safe_cell
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
