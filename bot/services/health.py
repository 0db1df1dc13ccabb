"""Is this process ready to take traffic? What `GET /readyz` answers a load balancer or an orchestrator.

Ready means: the store answers (within a few seconds), its schema is the one this code migrates to, and
the Bot API answered recently. When nothing was asked of the Bot API for a while (a quiet webhook
deployment), it is asked once (`getMe`), at most every `probe_every` seconds. A stopping process is not
ready, so the load balancer moves on before it goes.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from functools import cache
from typing import Any

from alembic.script import ScriptDirectory

from bot.store.db import alembic_config
from bot.store.repo import Store

RECENT_SECONDS = 120.0
PROBE_EVERY_SECONDS = 10.0
CHECK_TIMEOUT_SECONDS = 3.0


@cache
def schema_head() -> str | None:
    """The newest migration this code knows."""
    return ScriptDirectory.from_config(alembic_config()).get_current_head()


@dataclass(frozen=True)
class Verdict:
    ready: bool
    checks: dict[str, str]  # check -> "ok" or the reason it is not
    reason: str | None = None  # the first failing check's, in a sentence

    def as_json(self) -> dict[str, Any]:
        body: dict[str, Any] = {"status": "ready" if self.ready else "not ready", "checks": self.checks}
        if self.reason is not None:
            body["reason"] = self.reason
        return body


@dataclass
class Readiness:
    """The three checks of /readyz; `bot_api_age` is the seconds since the Bot API last answered (None:
    never), `ask_bot_api` asks it once (raising when it cannot)."""

    store: Store
    bot_api_age: Callable[[], float | None] | None = None
    ask_bot_api: Callable[[], Awaitable[Any]] | None = None
    recent: float = RECENT_SECONDS
    probe_every: float = PROBE_EVERY_SECONDS
    timeout: float = CHECK_TIMEOUT_SECONDS
    monotonic: Callable[[], float] = time.monotonic
    stopping: bool = False
    _probed: tuple[float, str] | None = field(default=None, init=False)

    async def check(self) -> Verdict:
        if self.stopping:
            return Verdict(False, {"process": "stopping"}, "this process is stopping")
        checks = {"store": await self._store(), "migrations": "ok", "bot_api": await self._bot_api()}
        if checks["store"] == "ok":
            checks["migrations"] = await self._migrations()
        else:
            checks["migrations"] = "unknown: the store did not answer"
        failing = [(name, why) for name, why in checks.items() if why != "ok"]
        if failing:
            return Verdict(False, checks, f"{failing[0][0]}: {failing[0][1]}")
        return Verdict(True, checks)

    async def _store(self) -> str:
        try:
            async with asyncio.timeout(self.timeout):
                await self.store.ping()
        except TimeoutError:
            return f"no answer within {self.timeout:g} s"
        except Exception as exc:
            return f"unreachable ({type(exc).__name__})"  # the type only: the text may name the server's secrets
        return "ok"

    async def _migrations(self) -> str:
        try:
            async with asyncio.timeout(self.timeout):
                current = await self.store.schema_revision()
        except Exception as exc:
            return f"could not read the schema's revision ({type(exc).__name__})"
        head = schema_head()
        if current != head:
            return f"schema at {current or 'nothing'}, this code needs {head} (run `hali db upgrade`)"
        return "ok"

    async def _bot_api(self) -> str:
        if self.bot_api_age is None:
            return "ok"  # this process does not talk to the Bot API
        age = self.bot_api_age()
        if age is not None and age <= self.recent:
            return "ok"
        now = self.monotonic()
        if self._probed is not None and now - self._probed[0] < self.probe_every:
            return self._probed[1]
        verdict = "ok"
        if self.ask_bot_api is None:
            verdict = "no answer recently"
        else:
            try:
                async with asyncio.timeout(self.timeout):
                    await self.ask_bot_api()
            except TimeoutError:
                verdict = f"no answer within {self.timeout:g} s"
            except Exception as exc:
                verdict = f"unreachable ({type(exc).__name__})"
        self._probed = (now, verdict)
        return verdict
