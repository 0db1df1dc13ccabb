"""Two `hali run` replicas behind a round-robin proxy: throughput, the cost of coherence, takeover.

On fresh PostgreSQL databases (127.0.0.1:5432, dropped afterwards), with the strict fake Bot API
(``hali_dev/botapi.py``) delivering every update to a webhook:

1. Answers. Two deployments run side by side, each with its own database, its own fake and its own
   proxy: *two replicas* (the proxy sends each POST to the next replica in turn) and *one replica
   alone* (the proxy pointing at it), the reference. Each replica is ``hali run`` in webhook mode
   (``python -m benchmarks.bots hali``: the same ``run_bot``, without the automatic checks, which would
   probe the real sites), with its own HALI_HTTP_PORT and HALI_SEND_RATE high (default 100000) so that
   Telegram's 30 messages a second does not cap what is measured. Each round pushes the same N status
   questions from many chats new to the bot to one deployment and then the other, alternating which
   goes first; the fake timestamps every reply. Printed: answers per second, latency p50/p99 (push to
   reply), how long a replica took to answer each webhook POST (timed at the proxy), the median over
   rounds, and the median of each round's two/one ratio; the CPU of every process meanwhile, and of
   the rest of the machine: two replicas can only go faster where there is a core to spare.
2. Coherence. ``benchmarks/chat_cache.py`` in a process of its own, its numbers repeated: a chat's
   read per update from coherent memory (the NOTIFY listener up) against no memory (every update
   reads its chat), and what a change's NOTIFY costs.
3. Takeover. On the two-replica deployment: ``kill -9`` the replica holding the most once-per-deployment
   leases (the ``leases`` table's holder column), then the time until the survivor holds every one of
   them (the table polled every 0.1 s), and a few questions pushed after the kill, all of which must be
   answered. Then a fresh replica joins, the survivor gets SIGTERM, and the same time is measured for
   a graceful stop. The proxy passes over a replica that refuses the connection, as a load balancer
   passes over one that fails its health check. The automatic checks' own lease (``checks``, 45 s,
   renewed every 15 s) is not among these: the replicas run without the checks.

    python benchmarks/replicas.py [--questions 600] [--rounds 3]

It prints numbers; it exits non-zero only when the benchmark itself cannot run.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import random
import re
import signal
import socket
import statistics
import subprocess
import sys
import time
from collections import Counter, defaultdict
from collections.abc import Callable, Sequence
from contextlib import AsyncExitStack
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))  # run as a script from anywhere

import aiohttp
from aiohttp import web
from sqlalchemy import select

from benchmarks.answer_throughput import (
    RUNNING,
    FakeProcess,
    Plan,
    Question,
    _machine_cpu,
    _postgres_cpu,
    _proc_cpu,
    _tail,
    as_updates,
    fake_api,
    hali_reply_key,
    match_replies,
    prepare_store,
    run_in_workdir,
    terminate,
)
from benchmarks.harness import ADMIN_URL, database, free_port, machine, percentile
from bot.store.models import LeaseRow
from bot.store.repo import Store
from bot.telegram.webhook import SECRET_HEADER

ROOT = Path(__file__).resolve().parent.parent
WEBHOOK_PATH = "/telegram/webhook"
SECRET = "replicas-benchmark-secret"
CONCURRENCY = 32  # what `hali run` uses


# --- the load balancer ----------------------------------------------------------------------------


class RoundRobin:
    """A tiny HTTP load balancer: each POST goes to the next backend in turn, as it came.

    A backend that refuses the connection (a replica killed) is passed over for the next one, as a
    load balancer passes over one that fails its health check; 502 when none answers.
    """

    def __init__(self) -> None:
        self.backends: list[str] = []
        self.forwarded: Counter[str] = Counter()
        self.passed_over = 0
        self.durations: list[float] = []  # seconds each forwarded POST took to be answered, in order
        self._turn = 0
        self._client: aiohttp.ClientSession | None = None
        self._runner: web.AppRunner | None = None
        self.url = ""

    async def start(self) -> None:
        self._client = aiohttp.ClientSession(timeout=aiohttp.ClientTimeout(total=30),
                                             connector=aiohttp.TCPConnector(limit=0))
        app = web.Application()
        app.router.add_post("/{path:.*}", self.handle)
        self._runner = web.AppRunner(app, access_log=None)
        await self._runner.setup()
        port = free_port()
        await web.TCPSite(self._runner, "127.0.0.1", port).start()
        self.url = f"http://127.0.0.1:{port}"

    async def handle(self, request: web.Request) -> web.Response:
        assert self._client is not None
        body = await request.read()
        headers = {name: value for name in (SECRET_HEADER, "Content-Type")
                   if (value := request.headers.get(name)) is not None}
        for _ in range(len(self.backends)):
            backend = self.backends[self._turn % len(self.backends)]
            self._turn += 1
            started = time.perf_counter()
            try:
                async with self._client.post(backend + request.path_qs, data=body, headers=headers) as response:
                    answer = await response.read()
                    self.forwarded[backend] += 1
                    self.durations.append(time.perf_counter() - started)
                    return web.Response(status=response.status, body=answer,
                                        content_type=response.content_type)
            except aiohttp.ClientConnectionError:
                self.passed_over += 1
        return web.Response(status=502)

    async def stop(self) -> None:
        if self._runner is not None:
            await self._runner.cleanup()
        if self._client is not None:
            await self._client.close()


# --- deployments ----------------------------------------------------------------------------------


@dataclass
class Replica:
    name: str
    process: asyncio.subprocess.Process
    url: str
    log_path: Path

    @property
    def holder_prefix(self) -> str:
        """How its leases name it (bot.services.check_runner.default_holder): host, then pid."""
        return f"{socket.gethostname()}:{self.process.pid}:"

    def cpu_seconds(self) -> float:
        try:
            return _proc_cpu(self.process.pid)
        except (OSError, IndexError):
            return 0.0  # gone


@dataclass
class Answers:
    """One round on one deployment."""

    latencies: list[float] = field(default_factory=list)  # seconds from the push, sorted
    missing: int = 0
    unmatched: int = 0
    cpu: list[float] = field(default_factory=list)  # seconds of CPU of each replica during the round
    fake_cpu: float = 0.0
    db_cpu: float = 0.0  # the PostgreSQL server's processes (every database)
    own_cpu: float = 0.0  # this process: the proxy, and the polling of the fake
    other_cpu: float = 0.0  # the rest of the machine meanwhile: other people's work, noise if not ~0
    busy_cpu: float = 0.0  # the whole machine
    posts: list[float] = field(default_factory=list)  # seconds a replica took to answer each webhook POST, sorted
    window: float = 0.0

    @property
    def rate(self) -> float:
        return len(self.latencies) / self.latencies[-1] if self.latencies else 0.0


@dataclass
class Deployment:
    name: str
    db_url: str
    fake: FakeProcess
    proxy: RoundRobin
    workdir: Path
    args: argparse.Namespace
    keys: dict[str, str]  # status question -> the refresh button its card carries
    replicas: list[Replica] = field(default_factory=list)
    rounds: list[Answers] = field(default_factory=list)
    next_message_id: int = 1
    sent_seen: int = 0
    started: int = 0

    async def add_replica(self) -> Replica:
        """One more `hali run` in webhook mode, behind the proxy once it answers."""
        self.started += 1
        name = f"{self.name}-{self.started}"
        port = free_port()
        log_path = self.workdir / f"replica-{name}.log"
        env = {**os.environ, "HALI_WEBHOOK_URL": self.proxy.url + WEBHOOK_PATH, "HALI_WEBHOOK_SECRET": SECRET,
               "HALI_HTTP_PORT": str(port), "HALI_HTTP_HOST": "127.0.0.1"}
        with log_path.open("wb") as log:
            process = await asyncio.create_subprocess_exec(
                sys.executable, "-m", "benchmarks.bots", "hali", "--api", self.fake.base_url, "--db", self.db_url,
                "--concurrency", str(CONCURRENCY), "--send-rate", str(self.args.send_rate),
                cwd=ROOT, env=env, stdout=log, stderr=subprocess.STDOUT, start_new_session=True)
        RUNNING.append(process)
        deadline = time.monotonic() + 120
        while b"Hali is answering" not in log_path.read_bytes():
            if process.returncode is not None or time.monotonic() > deadline:
                raise RuntimeError(f"replica {name} did not start:\n{_tail(log_path)}")
            await asyncio.sleep(0.1)
        replica = Replica(name, process, f"http://127.0.0.1:{port}", log_path)
        self.replicas.append(replica)
        self.proxy.backends.append(replica.url)
        return replica

    def questions(self, questions: Sequence[Question]) -> list[dict[str, Any]]:
        updates = as_updates(questions, self.next_message_id)
        self.next_message_id += len(questions)
        return updates

    async def new_sent(self) -> list[dict[str, Any]]:
        records: list[dict[str, Any]] = await self.fake._call(f"sent?after={self.sent_seen}")
        self.sent_seen += len(records)
        return records

    async def ask(self, questions: Sequence[Question], idle_timeout: float) -> Answers:
        """Push every question at once, wait for the replies, match each to a question of its chat."""
        await self.new_sent()  # whatever came before this round is not its business
        cpu_before = [r.cpu_seconds() for r in self.replicas]
        others_before = (self.fake.cpu_seconds(), _postgres_cpu(), time.process_time(), _machine_cpu()[0])
        posts_before = len(self.proxy.durations)
        sent_before = (await self.fake.stats())["by_method"].get("sendMessage", 0)
        pushed_at = time.time()
        await self.fake.push(self.questions(questions))
        seen, progress_at = 0, time.monotonic()
        while True:
            done = (await self.fake.stats())["by_method"].get("sendMessage", 0) - sent_before
            if done >= len(questions):
                break
            if done != seen:
                seen, progress_at = done, time.monotonic()
            elif time.monotonic() - progress_at > idle_timeout:
                break
            await asyncio.sleep(0.05)
        fake_cpu, db_cpu, own_cpu, busy = (after - before for after, before in zip(
            (self.fake.cpu_seconds(), _postgres_cpu(), time.process_time(), _machine_cpu()[0]), others_before,
            strict=True))
        result = Answers(window=time.time() - pushed_at, fake_cpu=fake_cpu, db_cpu=db_cpu, own_cpu=own_cpu,
                         posts=sorted(self.proxy.durations[posts_before:]),
                         cpu=[r.cpu_seconds() - before for r, before in zip(self.replicas, cpu_before, strict=True)])
        result.busy_cpu = busy
        result.other_cpu = max(0.0, busy - sum(result.cpu) - fake_cpu - db_cpu - own_cpu)
        result.latencies, result.unmatched, result.missing = match_replies(
            await self.new_sent(), questions, self.keys.__getitem__, hali_reply_key, pushed_at)
        return result

    async def stop_all(self) -> None:
        await asyncio.gather(*(terminate(r.process, grace=15) for r in self.replicas))

    def errors(self) -> int:
        """ERROR and CRITICAL lines in the replicas' logs."""
        total = 0
        for path in self.workdir.glob(f"replica-{self.name}-*.log"):
            with path.open("rb") as log:
                total += sum(1 for line in log if b" ERROR " in line or b" CRITICAL " in line)
        return total


