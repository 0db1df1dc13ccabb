"""What the benchmarks share: the fake Bot API as a process, a fresh database, percentiles, the machine."""

from __future__ import annotations

import json
import os
import platform
import signal
import socket
import subprocess
import sys
import urllib.request
import uuid
from collections.abc import AsyncIterator, Sequence
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
ADMIN_URL = os.environ.get("HALI_TEST_POSTGRES_URL", "postgresql://postgres@127.0.0.1:5432/postgres")


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def start_fake(rate: int | None, *, paid: bool = False,
               extra: Sequence[str] = ()) -> tuple[subprocess.Popen[bytes], str]:
    """The fake Bot API in a process of its own, enforcing `rate` (on paid broadcasts with `paid`)."""
    port = free_port()
    command = [sys.executable, "-m", "hali_dev.botapi", "--port", str(port), "--no-keep-requests", *extra]
    if rate is not None:
        command += ["--paid-rate" if paid else "--global-rate", str(rate)]
    process = subprocess.Popen(command, cwd=ROOT, stdout=subprocess.PIPE)
    assert process.stdout is not None
    process.stdout.readline()  # "FakeBotAPI listening ..."
    return process, f"http://127.0.0.1:{port}"


def fake(url: str, action: str, body: Any = None, *, timeout: float = 120) -> Any:
    """Call one of the fake's /_fake/ endpoints (GET, or POST with a JSON body)."""
    data = None if body is None else json.dumps(body).encode()
    request = urllib.request.Request(f"{url}/_fake/{action}", data=data,
                                     headers={"Content-Type": "application/json"} if data else {})
    with urllib.request.urlopen(request, timeout=timeout) as response:
        return json.loads(response.read())["result"]


def stop(process: subprocess.Popen[Any], *, grace: float = 20.0) -> int:
    """SIGTERM, then SIGKILL after `grace` seconds; returns the exit status."""
    if process.poll() is None:
        process.send_signal(signal.SIGTERM)
        try:
            process.wait(grace)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()
    return int(process.returncode)


def percentile(values: Sequence[float], q: float) -> float:
    """Nearest-rank percentile of sorted values."""
    if not values:
        return float("nan")
    rank = max(1, -(-len(values) * q // 100))
    return values[int(rank) - 1]


async def _pg_admin(url: str, sql: str) -> None:
    import asyncpg

    conn = await asyncpg.connect(url, timeout=10)
    try:
        await conn.execute(sql)
    finally:
        await conn.close()


@asynccontextmanager
async def database(kind: str, workdir: Path, admin_url: str = ADMIN_URL) -> AsyncIterator[str]:
    """A SQLite file in `workdir`, or a fresh PostgreSQL database dropped afterwards."""
    if kind == "sqlite":
        yield f"sqlite+aiosqlite:///{workdir / 'hali.db'}"
        return
    name = f"hali_bench_{uuid.uuid4().hex[:10]}"
    await _pg_admin(admin_url, f'CREATE DATABASE "{name}"')
    try:
        base = admin_url.rsplit("/", 1)[0].split("://", 1)[1]
        yield f"postgresql+asyncpg://{base}/{name}"
    finally:
        await _pg_admin(admin_url, f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


def machine() -> str:
    import httpx
    import sqlalchemy
    import telegram

    model = ""
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                model = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    nproc = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count()
    try:
        commit = subprocess.run(["git", "describe", "--always", "--dirty"], cwd=ROOT, capture_output=True,
                                text=True, timeout=10).stdout.strip()
    except (OSError, subprocess.SubprocessError):
        commit = ""
    return (f"machine: nproc={nproc} {model or platform.machine()}, {platform.system()} {platform.release()}\n"
            f"python {platform.python_version()}, python-telegram-bot {telegram.__version__}, "
            f"SQLAlchemy {sqlalchemy.__version__}, httpx {httpx.__version__}; code at {commit or 'unknown'}")
