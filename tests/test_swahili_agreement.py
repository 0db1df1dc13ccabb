"""Swahili agreement is safe by construction: a service's name is a label, never a subject.

Swahili verbs and adjectives agree with their subject's noun class, and the services' Swahili names
have different classes ("eCitizen" and "KRA iTax" N, "Cheti cha tabia njema" KI). So no template makes
`{service}` (or `{dependency}`) the subject of a verb: it stands before a colon ("<b>{service}</b>:
huduma inafanya kazi tena"), or as an object or a possessor ("arifa za {service}", "hitilafu ya
{service} itakapoisha", where the verb agrees with "hitilafu"). These tests fill every Swahili message
that takes a service with every service's name, and render every function that names a service, and
check each name in the result: what follows it must be punctuation, the end, a word that agrees with
nothing, or, after a possessive connector ("ya", "la", "za"…), a word that agrees with that
connector's noun. A new service or a new message cannot bring the error back.
"""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta

import pytest
from babel.messages.pofile import read_po

from bot.catalog.loader import load_catalog
from bot.catalog.model import Catalog, Service, Text
from bot.core.board import Snapshot
from bot.core.crowd import CrowdSignal
from bot.core.notifications import Event, EventKind
from bot.core.reports import Submitted
from bot.core.status import Incident, Signal, Source, State, effective_status
from bot.core.understanding import Symptom
from bot.i18n import locales_dir, translator
from bot.render import Reply, status_card, to_plain, workarounds
from bot.render import notify as notify_texts
from bot.render import operators as operator_texts
from bot.render import reports as report_texts
from bot.render.checks import card_extra, dependency_notice

NOW = datetime(2026, 12, 6, 9, 0, tzinfo=UTC)
SW = translator("sw")
NAME_PLACEHOLDERS = ("service", "dependency")
# Words after a name that agree with nothing: conjunctions and prepositions.
FREE = frozenset({"na", "au", "kwa", "kupitia", "kwenye", "ndani", "tangu", "hadi", "kutoka", "katika", "mpaka"})
# After "<noun> ya|la|za|cha|vya|wa {service}", the next word agrees with <noun>, which the connector
# names: these are the subject prefixes (and their negatives) of each connector's classes.
AGREES_AFTER = {
    "ya": ("i", "hai", "ya", "haya"),  # N singular (hitilafu ya…), MA plural (matatizo ya…)
    "la": ("li", "hali"),  # LI (tatizo la…)
    "za": ("zi", "hazi"),  # N plural (arifa za…)
    "cha": ("ki", "haki"),
    "vya": ("vi", "havi"),
    "wa": ("u", "hau", "wa", "hawa"),  # U (usajili wa…), M-WA plural
}
_WORD = re.compile(r"[^\W\d_]+")


def agreement_errors(text: str, name: str) -> list[str]:
    """Where `name` in `text` is followed by a word that would have to agree with it."""
    errors = []
    for match in re.finditer(re.escape(name), text):
        after = text[match.end():]
        following = re.match(r"[ \t]+([^\W\d_]+)", after)
        if following is None:  # the end, a line break or punctuation: a label
            continue
        word = following.group(1).casefold()
        if word in FREE:
            continue
        before = _WORD.findall(text[:match.start()])
        connector = before[-1].casefold() if before else ""
        if connector in AGREES_AFTER and word.startswith(AGREES_AFTER[connector]):
            continue
        errors.append(f"“{name}” + “{word}” in: {text.strip()[:160]}")
    return errors


@pytest.fixture(scope="module")
def catalog() -> Catalog:
    return load_catalog()


def _names(catalog: Catalog) -> list[str]:
    return [service.name.get("sw") for service in catalog.services]


class _Any(dict[str, str]):
    def __missing__(self, key: str) -> str:
        return "7"


def _messages_with_a_name() -> list[tuple[str, str]]:
    with (locales_dir() / "sw" / "LC_MESSAGES" / "messages.po").open("rb") as fh:
        catalog = read_po(fh, locale="sw")
    found = []
    for message in catalog:
        if not message.id:
            continue
        ids = message.id if isinstance(message.id, tuple | list) else (message.id,)
        strings = message.string if isinstance(message.string, tuple | list) else (message.string,)
        if any("{" + p + "}" in i for i in ids for p in NAME_PLACEHOLDERS):
            found += [(ids[0], s) for s in strings if s]
    return found


def test_some_swahili_messages_take_a_service_name() -> None:
    assert len(_messages_with_a_name()) >= 25