async def deployment(stack: AsyncExitStack, name: str, args: argparse.Namespace, workdir: Path) -> Deployment:
    db_url = await stack.enter_async_context(database("postgres", workdir, args.pg_admin_url))
    plan = Plan(args, db_url, workdir)
    await prepare_store(plan)
    fake = await stack.enter_async_context(fake_api(workdir / f"fake-{name}.log"))
    proxy = RoundRobin()
    await proxy.start()
    stack.push_async_callback(proxy.stop)
    found = Deployment(name, db_url, fake, proxy, workdir, args, plan.keys)
    stack.push_async_callback(found.stop_all)
    return found


# --- 1. answers -----------------------------------------------------------------------------------


def questions_for(keys: dict[str, str], n: int, chats: int, first_chat: int, seed: int) -> list[Question]:
    """n status questions from `chats` chats new to the bot, in a shuffled burst; no chat asks about a
    service twice (Hali sends one card for a service asked about again while the first waits)."""
    rng = random.Random(seed)
    by_service: dict[str, list[str]] = defaultdict(list)
    for text, key in sorted(keys.items()):
        by_service[key].append(text)
    services = sorted(by_service)
    languages = [rng.choice((None, "en", "sw", "en-GB")) for _ in range(chats)]
    asked: dict[int, list[str]] = defaultdict(list)
    questions = []
    for i in range(n):
        chat = i % chats
        service = rng.choice([s for s in services if s not in asked[chat]] or services)
        asked[chat].append(service)
        questions.append(Question(first_chat + chat, rng.choice(by_service[service]), languages[chat]))
    rng.shuffle(questions)
    return questions


