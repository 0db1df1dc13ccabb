"""How well Hali understands citizens' messages: intent, service and language, on the labelled corpus.

Parts scored:

* ``development``: ``tests/core/corpus/development.tsv``, the part rules and word lists are tuned on;
* ``heldout``: ``tests/core/corpus/heldout.tsv``, for measuring only. Its scores are printed, its misses
  never are (``--misses`` lists development and table misses only), so nobody tunes on it by accident;
* ``table``: the older hand-written table in ``tests/core/understanding_cases.py``.

For each part: accuracy of intent, service and language, the share of messages with all three right,
intent recall per intent, accuracy per register (English, Swahili, Sheng, mixed), and the most common
intent confusions.

Run from the repository root:

    python benchmarks/understanding_accuracy.py
    python benchmarks/understanding_accuracy.py --part development --misses

It prints numbers; it exits non-zero only when the benchmark itself cannot run.
"""

from __future__ import annotations

import argparse
import sys
from collections import Counter
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))  # run as a script from anywhere

from bot.catalog.loader import load_catalog
from bot.core.understanding import Understander
from tests.core import corpus
from tests.core.understanding_cases import CASES

Labelled = corpus.Labelled
# (intent, service, language) for a text
Reader = Callable[[str], tuple[str, str | None, str | None]]
PARTS = (*corpus.PARTS, "table")


def load(part: str) -> list[Labelled]:
    if part == "table":
        return [Labelled(text, intent, service, language, "-") for text, intent, service, language in CASES]
    return corpus.load(part)


def rules_reader() -> Reader:
    understander = Understander(load_catalog())

    def read(text: str) -> tuple[str, str | None, str | None]:
        u = understander.understand(text)
        return u.intent.value, u.service, u.language

    return read


@dataclass
class Score:
    n: int = 0
    intent: int = 0
    service: int = 0
    language: int = 0
    all_three: int = 0

    def add(self, item: Labelled, got: tuple[str, str | None, str | None]) -> None:
        hits = (got[0] == item.intent, got[1] == item.service, got[2] == item.language)
        self.n += 1
        self.intent += hits[0]
        self.service += hits[1]
        self.language += hits[2]
        self.all_three += all(hits)

    def line(self) -> str:
        if not self.n:
            return "no messages"
        share = lambda v: f"{v / self.n:.3f}"  # noqa: E731
        return (f"intent {share(self.intent)}  service {share(self.service)}  language {share(self.language)}  "
                f"all three {share(self.all_three)}  (n={self.n})")


def evaluate(read: Reader, items: Sequence[Labelled]) -> tuple[Score, dict[str, Score], dict[str, Score],
                                                                Counter[tuple[str, str]], list[str]]:
    total = Score()
    by_intent: dict[str, Score] = {}
    by_register: dict[str, Score] = {}
    confusions: Counter[tuple[str, str]] = Counter()
    misses: list[str] = []
    for item in items:
        got = read(item.text)
        total.add(item, got)
        by_intent.setdefault(item.intent, Score()).add(item, got)
        by_register.setdefault(item.register, Score()).add(item, got)
        if got[0] != item.intent:
            confusions[(item.intent, got[0])] += 1
        if got != (item.intent, item.service, item.language):
            misses.append(f"  want {item.intent}/{item.service or '-'}/{item.language or '-'}  "
                          f"got {got[0]}/{got[1] or '-'}/{got[2] or '-'}  {item.text}")
    return total, by_intent, by_register, confusions, misses


def report(name: str, part: str, read: Reader, *, show_misses: bool) -> Score:
    items = load(part)
    total, by_intent, by_register, confusions, misses = evaluate(read, items)
    print(f"\n{name} on {part}: {total.line()}")
    print("  intent recall: " + ", ".join(
        f"{intent} {s.intent}/{s.n}" for intent, s in sorted(by_intent.items(), key=lambda kv: -kv[1].n)))
    if part != "table":
        for register, s in sorted(by_register.items(), key=lambda kv: -kv[1].n):
            print(f"  register {register:6} {s.line()}")
    if confusions:
        print("  intent confusions (wanted -> got): " + ", ".join(
            f"{a}->{b} {n}" for (a, b), n in confusions.most_common(8)))
    if show_misses:
        if part == "heldout":
            print(f"  ({len(misses)} misses; held-out misses are not listed: the part is for measuring only)")
        else:
            print("\n".join(misses) if misses else "  no misses")
    return total


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--part", choices=(*PARTS, "all"), default="all")
    parser.add_argument("--misses", action="store_true", help="list the misses (never for the held-out part)")
    args = parser.parse_args(argv)
    parts = PARTS if args.part == "all" else (args.part,)
    read = rules_reader()
    for part in parts:
        report("rules", part, read, show_misses=args.misses)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