def test_the_check_finds_the_errors_it_is_for() -> None:
    assert agreement_errors("🟢 NTSA (zamani TIMS) inafanya kazi tena", "NTSA (zamani TIMS)")
    assert agreement_errors("Hakuna taarifa kwamba Kenya Power yenyewe haifanyi kazi.", "Kenya Power")
    assert agreement_errors("ujumbe mmoja Cheti cha tabia njema itakapofanya kazi tena?", "Cheti cha tabia njema")
    assert agreement_errors("tatizo la eCitizen itakapoisha", "eCitizen")  # "la" wants li-
    assert not agreement_errors("🟢 NTSA: huduma inafanya kazi tena", "NTSA")
    assert not agreement_errors("ujumbe mmoja hitilafu ya NTSA itakapoisha?", "NTSA")
    assert not agreement_errors("Tayari unapata arifa za eCitizen.", "eCitizen")


def test_every_swahili_message_with_a_service_agrees_for_every_service(catalog: Catalog) -> None:
    errors = []
    for msgid, template in _messages_with_a_name():
        for name in _names(catalog):
            text = to_plain(template.format_map(_Any(service=name, dependency=name)))
            errors += [f"{msgid[:50]!r}: {e}" for e in agreement_errors(text, name)]
    assert errors == []


# --- the real render functions, every service, in Swahili -------------------------------------------


def _incident(service: Service, state: State = State.MAJOR_OUTAGE) -> Incident:
    return Incident(1, service.id, state, Text("Payments failing", "Malipo yanashindikana"), NOW - timedelta(hours=1),
                    workaround=Text("Pay at a bank", "Lipa benki"))


def _statuses(catalog: Catalog) -> dict[str, object]:
    """Every service with an operator's incident: then every dependency line is shown too."""
    statuses = {}
    for service in catalog.services:
        incident = _incident(service)
        crowd = CrowdSignal(Source.REPORTS, State.DEGRADED, NOW - timedelta(minutes=20), reports=9,
                            window_minutes=30, symptom=Symptom.PAYMENT)
        statuses[service.id] = effective_status(service.id, [
            Signal(Source.INCIDENT, incident.state, incident.opened_at, incident), crowd])
    return statuses


def _rendered(catalog: Catalog, service: Service) -> list[Reply | str]:
    snapshot = Snapshot(catalog, _statuses(catalog))  # type: ignore[arg-type]
    status = snapshot.status(service.id)
    quiet = effective_status(service.id, [])
    out: list[Reply | str] = [
        status_card(SW, service, status, NOW, card_extra(SW, snapshot, service.id, NOW)),
        status_card(SW, service, quiet, NOW),
        workarounds(SW, service, status, NOW),
        notify_texts.subscribed(SW, service, already=False),
        notify_texts.subscribed(SW, service, already=True),
        notify_texts.unsubscribed(SW, [service.name.get("sw")], everything=False),
        report_texts.ask_symptom(SW, service, status, "n"),
        report_texts.ask_details(SW, service, Symptom.PAYMENT, "n"),
        report_texts.ask_follow_up(SW, service, "n"),
        report_texts.working_again(SW, service, ["R-ABC12"]),
        operator_texts.choose_severity(SW, "t", 1, service),
    ]
    for others, counted in ((0, True), (1, False), (4, True)):
        out.append(report_texts.submitted(SW, service, status, Submitted("R-ABC12", counted, False, others),
                                          follow_up=True, subscribed=False))
    for kind in EventKind:
        for state in (State.OPERATIONAL, State.MAJOR_OUTAGE, State.MAINTENANCE):
            event = Event(1, service.id, kind, state, NOW, since=NOW - timedelta(minutes=5),
                          source=Source.INCIDENT, title=Text("Down", "Haipatikani"), message=Text("Fixing"))
            out.append(notify_texts.notification(SW, service, event, NOW))
    for dependency in catalog.services:
        out.append(dependency_notice(SW, service, dependency, State.MAJOR_OUTAGE))
        out.append(dependency_notice(SW, service, dependency, None))
    return out


def _written_by_hand(catalog: Catalog) -> list[str]:
    """The catalogue's own Swahili sentences: their author wrote each name and its agreement."""
    texts = []
    for service in catalog.services:
        texts += [w.text.get("sw") for w in service.workarounds] + [c.label.get("sw") for c in service.contacts]
        texts += [t.get("sw") for t in (service.notes, service.used_for) if t is not None]
    return sorted(texts, key=len, reverse=True)


def test_every_rendered_swahili_text_that_names_a_service_agrees(catalog: Catalog) -> None:
    errors = []
    names = _names(catalog)
    by_hand = _written_by_hand(catalog)
    for service in catalog.services:
        for reply in _rendered(catalog, service):
            if isinstance(reply, str):
                texts = [reply]
            else:
                texts = [reply.plain, *(b.text for row in reply.buttons for b in row)]
            for text in texts:
                for sentence in by_hand:
                    text = text.replace(sentence, "")
                for name in names:
                    errors += [f"{service.id}: {e}" for e in agreement_errors(text, name)]
    assert errors == []