async def bench_answers(pair: Deployment, single: Deployment, args: argparse.Namespace) -> None:
    """Warm-up on both, then rounds of the same questions to each, alternating which goes first."""
    warmup = questions_for(pair.keys, args.warmup, min(args.chats, args.warmup), 2_000_000_000, args.seed)
    for dep in (pair, single):
        await dep.ask(warmup, args.idle_timeout)
    for r in range(args.rounds):
        questions = questions_for(pair.keys, args.questions, min(args.chats, args.questions),
                                  1_000_000_000 + r * 10_000_000, args.seed + 1 + r)
        for dep in (pair, single) if r % 2 == 0 else (single, pair):
            dep.rounds.append(await dep.ask(questions, args.idle_timeout))
        two, one = pair.rounds[-1], single.rounds[-1]
        print(f"round {r + 1} ({'two, one' if r % 2 == 0 else 'one, two'}): two replicas {two.rate:.0f}/s, "
              f"one replica {one.rate:.0f}/s, two/one {two.rate / one.rate if one.rate else float('nan'):.2f}; "
              f"p50 {ms(percentile(two.latencies, 50))} / {ms(percentile(one.latencies, 50))} ms; "
              f"p99 {ms(percentile(two.latencies, 99))} / {ms(percentile(one.latencies, 99))} ms", flush=True)


