"""How well Hali understands citizens' messages: intent, service and language, on the labelled corpus.

Parts scored:

* ``development``: ``tests/core/corpus/development.tsv``, the part rules and word lists are tuned on;
* ``heldout``: ``tests/core/corpus/heldout.tsv``, for measuring only. Its scores are printed, its misses
  never are (``--misses`` lists development and table misses only), so nobody tunes on it by accident;
* ``table``: the older hand-written table in ``tests/core/understanding_cases.py``.

For each part: accuracy of intent, service and language, the share of messages with all three right,
intent recall per intent, accuracy per register (English, Swahili, Sheng, mixed), and the most common
intent confusions.

``--model`` also scores two statistical readers, both over character 2-4-grams of each word, words
and word pairs of the normalised text, written here in plain Python so that Hali would need no new
dependency if one were kept: a multinomial naive Bayes (add-0.3 smoothing) and a multinomial logistic
regression (SGD, 30 epochs, L2 1e-4). Each predicts intent, service and language separately. They are
trained on the development part; their development scores are 5-fold cross-validated (a model scored
on what it learnt from says nothing). Then the combination that could be kept without losing the
rules' explanations: the rules decide, and the model is asked only where the rules found nothing (the
intent when the rules say "other" with no service, the language when the rules have none).

Run from the repository root:

    python benchmarks/understanding_accuracy.py
    python benchmarks/understanding_accuracy.py --part development --misses
    python benchmarks/understanding_accuracy.py --model
    python benchmarks/understanding_accuracy.py --timing   # Engine.answer over the corpus

``--timing`` answers every message of the corpus and the table with ``Engine.answer`` on a SQLite store
with the bundled catalogue and two open incidents (so cards carry incidents and dependency lines), on
the board ``hali run`` uses: first with a new engine (nothing remembered), then four more passes (short
texts' understanding remembered, cards kept per second, as in production). Also ``understand`` alone.

It prints numbers; it exits non-zero only when the benchmark itself cannot run.
"""

from __future__ import annotations

import argparse
import asyncio
import itertools
import math
import random
import sys
import tempfile
import time
from collections import Counter, defaultdict
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Protocol

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))  # run as a script from anywhere

from bot.catalog.loader import load_catalog
from bot.core.understanding import Understander, normalise
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
        # Four decimals and the count: 241/246 is 0.9797, which three decimals would round up to 0.980.
        share = lambda v: f"{v / self.n:.4f} ({v}/{self.n})"  # noqa: E731
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


# --- statistical readers ---------------------------------------------------------------------------


def features(text: str) -> list[str]:
    """Character 2-4-grams of each word (with its edges), the words, and pairs of neighbouring words."""
    words = normalise(text).split()
    out = [f"w:{w}" for w in words] + [f"b:{a}_{b}" for a, b in itertools.pairwise(words)]
    for word in words:
        padded = f" {word} "
        out += [padded[i:i + n] for n in (2, 3, 4) for i in range(len(padded) - n + 1)]
    return out


class Classifier(Protocol):
    def fit(self, rows: Sequence[list[str]], labels: Sequence[str]) -> Classifier: ...
    def predict(self, row: list[str]) -> tuple[str, float]: ...


class NaiveBayes:
    def __init__(self, alpha: float = 0.3) -> None:
        self.alpha = alpha

    def fit(self, rows: Sequence[list[str]], labels: Sequence[str]) -> NaiveBayes:
        self.prior = Counter(labels)
        self.counts: dict[str, Counter[str]] = {c: Counter() for c in self.prior}
        for row, label in zip(rows, labels, strict=True):
            self.counts[label].update(row)
        self.vocabulary = {f for counts in self.counts.values() for f in counts}
        size = len(self.vocabulary)
        self.denominator = {c: math.log(sum(n.values()) + self.alpha * size) for c, n in self.counts.items()}
        return self

    def predict(self, row: list[str]) -> tuple[str, float]:
        total = sum(self.prior.values())
        scores = {}
        for label, counts in self.counts.items():
            known = [f for f in row if f in self.vocabulary]
            scores[label] = math.log(self.prior[label] / total) + sum(
                math.log(counts[f] + self.alpha) - self.denominator[label] for f in known)
        return _best(scores)


