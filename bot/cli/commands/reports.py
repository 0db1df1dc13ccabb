"""`hali reports`: what citizens report, for operators (English only).

    hali reports [SERVICE] [--since 1h] [--json]   counts by symptom and the crowd signal's state
    hali reports export --since 7d > reports.csv   the reports as CSV (scrubbed text only)
    hali reports purge                             run the retention job once
"""

from __future__ import annotations

import argparse
import csv
import json
import re
import sys
import unicodedata
from datetime import timedelta
from typing import Any

from bot.cli.base import Command, Context, UsageError, duration
from bot.core.reports import ServiceSummary
from bot.services.reports import summarise

# A spreadsheet runs a cell as a formula when it starts with one of these, also after leading spaces
# or invisible characters, and in a fullwidth form (＝): what matters is the first character it shows.
_FORMULA_START = ("\t", "\r")
_FORMULA_CHARS = frozenset("=+-@|")
_INVISIBLE = frozenset(("Cc", "Cf", "Zs", "Zl", "Zp", "Mn", "Me"))
# Where a spreadsheet that splits on another separator, or on lines, starts a cell inside ours.
_SEPARATOR = re.compile(r"[,;\t|\r\n]")


def _arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("target", nargs="?", help="a service id, or: export, purge")
    parser.add_argument("--since", type=duration, default=None, help="e.g. 30m, 1h (default), 7d")
    parser.add_argument("--json", action="store_true")


async def run(ctx: Context, args: argparse.Namespace) -> int:
    """Counts by symptom and the crowd signal's state; or the reports as CSV; or retention once."""
    store = ctx.store
    reports = store.reports
    if args.target == "purge":
        result = await reports.purge()
        print(f"anonymised {result.anonymised}, chat ids dropped {result.follow_ups_dropped}, "
              f"stale flows dropped {result.flows_dropped}")
        return 0
    since = store.clock() - (args.since or (timedelta(days=7) if args.target == "export" else timedelta(hours=1)))
    if args.target == "export":
        write_csv(await reports.export(since))
        return 0
    service_id = args.target
    if service_id is not None and service_id not in await store.service_ids():
        raise UsageError(f"unknown service {service_id!r} (see `hali services`)")
    summaries = await summarise(store.reports, since, service_id)
    if args.json:
        print(json.dumps([summary_dict(s) for s in summaries], ensure_ascii=False, indent=2))
        return 0
    if not summaries:
        print("no reports")
    for s in summaries:
        print(summary_text(s))
    return 0


def summary_dict(s: ServiceSummary) -> dict[str, Any]:
    signal = s.signal
    return {
        "service": s.service_id,
        "since": s.since.isoformat(),
        "until": s.until.isoformat(),
        "reports": s.total,
        "counted": s.counted,
        "flagged": s.flagged,
        "by_symptom": s.by_symptom,
        "flagged_texts": list(s.flagged_texts),
        "signal": None if signal is None else {
            "active": True,
            "since": signal.since.isoformat(),
            "window_minutes": signal.window_minutes,
            "reports_in_window": signal.reports,
            "expected_in_window": round(signal.expected, 2),
            "p_value": signal.p_value,
            "symptom": signal.symptom.value if signal.symptom else None,
        },
    }


def summary_text(s: ServiceSummary) -> str:
    lines = [f"{s.service_id}: {s.total} reports ({s.counted} counted, {s.flagged} flagged as coordinated)"]
    for symptom, count in s.by_symptom.items():
        lines.append(f"  {symptom:<14} {count}")
    if s.signal is not None:
        lines.append(f"  crowd signal ON since {s.signal.since.isoformat(timespec='minutes')}: "
                     f"{s.signal.reports} in {s.signal.window_minutes} min, expected "
                     f"{s.signal.expected:.1f} (p={s.signal.p_value:.1e})")
    else:
        lines.append("  crowd signal off")
    for text in s.flagged_texts:
        lines.append(f"  flagged text: {text[:100]}")
    return "\n".join(lines)


def safe_cell(value: object) -> str:
    """A CSV cell a spreadsheet will not run as a formula."""
    text = "" if value is None else str(value)
    if text.startswith(_FORMULA_START) or _shown_first(text) in _FORMULA_CHARS:
        text = "'" + text
    return _SEPARATOR.sub(lambda m: m.group() + "'" if _shown_first(text[m.end():]) in _FORMULA_CHARS
                          else m.group(), text)


def _shown_first(text: str) -> str:
    for char in text:
        if char.isspace() or unicodedata.category(char) in _INVISIBLE:
            continue
        return unicodedata.normalize("NFKC", char)[:1]
    return ""


def write_csv(rows: list[Any]) -> None:
    # Every cell quoted: a spreadsheet that splits on ";" or tabs does not start a cell inside one.
    writer = csv.writer(sys.stdout, quoting=csv.QUOTE_ALL)
    writer.writerow(["reference", "created_at", "service", "symptom", "counted", "flagged", "text"])
    for r in rows:
        writer.writerow([safe_cell(v) for v in (r.reference, r.created_at.isoformat(), r.service_id, r.symptom,
                                                 r.counted, r.flagged, r.text)])


COMMANDS = [Command("reports", "citizens' reports: summary, export, purge", _arguments, run)]