def ms(seconds: float) -> str:
    return f"{seconds * 1000:.0f}"


def median_of(rounds: Sequence[Answers], q: float) -> float:
    return statistics.median(percentile(r.latencies, q) for r in rounds)


def median_posts(rounds: Sequence[Answers], q: float) -> float:
    return statistics.median(percentile(r.posts, q) for r in rounds)


# --- 3. takeover ----------------------------------------------------------------------------------


@dataclass
class Takeover:
    how: str
    before: dict[str, int]  # replica -> once-per-deployment leases it held before the signal
    leases: int
    first: float | None = None  # seconds from the signal until a survivor held the first lease
    every: float | None = None  # ... until the survivor held every lease
    exited: float | None = None  # ... until the stopped replica's process was gone
    answers: Answers = field(default_factory=Answers)
    asked: int = 0


async def held_leases(store: Store) -> dict[str, str]:
    """Every once-per-deployment lease there is: its name, and its holder while the lease is alive."""
    now = store.clock()
    async with store.sessions() as session:
        rows = (await session.execute(select(LeaseRow.name, LeaseRow.holder, LeaseRow.expires_at)
                                      .where(LeaseRow.name.like("job:%")))).all()
    return {name: holder if expires > now else "" for name, holder, expires in rows}


async def settled_leases(store: Store, replicas: Sequence[Replica]) -> dict[str, str]:
    """Wait until every job's lease is held by one of `replicas` and the set has not changed for 2.5 s."""
    prefixes = tuple(r.holder_prefix for r in replicas)
    last: dict[str, str] = {}
    since = time.monotonic()
    deadline = since + 90
    while time.monotonic() < deadline:
        now = await held_leases(store)
        if now != last or not now or not all(h.startswith(prefixes) for h in now.values()):
            last, since = now, time.monotonic()
        elif time.monotonic() - since >= 2.5:
            return now
        await asyncio.sleep(0.1)
    raise RuntimeError(f"the job leases did not settle: {last}")


