"""How fast Hali answers status questions over Telegram, next to a bare python-telegram-bot echo bot.

What is measured:

1. Hali's bot in a process of its own, started as ``hali run`` starts it (``run_bot``: the store made
   ready, the report store, the status board with every source and a 2 s cache, the application with
   its default concurrency, its post_init with the alert notifier, long polling, logging as the CLI
   sets it up), but without the automatic-check runner, which would probe the real sites. It polls
   the strict fake Bot API (``hali_dev/botapi.py``), itself a separate process; two incidents are
   open.
2. A bare PTB echo bot (same concurrency, same fake settings), a process of its own, on a second fake.
3. For reference, a bare PTB bot that answers every question with one fixed Hali status card (HTML,
   three buttons) and does nothing else, on a third fake: what sending a card costs by itself.
4. For reference, the echo bot again, but sending through Hali's transport (``bot/telegram/transport.py``)
   rather than PTB's HTTPX default, on a fourth fake: hali/echo is what a citizen's deployment gets
   against a bare PTB bot; hali/echo2 is what Hali's own work costs, the transport set aside.
   The bots are started by ``benchmarks/bots.py``.

   All are warmed up with a round that is not counted. Then each measured round pushes N status
   questions (English, Swahili, Sheng, different services) from many chats new to the bots in one
   batch, to one bot after the other, the same questions to each; rounds rotate which bot goes
   first. From the push to each reply, as timestamped by the fake: replies per second and latency
   p50/p99/max per message, the median over rounds printed side by side, then the median of each
   round's own hali/echo ratio (they ran back to back, in the same machine weather), then the
   reference bots' figures. Each reply is matched to a question of its chat (Hali and the card bot: the card's
   refresh button names the service; echo: the same text); replies that never came, replies that
   match nothing and errors (the fake's, and ERROR lines in the bot's log) are counted. The CPU
   used meanwhile by the bot's process, the fake, PostgreSQL and the rest of the machine is printed
   too: rounds run while other processes were busy are slower and noisier.
5. ``engine.answer`` alone, in process (``hali ask`` without the process start-up, on the bot's
   board with its 2 s cache): mean, p50, p99 and max over varied messages (services, languages,
   typos, long messages).

Run from the repository root:

    python benchmarks/answer_throughput.py
    python benchmarks/answer_throughput.py --db postgres   # fresh database on 127.0.0.1:5432, dropped after

It prints numbers; it exits non-zero only when the benchmark itself cannot run.
"""

from __future__ import annotations

import argparse
import asyncio
import inspect
import json
import logging
import os
import random
import re
import signal
import statistics
import subprocess
import sys
import tempfile
import time
from collections import defaultdict
from collections.abc import AsyncIterator, Callable, Coroutine, Sequence
from contextlib import AbstractAsyncContextManager, AsyncExitStack, asynccontextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))  # run as a script from anywhere

import aiohttp

from benchmarks.harness import database, machine, percentile
from bot.app import assemble, ensure_ready
from bot.catalog.model import Text
from bot.config import Settings
from bot.core.status import State
from bot.i18n import load_translators
from bot.services.answers import Engine
from bot.store.repo import Store
from bot.telegram.app import telegram_front

ROOT = Path(__file__).resolve().parent.parent
DEFAULT_CONCURRENCY: int = inspect.signature(telegram_front).parameters["concurrency"].default
PG_ADMIN_URL = "postgresql://postgres@127.0.0.1:5432/postgres"