class LogisticRegression:
    def __init__(self, epochs: int = 30, rate: float = 0.3, l2: float = 1e-4) -> None:
        self.epochs, self.rate, self.l2 = epochs, rate, l2

    def fit(self, rows: Sequence[list[str]], labels: Sequence[str]) -> LogisticRegression:
        self.labels = sorted(set(labels))
        self.weights: dict[str, defaultdict[str, float]] = {c: defaultdict(float) for c in self.labels}
        data = list(zip(rows, labels, strict=True))
        rng = random.Random(1)
        for _ in range(self.epochs):
            rng.shuffle(data)
            for row, label in data:
                probabilities = self._probabilities(row)
                present = set(row)
                scale = 1 / math.sqrt(max(1, len(present)))
                for c in self.labels:
                    gradient = (probabilities[c] - (c == label)) * scale
                    w = self.weights[c]
                    for f in present:
                        w[f] -= self.rate * (gradient + self.l2 * w[f])
        return self

    def _probabilities(self, row: list[str]) -> dict[str, float]:
        present = set(row)
        scale = 1 / math.sqrt(max(1, len(present)))
        scores = {c: scale * sum(self.weights[c].get(f, 0.0) for f in present) for c in self.labels}
        top = max(scores.values())
        exp = {c: math.exp(v - top) for c, v in scores.items()}
        total = sum(exp.values())
        return {c: v / total for c, v in exp.items()}

    def predict(self, row: list[str]) -> tuple[str, float]:
        probabilities = self._probabilities(row)
        label = max(probabilities, key=lambda c: probabilities[c])
        return label, probabilities[label]


def _best(scores: dict[str, float]) -> tuple[str, float]:
    label = max(scores, key=lambda c: scores[c])
    top = scores[label]
    return label, 1 / sum(math.exp(v - top) for v in scores.values())


@dataclass
class Model:
    """One classifier per label, trained on the same messages."""

    intent: Classifier
    service: Classifier
    language: Classifier

    def read(self, text: str) -> tuple[str, str | None, str | None, float]:
        row = features(text)
        intent, confidence = self.intent.predict(row)
        service = self.service.predict(row)[0]
        language = self.language.predict(row)[0]
        return intent, None if service == "-" else service, None if language == "-" else language, confidence


def train(make: Callable[[], Classifier], items: Sequence[Labelled]) -> Model:
    rows = [features(item.text) for item in items]
    return Model(make().fit(rows, [i.intent for i in items]),
                 make().fit(rows, [i.service or "-" for i in items]),
                 make().fit(rows, [i.language or "-" for i in items]))


def model_reader(model: Model) -> Reader:
    def read(text: str) -> tuple[str, str | None, str | None]:
        return model.read(text)[:3]

    return read


def combined_reader(rules: Reader, model: Model) -> Reader:
    """The rules decide; the model fills only what they leave open."""

    def read(text: str) -> tuple[str, str | None, str | None]:
        intent, service, language = rules(text)
        m_intent, _, m_language, _ = model.read(text)
        if intent == "other" and service is None:
            intent = m_intent
        return intent, service, language if language is not None else m_language

    return read


def cross_validated(make: Callable[[], Classifier], items: Sequence[Labelled], rules: Reader | None,
                    folds: int = 5) -> dict[str, tuple[str, str | None, str | None]]:
    """Each development message read by a model trained on the other folds (and combined, with rules)."""
    order = list(range(len(items)))
    random.Random(0).shuffle(order)
    answers = {}
    for fold in range(folds):
        held = set(order[fold::folds])
        model = train(make, [items[i] for i in order if i not in held])
        read = model_reader(model) if rules is None else combined_reader(rules, model)
        for i in held:
            answers[items[i].text] = read(items[i].text)
    return answers


