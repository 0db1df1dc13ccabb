"""A national outage: thousands of citizens ask at once while an incident fans out to every subscriber.

    python -m benchmarks.surge                                   # 3,000 citizens, 20,000 subscribers (~15 min)
    python -m benchmarks.surge --citizens 300 --subscribers 2000 # a quicker run
    python -m benchmarks.surge --paid                            # notifications on paid broadcast

Four processes on one PostgreSQL database (fresh, dropped afterwards): the strict fake Bot API
(``hali_dev/botapi.py``: at most ``--limit`` messages a second per bot, about one a second per chat
with a burst of three, twenty a minute per group, 429 with retry_after above them; with ``--paid``,
paid broadcasts up to ``--paid-limit`` a second beside it), the bot as ``hali run`` runs it (without the
automatic checks, which would probe the real sites), one ``hali dispatch``, and this one, which plays
the citizens and reads what the fake received.

At the start an operator opens an incident on eCitizen: its event and one delivery per subscriber are
written in one transaction. At the same moment ``--citizens`` people start asking over ``--seconds``
seconds (English and Swahili, different services); a twentieth ask a second question two seconds later,
and a twentieth press Refresh on the card they got.

Printed: citizens answered / missing / answered more than they asked; 429s; messages per second over
the surge and while there was work, as a fraction of the limit; the wait of a citizen's first answer
p50 / p90 / p99 / max, next to what an ideal first-come-first-served queue serving answers at their
share of the limit gives for the same arrivals; the fan-out's progress when the last citizen was
answered and when it finished; each process's share of what was sent.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import random
import subprocess
import sys
import tempfile
import time
import urllib.request
from collections import Counter, defaultdict
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from sqlalchemy import func, insert, select  # noqa: E402

from benchmarks.harness import database, fake, machine, percentile, start_fake, stop  # noqa: E402
from bot.catalog.loader import load_catalog  # noqa: E402
from bot.catalog.model import Text  # noqa: E402
from bot.core.recipient import TELEGRAM  # noqa: E402
from bot.core.status import State  # noqa: E402
from bot.services.sending import NOTICE_SHARE  # noqa: E402
from bot.store.models import SenderMinuteRow, SubscriberRow, SubscriptionRow  # noqa: E402
from bot.store.repo import Store  # noqa: E402
from hali_dev.botapi import TOKEN  # noqa: E402

QUESTIONS = {
    "ecitizen": ("ecitizen iko down?", "Is eCitizen down?", "kwani ecitizen imekufa tena?"),
    "kra": ("KRA inafanya kazi?", "Is iTax working?", "itax iko sawa saa hii?"),
    "ntsa": ("ntsa iko sawa?", "Is NTSA down?"),
    "sha": ("sha haifanyi kazi?", "Is SHA working?"),
    "mpesa": ("mpesa iko down?", "Is M-Pesa working?"),
}
SUBSCRIBER_BASE = 1_000_000


@dataclass
class Citizen:
    chat_id: int
    language: str
    questions: list[tuple[float, str]] = field(default_factory=list)  # when asked (wall time), text
    refresh: bool = False
    refreshed_at: float | None = None


def plan(n: int, seconds: float, rng: random.Random) -> list[Citizen]:
    citizens = []
    for i in range(n):
        service = rng.choice(list(QUESTIONS))
        citizen = Citizen(i + 1, rng.choice(("en", "sw")))
        citizen.questions.append((seconds * i / n, rng.choice(QUESTIONS[service])))
        if rng.random() < 0.05:
            other = rng.choice([s for s in QUESTIONS if s != service])
            citizen.questions.append((seconds * i / n + 2.0, rng.choice(QUESTIONS[other])))
        citizen.refresh = rng.random() < 0.05
        citizens.append(citizen)
    return citizens


def update_for(citizen: Citizen, text: str, message_id: int) -> dict[str, Any]:
    user = {"id": citizen.chat_id, "is_bot": False, "first_name": "Raia", "language_code": citizen.language}
    return {"message": {"message_id": message_id, "from": user, "date": int(time.time()), "text": text,
                        "chat": {"id": citizen.chat_id, "type": "private", "first_name": "Raia"}}}


async def seed(db_url: str, subscribers: int) -> None:
    store = Store.from_url(db_url)
    await store.upgrade()
    await store.load_catalog(load_catalog())
    now = store.clock()
    async with store.sessions.begin() as session:
        for first in range(0, subscribers, 10_000):
            ids = range(SUBSCRIBER_BASE + first, SUBSCRIBER_BASE + min(subscribers, first + 10_000))
            await session.execute(insert(SubscriberRow), [
                {"medium": TELEGRAM, "address": str(c), "language": "sw" if c % 2 else "en", "active": True,
                 "created_at": now} for c in ids])
            await session.execute(insert(SubscriptionRow), [
                {"medium": TELEGRAM, "address": str(c), "service_id": "ecitizen", "created_at": now} for c in ids])
    await store.close()


async def open_incident(db_url: str) -> float:
    store = Store.from_url(db_url)
    started = time.time()
    await store.open_incident("ecitizen", State.MAJOR_OUTAGE, Text("Payments failing", "Malipo yameshindikana"),
                              actor="benchmark", workaround=Text("Pay at a bank", "Lipa kupitia benki"))
    await store.close()
    return started


async def shares(db_url: str) -> dict[str, int]:
    store = Store.from_url(db_url)
    async with store.sessions() as session:
        rows = (await session.execute(select(SenderMinuteRow.role, func.sum(SenderMinuteRow.sent))
                                      .group_by(SenderMinuteRow.role))).all()
    await store.close()
    return {str(role): int(total or 0) for role, total in rows}


def start(role: str, db_url: str, api: str, args: argparse.Namespace, log: Path) -> subprocess.Popen[bytes]:
    env = {**os.environ, "TELEGRAM_BOT_TOKEN": TOKEN, "TELEGRAM_API_BASE_URL": f"{api}/bot", "DATABASE_URL": db_url,
           "HALI_SEND_RATE": str(args.limit), "HALI_LOG_LEVEL": os.environ.get("SURGE_LOG_LEVEL", "WARNING"),
           "HALI_PAID_BROADCAST": "1" if args.paid else "0"}
    if args.paid:
        env["HALI_BROADCAST_RATE"] = str(args.paid_limit)
    command = ([sys.executable, "-m", "benchmarks.bots", "hali", "--api", f"{api}/bot", "--db", db_url,
                "--concurrency", "32", "--poll-timeout", "5", "--send-rate", str(args.limit)]
               if role == "bot" else [sys.executable, "-m", "bot", "dispatch"])
    with log.open("ab") as out:
        return subprocess.Popen(command, cwd=ROOT, env=env, stdout=out, stderr=out)


def ideal_waits(arrivals: list[float], rate: float) -> list[float]:
    """First come, first served at `rate`: how long each arrival waits for its turn to finish."""
    free, waits = 0.0, []
    for at in sorted(arrivals):
        free = max(free, at) + 1.0 / rate
        waits.append(free - at)
    return waits


async def run(args: argparse.Namespace, workdir: Path) -> None:
    rng = random.Random(args.seed)
    citizens = plan(args.citizens, args.seconds, rng)
    by_chat = {c.chat_id: c for c in citizens}
    fake_args = ["--per-chat-rate", "1", "--per-chat-burst", "3", "--group-rate-per-minute", "20"]
    fake_process, api = start_fake(args.limit, extra=(*fake_args, *(["--paid-rate", str(args.paid_limit)]
                                                                      if args.paid else [])))
    log = workdir / "processes.log"
    async with database("postgres", workdir) as db_url:
        await seed(db_url, args.subscribers)
        bot = start("bot", db_url, api, args, log)
        dispatcher = start("dispatch", db_url, api, args, log)
        try:
            while fake(api, "stats")["by_method"].get("setMyCommands", 0) < 2:  # noqa: ASYNC110
                await asyncio.sleep(0.2)
            await asyncio.sleep(2.0)  # the dispatcher's heartbeat is in
            result = await surge(args, api, db_url, citizens, by_chat)
        finally:
            codes = (stop(bot), stop(dispatcher))
            fake_process.terminate()
            fake_process.wait()
        result["shares"] = await shares(db_url)
    result["exit codes"] = codes
    report(args, result)


async def surge(args: argparse.Namespace, api: str, db_url: str, citizens: list[Citizen],
                by_chat: dict[int, Citizen]) -> dict[str, Any]:
    pushes = sorted((at, c.chat_id, text) for c in citizens for at, text in c.questions)
    t0 = await open_incident(db_url)
    asked: dict[int, list[float]] = defaultdict(list)
    records: list[dict[str, Any]] = []
    message_ids = Counter[int]()
    last_answer_at = None
    deadline = t0 + args.timeout
    i = 0
    while time.time() < deadline:
        now = time.time() - t0
        batch = []
        while i < len(pushes) and pushes[i][0] <= now:
            _, chat, text = pushes[i]
            message_ids[chat] += 1
            batch.append(update_for(by_chat[chat], text, message_ids[chat]))
            asked[chat].append(time.time())
            i += 1
        if batch:
            fake(api, "updates", batch)
        fresh = _sent_after(api, len(records))
        records.extend(fresh)
        for r in fresh:
            citizen = by_chat.get(r["chat_id"]) if r["method"] == "sendMessage" else None
            if citizen is not None and citizen.refresh and citizen.refreshed_at is None and r["message_id"]:
                data = _refresh_data(r)
                if data:
                    citizen.refreshed_at = time.time()
                    fake(api, "callback_query", {"chat_id": citizen.chat_id, "data": data,
                                                "message_id": r["message_id"]})
        answered = {r["chat_id"] for r in records if r["method"] == "sendMessage" and r["chat_id"] in by_chat}
        if last_answer_at is None and len(answered) == len(citizens):
            last_answer_at = time.time()
        delivered = sum(1 for r in records if r["method"] == "sendMessage" and r["chat_id"] >= SUBSCRIBER_BASE)
        if last_answer_at is not None and delivered >= args.subscribers:
            break
        await asyncio.sleep(0.2 if i < len(pushes) else 1.0)
    return {"t0": t0, "records": records, "asked": asked, "citizens": citizens,
            "stats": fake(api, "stats"), "last_answer_at": last_answer_at}


def _sent_after(api: str, after: int) -> list[dict[str, Any]]:
    with urllib.request.urlopen(f"{api}/_fake/sent?after={after}", timeout=60) as response:
        return list(json.loads(response.read())["result"])


def _refresh_data(record: dict[str, Any]) -> str | None:
    for row in (record.get("reply_markup") or {}).get("inline_keyboard", []):
        for button in row:
            if str(button.get("callback_data", "")).startswith("r:"):
                return str(button["callback_data"])
    return None


def report(args: argparse.Namespace, r: dict[str, Any]) -> None:
    t0, records, citizens = r["t0"], r["records"], r["citizens"]
    sends = [x for x in records if x["method"] in ("sendMessage", "editMessageText", "editMessageReplyMarkup")]
    to_citizens: dict[int, list[dict[str, Any]]] = defaultdict(list)
    to_subscribers = Counter[int]()
    for x in sends:
        if x["chat_id"] >= SUBSCRIBER_BASE:
            to_subscribers[x["chat_id"]] += x["method"] == "sendMessage"
        elif x["method"] == "sendMessage":
            to_citizens[x["chat_id"]].append(x)
    answered = [c for c in citizens if to_citizens.get(c.chat_id)]
    twice = [c for c in citizens if len(to_citizens.get(c.chat_id, [])) > len(c.questions)]
    waits = sorted(to_citizens[c.chat_id][0]["timestamp"] - r["asked"][c.chat_id][0] for c in answered)
    answer_share = args.limit * (1 - NOTICE_SHARE)
    arrivals = sorted(at for times in r["asked"].values() for at in times)
    arrivals += [c.refreshed_at for c in citizens if c.refreshed_at is not None]
    ideal = sorted(ideal_waits(arrivals, answer_share))
    stamps = sorted(x["timestamp"] for x in sends)
    surge_end = r["last_answer_at"] or stamps[-1]
    during = [t for t in stamps if t <= surge_end]
    fan_stamps = sorted(x["timestamp"] for x in sends if x["chat_id"] >= SUBSCRIBER_BASE)
    limit = args.limit + (args.paid_limit if args.paid else 0)
    print(machine())
    print(f"\n== surge: {len(citizens):,} citizens over {args.seconds:g} s, an incident to {args.subscribers:,} "
          f"subscribers; limit {args.limit}/s per bot" + (f", paid broadcast {args.paid_limit}/s" if args.paid else ""))
    print(f"citizens answered:        {len(answered):,} / {len(citizens):,}  (missing {len(citizens) - len(answered)}, "
          f"answered more often than they asked: {len(twice)})")
    print(f"429s received:            {r['stats']['too_many_requests']} "
          f"({1000 * r['stats']['too_many_requests'] / max(1, len(sends)):.2f} per 1,000 messages)")
    if during and len(during) > 1:
        rate = (len(during) - 1) / (during[-1] - t0)
        print(f"during the surge:         {rate:.2f} messages/s = {rate / limit:.3f} of the limit "
              f"(until the last citizen's first answer, {during[-1] - t0:.1f} s after the start)")
    if len(stamps) > 1:
        rate = (len(stamps) - 1) / (stamps[-1] - t0)
        print(f"while there was work:     {rate:.2f} messages/s = {rate / limit:.3f} of the limit "
              f"({len(stamps):,} messages in {stamps[-1] - t0:.1f} s)")
    print(f"a citizen's first answer: p50 {percentile(waits, 50):.1f} s, p90 {percentile(waits, 90):.1f} s, "
          f"p99 {percentile(waits, 99):.1f} s, max {waits[-1] if waits else float('nan'):.1f} s")
    print(f"ideal FCFS at {answer_share:g}/s:    p50 {percentile(ideal, 50):.1f} s, p90 {percentile(ideal, 90):.1f} s, "
          f"p99 {percentile(ideal, 99):.1f} s  → p99 ratio {percentile(waits, 99) / percentile(ideal, 99):.3f} "
          "(target ≤ 1.1)")
    delivered = len(to_subscribers)
    dup = sum(n - 1 for n in to_subscribers.values() if n > 1)
    by_end = sum(1 for t in fan_stamps if t <= surge_end)
    print(f"fan-out:                  {by_end:,} delivered while citizens were asking; "
          f"{delivered:,} / {args.subscribers:,} in all (missing {args.subscribers - delivered}, duplicates {dup}), "
          f"the last {fan_stamps[-1] - t0 if fan_stamps else float('nan'):.1f} s after the start")
    if args.timeline:
        per_second: dict[int, list[int]] = defaultdict(lambda: [0, 0])
        for x in sends:
            per_second[int(x["timestamp"] - t0)][x["chat_id"] >= SUBSCRIBER_BASE] += 1
        print("per second (answers+notifications): " + " ".join(
            f"{a}+{n}" for _, (a, n) in sorted(per_second.items())[: int(surge_end - t0) + 3]))
    total = sum(r["shares"].values()) or 1
    print("each process's share:     " + ", ".join(f"{role} {n:,} ({n / total:.0%})"
                                                  for role, n in sorted(r["shares"].items())))
    print(f"exit codes on SIGTERM:    bot {r['exit codes'][0]}, dispatcher {r['exit codes'][1]}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--citizens", type=int, default=3000)
    parser.add_argument("--seconds", type=float, default=10.0, help="over how long the citizens start asking")
    parser.add_argument("--subscribers", type=int, default=20_000)
    parser.add_argument("--limit", type=int, default=30, help="the fake's messages per second per bot")
    parser.add_argument("--paid", action="store_true", help="notifications as paid broadcasts")
    parser.add_argument("--paid-limit", type=int, default=1000)
    parser.add_argument("--timeout", type=float, default=3600.0)
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument("--timeline", action="store_true", help="print what was sent in each second of the surge")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as folder:
        asyncio.run(run(args, Path(os.environ.get("SURGE_DIR", folder))))


if __name__ == "__main__":
    main()