# How people name the services, and how they ask whether one works.
SERVICE_NAMES: dict[str, tuple[str, ...]] = {
    "ecitizen": ("eCitizen", "ecitizen", "e-citizen", "E-Citizen"),
    "kra": ("KRA", "iTax", "itax", "kra itax"),
    "ntsa": ("NTSA", "ntsa", "ntsa tims"),
    "sha": ("SHA", "NHIF", "sha"),
    "nssf": ("NSSF", "nssf portal"),
    "helb": ("HELB", "helb portal"),
    "kuccps": ("KUCCPS", "kuccps site"),
    "brs": ("BRS", "brs"),
    "ardhisasa": ("Ardhisasa", "ardhisasa"),
    "immigration": ("the passport portal", "eVisa"),
    "good-conduct": ("good conduct",),
    "kplc": ("KPLC", "kplc tokens"),
    "mpesa": ("M-Pesa", "mpesa"),
    "iebc": ("IEBC",),
}
STATUS_TEMPLATES: tuple[str, ...] = (
    "is {s} down?",
    "Is {s} working?",
    "is {s} down right now",
    "Is {s} working today",
    "{s} inafanya kazi?",
    "{s} iko on?",
    "{s} iko down?",
    "{s} iko sawa?",
    "Kwani {s} imekufa tena?",
    "{s} haifanyi kazi leo?",
    "{s} iko on saa hii?",
    "hii {s} inawork?",
)
OTHER_TEMPLATES: tuple[str, ...] = (
    "Nawezaje kulipa {s} kama ecitizen iko down?",
    "how else can I pay {s}?",
    "{s} inarudisha error",
    "Paid on {s} but nothing happened",
    "Sipati OTP ya {s}",
    "{s} portal inaload tu haifunguki",
)
FREE_TEXTS: tuple[str, ...] = (
    "Niaje", "hello", "help", "Habari, unasaidia na nini?", "is anything down?", "system iko down?",
    "Futa data yangu", "asdf qwerty", "😀😀😀", "12345", "what is the capital of France?",
    "Page iko blank tu", "Where can I get help in person?", "Acha kunitumia messages",
)
FILLER = (
    "Nimejaribu tangu asubuhi na bado inakataa, nimeenda cyber mara mbili na wao pia hawawezi. "
    "I have tried from two phones and the office computer and the page just keeps loading. "
)


# --- results ------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Question:
    chat_id: int
    text: str
    language_code: str | None


@dataclass
class RoundResult:
    latencies: list[float] = field(default_factory=list)  # seconds from the push, matched replies, sorted
    missing: int = 0
    unmatched: int = 0
    errors: int = 0
    push_seconds: float = 0.0
    bot_cpu: float = 0.0  # seconds of CPU of the bot's process during the round
    fake_cpu: float = 0.0
    db_cpu: float = 0.0  # seconds of CPU of the PostgreSQL server processes
    other_cpu: float = 0.0  # seconds of CPU the rest of the machine used meanwhile (noise, if not ~0)
    steal: float = 0.0  # seconds the hypervisor gave to other guests
    window: float = 0.0  # seconds from the push until the end of the round was noticed

    @property
    def rate(self) -> float:
        return len(self.latencies) / self.latencies[-1] if self.latencies else 0.0

    @property
    def cpu_per_reply(self) -> float:
        return self.bot_cpu / max(1, len(self.latencies))


# --- the fake Bot API in its own process ---------------------------------------------------------


class FakeProcess:
    def __init__(self, log_path: Path) -> None:
        self.log_path = log_path
        self.process: asyncio.subprocess.Process | None = None
        self.base_url = ""
        self.root = ""
        # aiohttp: the control calls should cost little, and stay out of the bots' own HTTP stack.
        self.client: aiohttp.ClientSession | None = None

    async def start(self) -> None:
        self.client = aiohttp.ClientSession(timeout=aiohttp.ClientTimeout(total=60))
        with self.log_path.open("wb") as log:
            self.process = await asyncio.create_subprocess_exec(
                sys.executable, "-m", "hali_dev.botapi", "--port", "0", "--no-keep-requests",
                cwd=ROOT, stdout=asyncio.subprocess.PIPE, stderr=log,
                # Its own session: Ctrl-C reaches only this script, which then stops the fake itself.
                start_new_session=True,
            )
        RUNNING.append(self.process)
        assert self.process.stdout is not None
        try:
            line = await asyncio.wait_for(self.process.stdout.readline(), 20)
        except TimeoutError:
            raise RuntimeError(f"the fake Bot API did not start; see {self.log_path}") from None
        match = re.search(r"base_url=(http://\S+?)/bot\b", line.decode())
        if match is None:
            raise RuntimeError(f"the fake Bot API did not start: {line!r}; {_tail(self.log_path)}")
        self.root = match.group(1)
        self.base_url = f"{self.root}/bot"
        for _ in range(200):
            try:
                await self.stats()
                return
            except aiohttp.ClientError:
                await asyncio.sleep(0.05)
        raise RuntimeError(f"the fake Bot API at {self.root} does not answer")

    async def _call(self, action: str, body: Any = None) -> Any:
        assert self.client is not None
        method = "GET" if body is None else "POST"
        async with self.client.request(method, f"{self.root}/_fake/{action}", json=body) as response:
            response.raise_for_status()
            return (await response.json())["result"]

    async def stats(self) -> dict[str, Any]:
        result: dict[str, Any] = await self._call("stats")
        return result

    async def sent(self) -> list[dict[str, Any]]:
        result: list[dict[str, Any]] = await self._call("sent")
        return result

    async def push(self, updates: list[dict[str, Any]]) -> None:
        await self._call("updates", updates)

    def cpu_seconds(self) -> float:
        assert self.process is not None
        return _proc_cpu(self.process.pid)

    async def stop(self) -> None:
        if self.client is not None:
            await self.client.close()
        if self.process is not None:
            await terminate(self.process, grace=5)