async def takeover(dep: Deployment, store: Store, how: str, args: argparse.Namespace, first_chat: int) -> Takeover:
    """Signal the replica holding the most job leases; time the survivor's takeover; ask meanwhile."""
    leases = await settled_leases(store, dep.replicas)
    counts = Counter(next(r.name for r in dep.replicas if h.startswith(r.holder_prefix)) for h in leases.values())
    victim = next(r for r in dep.replicas if r.name == counts.most_common(1)[0][0])
    survivors = [r for r in dep.replicas if r is not victim]
    prefixes = tuple(r.holder_prefix for r in survivors)
    result = Takeover(how, {r.name: counts.get(r.name, 0) for r in dep.replicas}, len(leases))
    questions = questions_for(dep.keys, args.after, args.after, first_chat, args.seed - 1)
    result.asked = len(questions)

    started = time.monotonic()
    os.kill(victim.process.pid, signal.SIGKILL if how == "kill -9" else signal.SIGTERM)
    asking = asyncio.create_task(dep.ask(questions, args.idle_timeout))

    async def exited() -> None:
        await victim.process.wait()
        result.exited = time.monotonic() - started

    waiting = asyncio.create_task(exited())
    deadline = started + 90
    while time.monotonic() < deadline:
        now = await held_leases(store)
        if result.first is None and any(now.get(name, "").startswith(prefixes) for name in leases):
            result.first = time.monotonic() - started
        if now.keys() >= leases.keys() and all(now[name].startswith(prefixes) for name in leases):
            result.every = time.monotonic() - started
            break
        await asyncio.sleep(0.1)
    result.answers = await asking
    await asyncio.wait_for(waiting, 30)
    dep.replicas.remove(victim)
    dep.proxy.backends.remove(victim.url)
    return result


# --- 2. coherence ---------------------------------------------------------------------------------


async def bench_coherence(args: argparse.Namespace) -> tuple[str, dict[str, float]]:
    """benchmarks/chat_cache.py in a process of its own: its output, and its numbers by label."""
    process = await asyncio.create_subprocess_exec(
        sys.executable, str(ROOT / "benchmarks" / "chat_cache.py"), "--chats", str(args.cache_chats),
        "--updates", str(args.cache_updates), "--changes", str(args.cache_changes),
        cwd=ROOT, stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.STDOUT,
        env={**os.environ, "HALI_TEST_POSTGRES_URL": args.pg_admin_url})
    RUNNING.append(process)
    out, _ = await process.communicate()
    text = out.decode(errors="replace")
    if process.returncode != 0:
        raise RuntimeError(f"benchmarks/chat_cache.py failed:\n{text}")
    lines = [line for line in text.splitlines() if not line.startswith(("machine:", "python "))]
    numbers: dict[str, float] = {}
    for line in lines:
        if match := re.match(r"\s+(.+?)\s+burst\s+(\d+):\s+([\d.]+) µs per update", line):
            numbers[f"{match.group(1)} / {match.group(2)}"] = float(match.group(3))
        elif match := re.match(r"\s+(with its NOTIFY|without NOTIFY \(incoherent\))\s+([\d.]+) µs per change", line):
            numbers[match.group(1)] = float(match.group(2))
        elif match := re.search(r"drops the chat: p50 ([\d.]+) ms, p99 ([\d.]+) ms", line):
            numbers["drop p50"], numbers["drop p99"] = float(match.group(1)), float(match.group(2))
    return "\n".join(lines).strip("\n"), numbers


# --- output ---------------------------------------------------------------------------------------


def cpu_row(label: str, two: Sequence[Answers], one: Sequence[Answers],
            cpu: Callable[[Answers], float]) -> tuple[str, str, str, str]:
    def share(rounds: Sequence[Answers]) -> str:
        return f"{statistics.median(100 * cpu(r) / r.window for r in rounds):.0f}"
    return label, share(two), share(one), ""