def report_models(parts: Sequence[str], rules: Reader, *, show_misses: bool) -> None:
    development = corpus.load("development")
    for name, make in (("naive Bayes", NaiveBayes), ("logistic regression", LogisticRegression)):
        model = train(make, development)
        for part in parts:
            if part == "development":
                alone = cross_validated(make, development, None)
                both = cross_validated(make, development, rules)
                report(f"{name} (5-fold)", part, alone.__getitem__, show_misses=False)
                report(f"rules + {name} (5-fold)", part, both.__getitem__, show_misses=show_misses)
            else:
                report(name, part, model_reader(model), show_misses=False)
                report(f"rules + {name}", part, combined_reader(rules, model), show_misses=show_misses)


# --- timing -------------------------------------------------------------------------------------------


def _line(name: str, seconds: Sequence[float]) -> str:
    ordered = sorted(seconds)

    def at(q: float) -> float:
        return 1000 * ordered[min(len(ordered) - 1, int(q * len(ordered)))]

    return (f"{name}: n={len(ordered)} mean {1000 * sum(ordered) / len(ordered):.3f} ms, p50 {at(0.5):.3f} ms, "
            f"p99 {at(0.99):.3f} ms, max {1000 * ordered[-1]:.3f} ms")


async def _time_engine(texts: Sequence[str]) -> None:
    from bot.app import assemble, ensure_ready
    from bot.catalog.model import Text
    from bot.config import Settings
    from bot.core.status import State
    from bot.store.repo import Store

    clock = time.perf_counter
    with tempfile.TemporaryDirectory(prefix="hali-timing-") as tmp:
        store = Store.from_url(f"sqlite+aiosqlite:///{tmp}/hali.db")
        try:
            await ensure_ready(store)
            await store.open_incident("ecitizen", State.MAJOR_OUTAGE, Text("Payments failing", "Malipo yanashindikana"),
                                      actor="bench")
            await store.open_incident("ntsa", State.PARTIAL_OUTAGE, Text("Smart DL renewals slow"), actor="bench")
            settings = Settings()
            engine = assemble(settings, store, cache_seconds=settings.status_cache_seconds).engine
            await engine.answer("warm up: is kra down?")
            first: list[float] = []
            for text in texts:
                started = clock()
                await engine.answer(text)
                first.append(clock() - started)
            again: list[float] = []
            for _ in range(4):
                for text in texts:
                    started = clock()
                    await engine.answer(text)
                    again.append(clock() - started)
        finally:
            await store.close()
    print(_line("Engine.answer, first pass", first))
    print(_line("Engine.answer, passes 2-5", again))


def report_timing() -> None:
    texts = [item.text for part in PARTS for item in load(part)]
    understander = Understander(load_catalog())
    alone = []
    for text in texts * 3:
        started = time.perf_counter()
        understander.understand(text)
        alone.append(time.perf_counter() - started)
    print()
    print(_line("Understander.understand", alone))
    asyncio.run(_time_engine(texts))


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--part", choices=(*PARTS, "all"), default="all")
    parser.add_argument("--misses", action="store_true", help="list the misses (never for the held-out part)")
    parser.add_argument("--model", action="store_true",
                        help="also score statistical readers trained on the development part, and the combination")
    parser.add_argument("--timing", action="store_true", help="time Engine.answer over the corpus instead")
    args = parser.parse_args(argv)
    if args.timing:
        report_timing()
        return 0
    parts = PARTS if args.part == "all" else (args.part,)
    read = rules_reader()
    for part in parts:
        report("rules", part, read, show_misses=args.misses)
    if args.model:
        report_models(parts, read, show_misses=args.misses)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