async def terminate(process: asyncio.subprocess.Process, *, grace: float) -> None:
    """SIGTERM, then SIGKILL if the process is still there after `grace` seconds."""
    if process.returncode is not None:
        return
    process.terminate()
    try:
        await asyncio.wait_for(process.wait(), grace)
    except TimeoutError:
        process.kill()
        await process.wait()


RUNNING: list[asyncio.subprocess.Process] = []  # killed on the way out if still alive


def _proc_cpu(pid: int) -> float:
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def _machine_cpu() -> tuple[float, float]:
    """Busy and stolen CPU seconds of the whole machine since boot."""
    fields = [int(v) for v in Path("/proc/stat").read_text().split("\n", 1)[0].split()[1:9]]
    user, nice, system, _idle, _iowait, irq, softirq, steal = fields
    tick = os.sysconf("SC_CLK_TCK")
    return (user + nice + system + irq + softirq) / tick, steal / tick


def _postgres_cpu() -> float:
    total = 0.0
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            text = stat.read_text()
        except OSError:
            continue  # the process ended meanwhile
        if text.split(" ", 2)[1] == "(postgres)":
            fields = text.rsplit(")", 1)[1].split()
            total += int(fields[11]) + int(fields[12])
    return total / os.sysconf("SC_CLK_TCK")


def _tail(path: Path, lines: int = 15) -> str:
    try:
        return "\n".join(path.read_text(errors="replace").splitlines()[-lines:])
    except OSError:
        return ""


@asynccontextmanager
async def fake_api(log_path: Path) -> AsyncIterator[FakeProcess]:
    fake = FakeProcess(log_path)
    try:
        await fake.start()
        yield fake
    finally:
        await fake.stop()


# --- questions ------------------------------------------------------------------------------------


def status_questions() -> list[str]:
    return [t.format(s=name) for t in STATUS_TEMPLATES for names in SERVICE_NAMES.values() for name in names]


async def hali_keys(engine: Engine, texts: Sequence[str]) -> dict[str, str]:
    """The refresh button each question's card carries; questions that get no card are left out."""
    keys: dict[str, str] = {}
    for text in texts:
        answer = await engine.answer(text)
        data = [b.data for row in answer.reply.buttons for b in row if b.data and b.data.startswith("r:")]
        if data:
            keys[text] = data[0]
    return keys


def make_round(rng: random.Random, texts: Sequence[str], n: int, users: int, first_chat: int) -> list[Question]:
    """n questions from `users` chats, each chat asking about n/users of them, in a shuffled burst."""
    languages = [rng.choice((None, "en", "sw", "en-GB")) for _ in range(users)]
    chats = [i % users for i in range(n)]
    rng.shuffle(chats)
    return [Question(first_chat + c, rng.choice(texts), languages[c]) for c in chats]


def as_updates(questions: Sequence[Question], first_message_id: int) -> list[dict[str, Any]]:
    now = int(time.time())
    updates = []
    for i, q in enumerate(questions):
        user: dict[str, Any] = {"id": q.chat_id, "is_bot": False, "first_name": "Amina"}
        if q.language_code:
            user["language_code"] = q.language_code
        updates.append({"message": {
            "message_id": first_message_id + i,
            "from": user,
            "chat": {"id": q.chat_id, "type": "private", "first_name": "Amina"},
            "date": now,
            "text": q.text,
        }})
    return updates


def match_replies(records: Sequence[dict[str, Any]], questions: Sequence[Question],
                  expected_key: Callable[[str], str], reply_key: Callable[[dict[str, Any]], str],
                  pushed_at: float) -> tuple[list[float], int, int]:
    """Pair each chat's sent replies with the answers its questions expect.

    Returns the matched replies' latencies from the push (sorted), the replies that answered nothing
    asked, and the questions left without their answer.
    """
    expected: dict[int, list[str]] = defaultdict(list)
    for q in questions:
        expected[q.chat_id].append(expected_key(q.text))
    latencies: list[float] = []
    unmatched = 0
    for record in records:
        waiting = expected.get(record["chat_id"])
        if record["method"] != "sendMessage" or waiting is None:
            continue
        key = reply_key(record)
        if key in waiting:
            waiting.remove(key)
            latencies.append(record["timestamp"] - pushed_at)
        else:
            unmatched += 1
    latencies.sort()
    return latencies, unmatched, sum(len(keys) for keys in expected.values())