def summary(pair: Deployment, single: Deployment, coherence: dict[str, float], takeovers: Sequence[Takeover],
            args: argparse.Namespace) -> str:
    two, one = pair.rounds, single.rounds
    paired = sorted(t.rate / o.rate for t, o in zip(two, one, strict=True) if o.rate)
    rate_two, rate_one = (statistics.median(r.rate for r in rs) for rs in (two, one))
    rows = [
        ("answers per second (median)", f"{rate_two:.0f}", f"{rate_one:.0f}",
         f"{statistics.median(paired):.2f}" if paired else "-"),
        ("latency p50 (ms, median)", ms(median_of(two, 50)), ms(median_of(one, 50)),
         f"{median_of(two, 50) / median_of(one, 50):.2f}"),
        ("latency p99 (ms, median)", ms(median_of(two, 99)), ms(median_of(one, 99)),
         f"{median_of(two, 99) / median_of(one, 99):.2f}"),
        ("a webhook POST answered in, p50 (ms)", ms(median_posts(two, 50)), ms(median_posts(one, 50)),
         f"{median_posts(two, 50) / median_posts(one, 50):.2f}"),
        ("a webhook POST answered in, p99 (ms)", ms(median_posts(two, 99)), ms(median_posts(one, 99)),
         f"{median_posts(two, 99) / median_posts(one, 99):.2f}"),
        cpu_row("replicas' CPU (% of a core, median)", two, one, lambda r: sum(r.cpu)),
        cpu_row("fake Bot API CPU (% of a core)", two, one, lambda r: r.fake_cpu),
        cpu_row("PostgreSQL CPU (% of a core)", two, one, lambda r: r.db_cpu),
        cpu_row("proxy + this script CPU (% of a core)", two, one, lambda r: r.own_cpu),
        cpu_row("other processes (% of a core)", two, one, lambda r: r.other_cpu),
        cpu_row(f"the whole machine (% of a core; {len(os.sched_getaffinity(0))} cores)", two, one,
                lambda r: r.busy_cpu),
        ("never answered / unmatched (all rounds)", f"{sum(r.missing for r in two)} / {sum(r.unmatched for r in two)}",
         f"{sum(r.missing for r in one)} / {sum(r.unmatched for r in one)}", ""),
    ]
    lines = [f"\n== summary ({args.rounds} rounds of {args.questions} status questions; HALI_SEND_RATE "
             f"{args.send_rate:g}, so Telegram's 30/s does not cap these numbers)",
             f"{'':<42}{'two replicas':>14}{'one replica':>13}{'two/one':>9}"]
    lines += [f"{label:<42}{a:>14}{b:>13}{c:>9}" for label, a, b, c in rows]
    if paired:
        lines.append(f"{'two/one answers per second, by round':<42}{'':>14}{'':>13}{'':>9} "
                     f"lowest {paired[0]:.2f}, highest {paired[-1]:.2f}")
    shares = [statistics.median(r.cpu[i] / max(1e-9, sum(r.cpu)) for r in two) for i in range(2)]
    lines.append(f"work split between the two replicas (CPU):  {shares[0]:.0%} / {shares[1]:.0%}")

    lines.append("\ncoherence, per update (one Store.chat, PostgreSQL):")
    for burst in (1, args.cache_burst):
        memory = coherence.get(f"memory, listening (coherent) / {burst}")
        none = coherence.get(f"no memory: every update reads its chat / {burst}")
        if memory is not None and none is not None:
            lines.append(f"  burst {burst:>3}: coherent memory {memory:.0f} µs, no memory {none:.0f} µs "
                         f"(memory saves {none - memory:.0f} µs per update)")
    with_notify, without = coherence.get("with its NOTIFY"), coherence.get("without NOTIFY (incoherent)")
    if with_notify is not None and without is not None:
        lines.append(f"  a change's NOTIFY: {with_notify - without:+.0f} µs per change "
                     f"({with_notify:.0f} against {without:.0f} µs); the other replica drops the chat "
                     f"p50 {coherence.get('drop p50', float('nan')):.2f} ms, "
                     f"p99 {coherence.get('drop p99', float('nan')):.2f} ms after the commit")

    lines.append("\ntakeover of the once-per-deployment jobs (lease 30 s, renewed every 10 s, tried every 2 s; "
                 "the checks' lease not included):")
    for t in takeovers:
        a = t.answers
        held = ", ".join(f"{name} {n}" for name, n in t.before.items())
        every = f"{t.every:.1f} s" if t.every is not None else "not within 90 s"
        first = f"{t.first:.1f} s" if t.first is not None else "-"
        gone = f"{t.exited:.1f} s" if t.exited is not None else "-"
        lines.append(f"  {t.how:<8} the holder ({held} of {t.leases} leases): the survivor held every lease "
                     f"after {every} (the first after {first}); the process gone after {gone}")
        lines.append(f"  {'':<8} asked meanwhile: {len(a.latencies)} of {t.asked} answered "
                     f"(p50 {ms(percentile(a.latencies, 50))} ms, max "
                     f"{ms(a.latencies[-1]) if a.latencies else '-'} ms), never answered {a.missing}")
    lines.append(f"\nproxy: the two-replica proxy passed over a refused connection {pair.proxy.passed_over} times; "
                 f"ERROR lines in the replicas' logs: two replicas {pair.errors()}, one replica {single.errors()}")
    return "\n".join(lines)


