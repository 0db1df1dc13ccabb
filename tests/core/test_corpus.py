"""The labelled corpus is big, covers every service, intent and way of writing, and its parts stay apart."""

from __future__ import annotations

from collections import Counter

import pytest

from bot.catalog.model import Catalog
from bot.core.understanding import Understander
from tests.core import corpus
from tests.core.understanding_cases import CASES


@pytest.fixture(scope="module")
def parts() -> dict[str, list[corpus.Labelled]]:
    return {part: corpus.load(part) for part in corpus.PARTS}


def test_the_corpus_has_at_least_600_messages_a_third_of_them_held_out(
    parts: dict[str, list[corpus.Labelled]],
) -> None:
    development, heldout = len(parts["development"]), len(parts["heldout"])
    assert development + heldout >= 600
    # The development part keeps its share of the split and may grow; the held-out part is what the split
    # made it. Messages added to the development part later were never split (see its header).
    assert development >= corpus.SPLIT - heldout
    assert 0.25 <= heldout / corpus.SPLIT <= 0.4


def test_no_message_is_in_both_parts_or_in_the_older_table(parts: dict[str, list[corpus.Labelled]]) -> None:
    seen: Counter[str] = Counter()
    for items in parts.values():
        seen.update(item.text.casefold().strip() for item in items)
    assert [text for text, n in seen.items() if n > 1] == []
    table = {text.casefold().strip() for text, *_ in CASES}
    assert table.isdisjoint(seen)


def test_the_held_out_part_says_it_is_for_measuring_only() -> None:
    head = corpus.path("heldout").read_text(encoding="utf-8").split("\n", 1)[0]
    assert "FOR MEASURING ONLY" in head


@pytest.mark.parametrize("part", corpus.PARTS)
def test_each_part_covers_every_intent_service_and_register(
    part: str, parts: dict[str, list[corpus.Labelled]], catalog: Catalog
) -> None:
    items = parts[part]
    intents = Counter(item.intent for item in items)
    assert set(intents) == corpus.INTENTS
    assert min(intents.values()) >= 5, intents
    services = Counter(item.service for item in items if item.service)
    assert set(services) == set(catalog.ids), set(catalog.ids) ^ set(services)
    assert min(services.values()) >= 3, services
    registers = Counter(item.register for item in items)
    assert set(registers) == corpus.REGISTERS
    assert min(registers[r] for r in ("en", "sw", "sheng", "mixed")) >= 30, registers


def test_the_corpus_has_long_messages_and_messages_that_are_none_of_the_intents(
    parts: dict[str, list[corpus.Labelled]],
) -> None:
    items = [item for part in parts.values() for item in part]
    assert sum(len(item.text) >= 120 for item in items) >= 20
    assert sum(item.intent == "other" and item.service is None for item in items) >= 30


# Development: what the rules were tuned on. Held-out: measured, never tuned on; its targets are intent
# 0.95, service 0.98, language 0.98, and they are its floors. It meets them since the English work on the
# development part (measured once after it: intent 237/246, service 243/246, language 244/246).
TARGETS = {"intent": 0.95, "service": 0.98, "language": 0.98}
FLOORS = {
    "development": {"intent": 0.97, "service": 0.98, "language": 0.98},
    "heldout": TARGETS,
}


def _accuracy(items: list[corpus.Labelled], understander: Understander) -> dict[str, float]:
    hits = {"intent": 0, "service": 0, "language": 0}
    for item in items:
        result = understander.understand(item.text)
        hits["intent"] += result.intent.value == item.intent
        hits["service"] += result.service == item.service
        hits["language"] += result.language == item.language
    return {name: count / len(items) for name, count in hits.items()}


@pytest.mark.parametrize("part", corpus.PARTS)
def test_understanding_reaches_its_floor_on_each_part(
    part: str, parts: dict[str, list[corpus.Labelled]], understander: Understander
) -> None:
    accuracy = _accuracy(parts[part], understander)
    print(f"\n{part}: " + ", ".join(f"{name} {value:.3f}" for name, value in accuracy.items()))
    below = {name: value for name, value in accuracy.items() if value < FLOORS[part][name]}
    assert not below, (
        f"{part} below its floor {FLOORS[part]}: {below}. Improve the rules on the development part; "
        "the held-out part is for measuring only."
    )


def test_the_held_out_part_meets_every_target(
    parts: dict[str, list[corpus.Labelled]], understander: Understander
) -> None:
    accuracy = _accuracy(parts["heldout"], understander)
    assert accuracy["intent"] >= TARGETS["intent"], accuracy
    assert accuracy["service"] >= TARGETS["service"], accuracy
    assert accuracy["language"] >= TARGETS["language"], accuracy