def hali_reply_key(record: dict[str, Any]) -> str:
    markup = record.get("reply_markup") or {}
    for row in markup.get("inline_keyboard", []):
        for button in row:
            data = button.get("callback_data") or ""
            if data.startswith("r:"):
                return str(data)
    return ""


def echo_reply_key(record: dict[str, Any]) -> str:
    return str(record.get("text") or "")


def engine_messages(rng: random.Random, n: int) -> list[str]:
    names = [name for names in SERVICE_NAMES.values() for name in names]

    def typo(word: str) -> str:
        if len(word) < 4:
            return word
        i = rng.randrange(1, len(word) - 1)
        return rng.choice((word[:i] + word[i + 1:], word[:i] + word[i] + word[i:],
                           word[:i - 1] + word[i] + word[i - 1] + word[i + 1:]))

    messages = []
    for _ in range(n):
        kind = rng.random()
        name = rng.choice(names)
        if kind < 0.45:
            text = rng.choice(STATUS_TEMPLATES).format(s=name)
        elif kind < 0.6:
            text = rng.choice(STATUS_TEMPLATES).format(s=typo(name))
        elif kind < 0.75:
            text = rng.choice(OTHER_TEMPLATES).format(s=name)
        elif kind < 0.88:
            text = rng.choice(FREE_TEXTS)
        else:
            body = FILLER * rng.randint(2, 25)
            question = rng.choice(STATUS_TEMPLATES).format(s=name)
            text = f"{question} {body}" if rng.random() < 0.5 else f"{body}{question}"
        suffix = rng.choice(("", "", " leo", " please", "??", " sasa hivi", " 🙏"))
        text = text + suffix
        messages.append(text.upper() if rng.random() < 0.05 else text)
    return messages


# --- the bots -------------------------------------------------------------------------------------


@dataclass
class RunningBot:
    name: str
    fake: FakeProcess
    process: asyncio.subprocess.Process
    log_path: Path
    expected_key: Callable[[str], str]  # question text -> what its reply must carry
    reply_key: Callable[[dict[str, Any]], str]  # sent record -> what it carries
    rounds: list[RoundResult] = field(default_factory=list)
    next_message_id: int = 1

    def cpu_seconds(self) -> float:
        return _proc_cpu(self.process.pid)

    def logged_errors(self) -> int:
        """ERROR and CRITICAL lines in the bot's log: PTB and Hali's error handler log every failed update."""
        with self.log_path.open("rb") as log:
            return sum(1 for line in log if b" ERROR " in line or b" CRITICAL " in line)

    async def round(self, questions: list[Question], idle_timeout: float) -> RoundResult:
        """Push every question at once, wait for the replies, match them to their questions."""
        fake = self.fake
        updates = as_updates(questions, self.next_message_id)
        self.next_message_id += len(questions)
        before = await fake.stats()
        sent_before = before["by_method"].get("sendMessage", 0)
        fake_errors_before, log_errors_before = before["errors"], self.logged_errors()
        db_cpu_before = _postgres_cpu()
        cpu_before, fake_cpu_before, machine_before = self.cpu_seconds(), fake.cpu_seconds(), _machine_cpu()

        pushed_at = time.time()
        await fake.push(updates)
        push_seconds = time.time() - pushed_at

        # The fake timestamps every reply, so this loop only has to notice the end, not time it.
        seen, progress_at = 0, time.monotonic()
        while True:
            stats = await fake.stats()
            done = stats["by_method"].get("sendMessage", 0) - sent_before
            if done >= len(questions):
                break
            if done != seen:
                seen, progress_at = done, time.monotonic()
            elif time.monotonic() - progress_at > idle_timeout or self.process.returncode is not None:
                break
            await asyncio.sleep(0.05)
        window = time.time() - pushed_at
        bot_cpu, fake_cpu = self.cpu_seconds() - cpu_before, fake.cpu_seconds() - fake_cpu_before
        busy, steal = (after - before for after, before in zip(_machine_cpu(), machine_before, strict=True))
        db_cpu = _postgres_cpu() - db_cpu_before

        result = RoundResult(push_seconds=push_seconds, bot_cpu=bot_cpu, fake_cpu=fake_cpu,
                             db_cpu=db_cpu, other_cpu=max(0.0, busy - bot_cpu - fake_cpu - db_cpu), steal=steal,
                             window=window)
        result.latencies, result.unmatched, result.missing = match_replies(
            await fake.sent(), questions, self.expected_key, self.reply_key, pushed_at)
        result.errors = (stats["errors"] - fake_errors_before) + (self.logged_errors() - log_errors_before)
        return result