# --- main -----------------------------------------------------------------------------------------


def parse_args(argv: Sequence[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n", 1)[0] if __doc__ else None)
    parser.add_argument("--questions", type=int, default=600, help="status questions in each measured round")
    parser.add_argument("--rounds", type=int, default=3, help="measured rounds on each deployment")
    parser.add_argument("--chats", type=int, default=None,
                        help="distinct chats asking a round's questions (default: one question each)")
    parser.add_argument("--warmup", type=int, default=150, help="questions in the unmeasured first round")
    parser.add_argument("--after", type=int, default=20, help="questions pushed at each takeover")
    parser.add_argument("--send-rate", type=float, default=100_000.0, help="HALI_SEND_RATE of every replica")
    parser.add_argument("--idle-timeout", type=float, default=15.0,
                        help="seconds without a new reply before the rest count as never answered")
    parser.add_argument("--cache-chats", type=int, default=200, help="benchmarks/chat_cache.py --chats")
    parser.add_argument("--cache-updates", type=int, default=1000, help="benchmarks/chat_cache.py --updates")
    parser.add_argument("--cache-changes", type=int, default=100, help="benchmarks/chat_cache.py --changes")
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--pg-admin-url", default=ADMIN_URL, help="where the databases are created")
    args = parser.parse_args(argv)
    args.cache_burst = 32  # chat_cache.py's default --burst
    if args.chats is None:
        args.chats = max(args.questions, args.warmup)
    for name in ("questions", "rounds", "chats", "warmup", "after"):
        if getattr(args, name) < 1:
            parser.error(f"--{name} must be at least 1")
    return args


async def run(args: argparse.Namespace, workdir: Path) -> None:
    began = time.monotonic()
    print(machine())
    print(f"load average at the start: {' '.join(f'{v:.2f}' for v in os.getloadavg())}")
    print(f"parameters: --questions {args.questions} --rounds {args.rounds} --chats {args.chats} "
          f"--warmup {args.warmup} --after {args.after} --send-rate {args.send_rate:g} --seed {args.seed}")
    print(f"every replica: hali run in webhook mode (benchmarks.bots hali: no automatic checks), its own "
          f"HALI_HTTP_PORT, concurrency {CONCURRENCY}, HALI_SEND_RATE {args.send_rate:g} (far above Telegram's "
          f"30/s, so the send budget does not cap the numbers); the fake Bot API (no rate limit) posts every "
          f"update to a round-robin proxy in this process\n", flush=True)
    takeovers: list[Takeover] = []
    async with AsyncExitStack() as stack:
        pair = await deployment(stack, "two", args, workdir)
        single = await deployment(stack, "one", args, workdir)
        await asyncio.gather(pair.add_replica(), pair.add_replica(), single.add_replica())
        print("== 1. answers: two replicas behind the proxy against one replica alone (latency = push to "
              "the reply's timestamp at the fake)", flush=True)
        await bench_answers(pair, single, args)
        print("\n== 3. takeover on the two-replica deployment", flush=True)
        store = Store.from_url(pair.db_url)
        stack.push_async_callback(store.close)
        for how, first_chat in (("kill -9", 1_900_000_000), ("SIGTERM", 1_950_000_000)):
            if how == "SIGTERM":
                await pair.add_replica()  # the killed one's replacement, so that the survivor can be stopped
            t = await takeover(pair, store, how, args, first_chat)
            takeovers.append(t)
            print(f"{how}: every lease with the survivor after "
                  f"{f'{t.every:.1f} s' if t.every is not None else 'more than 90 s'}; "
                  f"{len(t.answers.latencies)} of {t.asked} questions asked meanwhile answered", flush=True)
    print("\n== 2. coherence: benchmarks/chat_cache.py (two Stores in one process, a fresh database)", flush=True)
    text, coherence = await bench_coherence(args)
    print(text)
    print(summary(pair, single, coherence, takeovers, args))
    print(f"\nthe whole run: {time.monotonic() - began:.0f} s")


def main(argv: Sequence[str] | None = None) -> int:
    args = parse_args(argv)
    return run_in_workdir(lambda workdir: run(args, workdir), "hali-replicas-")


if __name__ == "__main__":
    raise SystemExit(main())
