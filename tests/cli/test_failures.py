"""Whatever stops a command or the start-up is one line on stderr and status 2 (1: Hali's own fault)."""

from __future__ import annotations

import os
import sqlite3
import subprocess
import sys
from pathlib import Path

import pytest
from sqlalchemy.exc import OperationalError

from bot import cli
from bot.store.repo import Store
from hali_dev.botapi import TOKEN
from tests.cli import run


def one_line(err: str) -> str:
    assert "Traceback" not in err
    lines = err.strip().splitlines()
    assert len(lines) == 1, err[:2000]
    return lines[0]


@pytest.mark.parametrize("command", [["services"], ["db", "upgrade"], ["incident", "list"], ["catalog", "show"],
                                     ["reports", "export"], ["run"]])
def test_an_unopenable_sqlite_path_is_one_line(
    command: list[str], capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    monkeypatch.setenv("DATABASE_URL", f"sqlite+aiosqlite:///{tmp_path / 'no' / 'such' / 'dir' / 'hali.db'}")
    monkeypatch.setenv("TELEGRAM_BOT_TOKEN", TOKEN)
    monkeypatch.setenv("HALI_API_BASE_URL", "http://127.0.0.1:9/bot")
    code, _, err = run(capsys, *command)
    assert code == 2
    assert "unable to open database file" in one_line(err)


@pytest.mark.parametrize("command", [["services"], ["run"]])
def test_an_unreachable_postgresql_is_one_line(
    command: list[str], capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("DATABASE_URL", "postgresql+asyncpg://postgres@127.0.0.1:1/hali")
    monkeypatch.setenv("TELEGRAM_BOT_TOKEN", TOKEN)
    monkeypatch.setenv("HALI_API_BASE_URL", "http://127.0.0.1:9/bot")
    code, _, err = run(capsys, *command)
    assert code == 2
    assert "the store cannot be used" in one_line(err)


def test_a_read_only_database_is_one_line(
    capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    assert run(capsys, "db", "upgrade")[0] == 0
    monkeypatch.setenv("DATABASE_URL", f"sqlite+aiosqlite:///file:{tmp_path / 'cli.db'}?mode=ro&uri=true")
    code, _, err = run(capsys, "incident", "open", "kra", "--status", "major_outage", "--title", "iTax down")
    assert code == 2
    assert "readonly database" in one_line(err)


def test_a_full_disk_is_one_line_without_the_statement_or_its_parameters(
    capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    async def full(self: Store) -> None:
        raise OperationalError("INSERT INTO reports (text, chat_id) VALUES (?, ?)", ("my secret words", 424242),
                               sqlite3.OperationalError("database or disk is full"))

    monkeypatch.setattr(Store, "upgrade", full)
    for command in (["services"], ["db", "upgrade"], ["catalog", "load"]):
        code, _, err = run(capsys, *command)
        line = one_line(err)
        assert code == 2 and "database or disk is full" in line
        assert "secret" not in line and "424242" not in line and "INSERT" not in line


def test_a_pathological_catalogue_is_one_line(capsys: pytest.CaptureFixture[str], tmp_path: Path) -> None:
    deep = tmp_path / "deep.toml"
    deep.write_text("x = " + "[" * 100_000 + "]" * 100_000 + "\n", encoding="utf-8")
    code, _, err = run(capsys, "catalog", "load", str(deep))
    assert code == 2 and "deep.toml" in one_line(err)


def test_a_fault_of_hali_s_own_is_one_line_and_status_1(
    capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    async def broken(*args: object) -> int:
        raise KeyError("no such thing\nsecond line")

    monkeypatch.setattr(cli, "_run", broken)
    code, _, err = run(capsys, "services")
    assert code == 1 and one_line(err).startswith("hali: internal error: KeyError")


def test_a_reader_that_goes_away_is_not_blamed_on_the_store(tmp_path: Path) -> None:
    env = {**os.environ, "DATABASE_URL": f"sqlite+aiosqlite:///{tmp_path / 'pipe.db'}", "PYTHONUNBUFFERED": "1"}
    read, write = os.pipe()
    os.close(read)  # as `hali services | head -1` does once head has its line
    try:
        hali = subprocess.run([sys.executable, "-m", "bot", "services"], env=env, stdout=write,
                              stderr=subprocess.PIPE, timeout=120, check=False)
    finally:
        os.close(write)
    err = hali.stderr.decode()
    assert "store" not in err and "Traceback" not in err, err