@dataclass
class Plan:
    args: argparse.Namespace
    db_url: str
    workdir: Path
    keys: dict[str, str] = field(default_factory=dict)  # status question -> its card's refresh button

    @property
    def texts(self) -> list[str]:
        return sorted(self.keys)


async def prepare_store(plan: Plan) -> None:
    """Schema, catalogue and two open incidents, so that some cards have an operator's content."""
    store = Store.from_url(plan.db_url)
    try:
        await ensure_ready(store)
        await store.open_incident(
            "ecitizen", State.MAJOR_OUTAGE,
            Text("Payments are failing", "Malipo hayapiti"), actor="benchmark",
            message=Text("M-Pesa payments are not confirmed; the team is working on it.",
                         "Malipo ya M-Pesa hayathibitishwi; timu inashughulikia."),
            workaround=Text("Do not pay twice; wait for the SMS.", "Usilipe mara mbili; subiri SMS."),
        )
        await store.open_incident(
            "kra", State.DEGRADED, Text("iTax is slow", "iTax iko polepole"), actor="benchmark",
            message=Text("Filing takes longer than usual.", "Kuwasilisha kunachukua muda zaidi."),
        )
        engine = assemble(Settings(), store, cache_seconds=60).engine
        plan.keys = await hali_keys(engine, status_questions())
    finally:
        await store.close()
    if not plan.keys:
        raise RuntimeError("no question got a status card; the question bank no longer fits the bot")


@asynccontextmanager
async def running(plan: Plan, name: str, bot: str, expected_key: Callable[[str], str],
                  reply_key: Callable[[dict[str, Any]], str], *options: str) -> AsyncIterator[RunningBot]:
    """`python -m benchmarks.bots BOT` on a fake of its own, until it polls; stopped with SIGTERM."""
    async with fake_api(plan.workdir / f"fake-{name}.log") as fake:
        log_path = plan.workdir / f"bot-{name}.log"
        with log_path.open("wb") as log:
            process = await asyncio.create_subprocess_exec(
                sys.executable, "-m", "benchmarks.bots", bot, "--api", fake.base_url,
                "--concurrency", str(plan.args.concurrency), *options,
                cwd=ROOT, stdout=log, stderr=subprocess.STDOUT, start_new_session=True,
            )
        RUNNING.append(process)
        try:
            deadline = time.monotonic() + 120
            while (await fake.stats())["by_method"].get("getUpdates", 0) == 0:
                if process.returncode is not None or time.monotonic() > deadline:
                    raise RuntimeError(f"the {name} bot did not start polling:\n{_tail(log_path)}")
                await asyncio.sleep(0.1)
            yield RunningBot(name, fake, process, log_path, expected_key, reply_key)
        finally:
            await terminate(process, grace=15)


def running_hali(plan: Plan) -> AbstractAsyncContextManager[RunningBot]:
    return running(plan, "hali", "hali", plan.keys.__getitem__, hali_reply_key, "--db", plan.db_url)


def running_echo(plan: Plan) -> AbstractAsyncContextManager[RunningBot]:
    return running(plan, "echo", "echo", lambda text: text, echo_reply_key)


def running_echo_on_hali_transport(plan: Plan) -> AbstractAsyncContextManager[RunningBot]:
    """The echo bot, sending through Hali's transport instead of PTB's: what Hali's own work costs."""
    return running(plan, "echo-hali-transport", "echo", lambda text: text, echo_reply_key, "--transport", "hali")


