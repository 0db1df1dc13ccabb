"""A catalogue loaded from a file stays the catalogue until another is loaded, through commands and restarts."""

from __future__ import annotations

import asyncio
import json
from pathlib import Path

import pytest

from bot.app import open_store
from bot.catalog.loader import BUNDLED_CATALOG
from bot.config import Settings
from tests.cli import run


def kra_name(capsys: pytest.CaptureFixture[str]) -> str:
    code, out, _ = run(capsys, "services", "--json")
    assert code == 0
    return str(next(r for r in json.loads(out) if r["id"] == "kra")["name"])


def test_a_loaded_file_stays_in_force_through_commands_and_restarts(
    capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    custom = tmp_path / "services.toml"
    custom.write_text(BUNDLED_CATALOG.read_text(encoding="utf-8").replace(
        'name = { en = "KRA iTax", sw = "KRA iTax" }', 'name = { en = "KRA iTax (county)", sw = "KRA iTax" }'),
        encoding="utf-8")
    code, out, _ = run(capsys, "catalog", "show")
    assert code == 0 and "in force: the bundled catalogue" in out

    code, out, _ = run(capsys, "catalog", "load", str(custom))
    assert code == 0 and f"in force until another is loaded: {custom.resolve()}" in out
    assert kra_name(capsys) == "KRA iTax (county)"
    assert run(capsys, "incident", "list")[0] == 0
    assert kra_name(capsys) == "KRA iTax (county)", "a later command did not reload the bundled catalogue"

    async def restart() -> None:
        store = await open_store(Settings.from_env())
        await store.close()

    asyncio.run(restart())
    assert kra_name(capsys) == "KRA iTax (county)", "a restart did not reload the bundled catalogue"
    code, out, _ = run(capsys, "catalog", "show")
    assert code == 0 and f"in force: {custom.resolve()}, loaded " in out and "; 16 services" in out

    code, out, _ = run(capsys, "catalog", "load")
    assert code == 0 and "in force until another is loaded: the bundled catalogue" in out
    assert kra_name(capsys) == "KRA iTax"
    code, out, _ = run(capsys, "catalog", "show")
    assert "in force: the bundled catalogue" in out
