"""`hali token` as an operator types it: the token once on the last line, kept only hashed."""

from __future__ import annotations

import asyncio
import json
import os
import pathlib

import pytest

from bot.store.repo import Store
from bot.store.tokens import PREFIX, TokenStore
from tests.cli import run


def _check(value: str) -> tuple[str, tuple[str, ...] | None, bool, bool, bool] | None:
    async def go() -> tuple[str, tuple[str, ...] | None, bool, bool, bool] | None:
        store = Store.from_url(os.environ["DATABASE_URL"])
        try:
            token = await TokenStore(store).check(value)
            return None if token is None else (token.name, token.services, token.hooks, token.incidents, token.active)
        finally:
            await store.close()

    return asyncio.run(go())


def test_create_prints_the_token_alone_on_its_last_line_and_keeps_only_its_hash(
    capsys: pytest.CaptureFixture[str],
) -> None:
    code, out, _ = run(capsys, "token", "create", "ntsa-monitoring", "--services", "ntsa,ecitizen", "--hooks")
    assert code == 0
    value = out.rstrip("\n").split("\n")[-1]
    assert value.startswith(PREFIX) and value == value.strip() and " " not in value
    assert out.count(value) == 1
    assert _check(value) == ("ntsa-monitoring", ("ecitizen", "ntsa"), True, False, True)
    db = pathlib.Path(os.environ["DATABASE_URL"].split("///", 1)[1])
    files = list(db.parent.glob(db.name + "*"))  # with the write-ahead log, if any
    assert files and all(value.encode() not in f.read_bytes() for f in files)


def test_list_and_revoke(capsys: pytest.CaptureFixture[str]) -> None:
    run(capsys, "token", "create", "ops", "--services", "all", "--hooks", "--incidents")
    code, out, _ = run(capsys, "token", "list")
    assert code == 0 and out.startswith("ops ") and "hooks,incidents" in out and "active" in out and "all" in out
    value = run(capsys, "token", "create", "kra", "--services", "kra", "--incidents")[1].strip().split("\n")[-1]
    code, out, _ = run(capsys, "token", "revoke", "kra")
    assert code == 0 and out.strip() == "token kra revoked"
    rows = json.loads(run(capsys, "token", "list", "--json")[1])
    assert [(r["name"], r["services"], r["revoked_at"] is not None) for r in rows] == [
        ("kra", ["kra"], True), ("ops", "all", False)]
    assert _check(value) == ("kra", ("kra",), False, True, False)
    code, _, err = run(capsys, "token", "revoke", "kra")
    assert code == 2 and "already revoked" in err
    code, out, _ = run(capsys, "audit", "--json")
    actions = [(r["actor"], r["action"], r["target"]) for r in json.loads(out) if r["action"].startswith("token.")]
    assert actions == [("cli", "token.create", "token:ops"), ("cli", "token.create", "token:kra"),
                       ("cli", "token.revoke", "token:kra")]
    assert value not in out


@pytest.mark.parametrize(("args", "words"), [
    (["x", "--services", "nosuch", "--hooks"], "unknown service 'nosuch'"),
    (["x", "--services", "ntsa"], "--hooks, --incidents or both"),
    (["x", "--services", ",", "--hooks"], "service ids separated by commas"),
    (["Not OK", "--services", "ntsa", "--hooks"], "token name"),
    (["x", "--hooks"], "--services"),
])
def test_bad_input_is_one_line_exit_2_and_no_token(
    capsys: pytest.CaptureFixture[str], args: list[str], words: str
) -> None:
    code, out, err = run(capsys, "token", "create", *args)
    assert code == 2 and words in err and PREFIX not in out
    assert run(capsys, "token", "list")[1].strip() == "no tokens"


def test_a_name_in_use_is_refused_until_it_is_revoked(capsys: pytest.CaptureFixture[str]) -> None:
    assert run(capsys, "token", "create", "ntsa", "--services", "ntsa", "--hooks")[0] == 0
    code, _, err = run(capsys, "token", "create", "ntsa", "--services", "ntsa", "--hooks")
    assert code == 2 and "revoke it first" in err
    run(capsys, "token", "revoke", "ntsa")
    assert run(capsys, "token", "create", "ntsa", "--services", "ntsa", "--hooks")[0] == 0