@asynccontextmanager
async def running_card(plan: Plan) -> AsyncIterator[RunningBot]:
    """A bare PTB bot that answers every question with the same status card: what the reply alone costs.

    The card is one of Hali's own (HTML, three buttons), rendered once; the bot does nothing else.
    """
    text = plan.texts[0]
    store = Store.from_url(plan.db_url)
    try:
        card = (await assemble(Settings(), store, cache_seconds=60).engine.answer(text)).reply
    finally:
        await store.close()
    path = plan.workdir / "card.json"
    path.write_text(json.dumps({"html": card.html, "keyboard": [
        [{"text": b.text, "callback_data": b.data} if b.data else {"text": b.text, "url": b.url} for b in row]
        for row in card.buttons
    ]}))
    key = plan.keys[text]
    async with running(plan, "card", "card", lambda _: key, hali_reply_key, "--card", str(path)) as bot:
        yield bot


async def bench_bots(plan: Plan) -> list[RunningBot]:
    """The bots run side by side, each on its own fake; only one is asked at a time.

    Hali, the echo bot, the card bot, the echo bot on Hali's transport. Rounds rotate which bot goes
    first (hali-echo-card-echo2, echo-card-echo2-hali, ...), so that a machine that gets slower or
    faster over the run does not favour one. Every round asks chats the bots have not seen before, so
    every round is the same work.
    """
    a = plan.args
    async with AsyncExitStack() as stack:
        bots = [await stack.enter_async_context(start(plan))
                for start in (running_hali, running_echo, running_card, running_echo_on_hali_transport)]
        warmup = make_round(random.Random(a.seed), plan.texts, a.warmup, min(a.users, a.warmup), 2_000_000_000)
        for bot in bots:
            await bot.round(warmup, a.idle_timeout)
        for r in range(a.rounds):
            questions = make_round(random.Random(a.seed + 1 + r), plan.texts, a.n, a.users,
                                   1_000_000_000 + r * 10_000_000)
            turn = r % len(bots)
            for bot in bots[turn:] + bots[:turn]:
                bot.rounds.append(await bot.round(questions, a.idle_timeout))
    return bots


@dataclass
class EngineResult:
    timings: list[float]  # seconds, sorted
    distinct: int


async def bench_engine(plan: Plan) -> EngineResult:
    rng = random.Random(plan.args.seed)
    messages = engine_messages(rng, plan.args.engine_n)
    warmup = engine_messages(rng, min(500, plan.args.engine_n))
    store = Store.from_url(plan.db_url)
    try:
        await ensure_ready(store)
        engine = assemble(Settings(), store).engine
        for text in warmup:
            await engine.answer(text)
        timings = []
        clock = time.perf_counter
        for text in messages:
            started = clock()
            await engine.answer(text)
            timings.append(clock() - started)
    finally:
        await store.close()
    timings.sort()
    return EngineResult(timings, len(set(messages)))


# --- database -------------------------------------------------------------------------------------


# --- output ---------------------------------------------------------------------------------------


def report_bots(bots: Sequence[RunningBot], *, postgres: bool) -> str:
    hali, echo, card, echo2 = bots
    def ms(value: float) -> str:
        return f"{value * 1000:.1f}"

    def ratio(a: float, b: float) -> str:
        return f"{a / b:.2f}" if b else "-"

    lines = []
    names = ["hali", "echo", "card", "echo2"]
    for n, (hr, er, cr, e2) in enumerate(zip(*(bot.rounds for bot in bots), strict=True), 1):
        turn = (n - 1) % len(names)
        lines.append(f"round {n} ({', '.join(names[turn:] + names[:turn])}): hali {hr.rate:.0f}/s, "
                     f"echo {er.rate:.0f}/s, card {cr.rate:.0f}/s, echo2 {e2.rate:.0f}/s, "
                     f"hali/echo {ratio(hr.rate, er.rate)}; "
                     f"p50 {ms(percentile(hr.latencies, 50))} / {ms(percentile(er.latencies, 50))} ms; "
                     f"p99 {ms(percentile(hr.latencies, 99))} / {ms(percentile(er.latencies, 99))} ms")

    def med(bot: RunningBot, value: Callable[[RoundResult], float]) -> float:
        return statistics.median(value(r) for r in bot.rounds)

    def total(bot: RunningBot, value: Callable[[RoundResult], int]) -> str:
        return str(sum(value(r) for r in bot.rounds))

    rows: list[tuple[str, str, str, str]] = []
    h, e = med(hali, lambda r: r.rate), med(echo, lambda r: r.rate)
    rows.append(("replies/s", f"{h:.0f}", f"{e:.0f}", ratio(h, e)))
    for label, q in (("latency p50 (ms)", 50), ("latency p99 (ms)", 99), ("latency max (ms)", 100)):
        h, e = (statistics.median(percentile(r.latencies, q) for r in bot.rounds) for bot in (hali, echo))
        rows.append((label, ms(h), ms(e), ratio(h, e)))
    h, e = med(hali, lambda r: r.cpu_per_reply), med(echo, lambda r: r.cpu_per_reply)
    rows.append(("bot CPU per reply (ms)", ms(h), ms(e), ratio(h, e)))
    rows += [
        ("bot CPU (% of a core)", f"{100 * med(hali, lambda r: r.bot_cpu / r.window):.0f}",
         f"{100 * med(echo, lambda r: r.bot_cpu / r.window):.0f}", ""),
        ("fake API CPU (% of a core)", f"{100 * med(hali, lambda r: r.fake_cpu / r.window):.0f}",
         f"{100 * med(echo, lambda r: r.fake_cpu / r.window):.0f}", ""),
        *([("PostgreSQL server (% of a core)", f"{100 * med(hali, lambda r: r.db_cpu / r.window):.0f}",
            f"{100 * med(echo, lambda r: r.db_cpu / r.window):.0f}", "")] if postgres else []),
        ("other processes (% of a core)", f"{100 * med(hali, lambda r: r.other_cpu / r.window):.0f}",
         f"{100 * med(echo, lambda r: r.other_cpu / r.window):.0f}", ""),
        ("host steal (% of a core)", f"{100 * med(hali, lambda r: r.steal / r.window):.0f}",
         f"{100 * med(echo, lambda r: r.steal / r.window):.0f}", ""),
        ("push of the batch (ms)", ms(med(hali, lambda r: r.push_seconds)),
         ms(med(echo, lambda r: r.push_seconds)), ""),
        ("replies matched (all rounds)", total(hali, lambda r: len(r.latencies)),
         total(echo, lambda r: len(r.latencies)), ""),
        ("never arrived", total(hali, lambda r: r.missing), total(echo, lambda r: r.missing), ""),
        ("unmatched replies", total(hali, lambda r: r.unmatched), total(echo, lambda r: r.unmatched), ""),
        ("errors", total(hali, lambda r: r.errors), total(echo, lambda r: r.errors), ""),
    ]
    lines.append(f"\n{f'median over {len(hali.rounds)} rounds':<30}{'hali':>10}{'echo':>10}{'hali/echo':>11}")
    lines += [f"{label:<30}{h_:>10}{e_:>10}{r_:>11}" for label, h_, e_, r_ in rows]
    # Each round's bots ran back to back, so their ratio shares the machine's mood of the moment.
    paired = sorted(hr.rate / er.rate for hr, er in zip(hali.rounds, echo.rounds, strict=True) if er.rate)
    if paired:
        lines.append(f"\nhali/echo replies/s, round by round: median {statistics.median(paired):.2f} "
                     f"(lowest {paired[0]:.2f}, highest {paired[-1]:.2f})")
    c, e, h, e2 = (med(bot, lambda r: r.rate) for bot in (card, echo, hali, echo2))
    lines.append("\nreferences (hali/echo above compares Hali with python-telegram-bot as it comes, HTTPX included):")
    lines.append(f"card:  a bare bot sending one fixed status card (no understanding, no store): "
                 f"{c:.0f} replies/s = {ratio(c, e)} of echo, {ms(med(card, lambda r: r.cpu_per_reply))} ms CPU "
                 f"per reply; hali = {ratio(h, c)} of it; errors {total(card, lambda r: r.errors)}, "
                 f"never arrived {total(card, lambda r: r.missing)}")
    lines.append(f"echo2: the echo bot on Hali's transport (bot/telegram/transport.py): {e2:.0f} replies/s = "
                 f"{ratio(e2, e)} of echo, {ms(med(echo2, lambda r: r.cpu_per_reply))} ms CPU per reply; "
                 f"hali = {ratio(h, e2)} of it (Hali's own work, transport aside); "
                 f"errors {total(echo2, lambda r: r.errors)}, never arrived {total(echo2, lambda r: r.missing)}")
    return "\n".join(lines)


def report_engine(result: EngineResult, budget_ms: float = 5.0) -> str:
    t = result.timings
    over = sum(1 for v in t if v * 1000 > budget_ms)
    return (f"engine.answer alone ({len(t)} messages, {result.distinct} distinct): "
            f"mean {1000 * sum(t) / len(t):.3f} ms, p50 {1000 * percentile(t, 50):.3f} ms, "
            f"p99 {1000 * percentile(t, 99):.3f} ms, max {1000 * t[-1]:.3f} ms; "
            f"{over} over {budget_ms:g} ms")


# --- main -----------------------------------------------------------------------------------------


def parse_args(argv: Sequence[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n", 1)[0])
    parser.add_argument("--n", type=int, default=2000, help="questions in each measured round")
    parser.add_argument("--users", type=int, default=500, help="distinct chats asking them")
    parser.add_argument("--concurrency", type=int, default=DEFAULT_CONCURRENCY,
                        help="updates handled at once by each bot (default: what `hali run` uses)")
    parser.add_argument("--db", choices=("sqlite", "postgres"), default="sqlite")
    parser.add_argument("--engine-n", type=int, default=5000, help="messages for engine.answer alone")
    parser.add_argument("--warmup", type=int, default=300, help="questions in the unmeasured first round")
    parser.add_argument("--rounds", type=int, default=6, help="measured rounds per bot, alternating which goes first")
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--idle-timeout", type=float, default=15.0,
                        help="seconds without a new reply before the rest count as never arrived")
    parser.add_argument("--pg-admin-url", default=PG_ADMIN_URL, help="where --db postgres creates its database")
    args = parser.parse_args(argv)
    for name in ("n", "users", "concurrency", "engine_n", "warmup", "rounds"):
        if getattr(args, name) < 1:
            parser.error(f"--{name.replace('_', '-')} must be at least 1")
    return args


async def run(args: argparse.Namespace, workdir: Path) -> None:
    load_translators()
    print(machine())
    print(f"parameters: --n {args.n} --users {args.users} --concurrency {args.concurrency} --db {args.db} "
          f"--engine-n {args.engine_n} --warmup {args.warmup} --rounds {args.rounds} --seed {args.seed}\n"
          f"every bot a process of its own, on a fake Bot API process of its own (--no-keep-requests, "
          f"no rate limit)", flush=True)
    async with database(args.db, workdir, args.pg_admin_url) as db_url:
        plan = Plan(args, db_url, workdir)
        await prepare_store(plan)
        bots = await bench_bots(plan)
        print(f"\neach round: {args.n} status questions ({len(plan.texts)} distinct, English/Swahili/Sheng, "
              f"{len(set(plan.keys.values()))} services) from {min(args.users, args.n)} chats new to the bot, "
              f"pushed at once;\nlatency = reply timestamp at the fake - push time; warm-up round "
              f"({args.warmup} questions) not counted")
        print(report_bots(bots, postgres=args.db == "postgres"), flush=True)
        engine = await bench_engine(plan)
        print()
        print(report_engine(engine))


def run_in_workdir(run_with: Callable[[Path], Coroutine[Any, Any, None]], prefix: str) -> int:
    """Run a benchmark in a temporary directory; on failure print its processes' last log lines, and kill
    whatever it left running (also the other benchmarks' entry point)."""
    async def started(workdir: Path) -> None:
        # SIGTERM takes the way out Ctrl-C takes, so the fakes and the databases are cleaned up.
        main_task = asyncio.current_task()
        assert main_task is not None
        asyncio.get_running_loop().add_signal_handler(signal.SIGTERM, main_task.cancel)
        # This process only drives the bots and times what it measures; its own log goes to a file.
        logging.basicConfig(filename=workdir / "benchmark.log", level=logging.WARNING)
        await run_with(workdir)

    with tempfile.TemporaryDirectory(prefix=prefix) as tmp:
        workdir = Path(tmp)
        try:
            asyncio.run(started(workdir))
        except (KeyboardInterrupt, asyncio.CancelledError):
            print("interrupted", file=sys.stderr)
            return 130
        except Exception as exc:
            print(f"benchmark failed: {exc!r}", file=sys.stderr)
            for log in sorted(workdir.glob("*.log")):
                tail = _tail(log)
                if tail:
                    print(f"--- {log.name}\n{tail}", file=sys.stderr)
            return 1
        finally:
            for process in RUNNING:
                if process.returncode is None:
                    try:
                        os.kill(process.pid, signal.SIGKILL)
                    except ProcessLookupError:
                        pass
            logging.shutdown()
    return 0


def main(argv: Sequence[str] | None = None) -> int:
    args = parse_args(argv)
    return run_in_workdir(lambda workdir: run(args, workdir), "hali-bench-")


if __name__ == "__main__":
    raise SystemExit(main())
