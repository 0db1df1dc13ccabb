"""The words every rendering shares: the names of states, sources, groups and services, and the
workarounds' list. A leaf of `bot.render`, so that its modules need not import one another."""

from __future__ import annotations

import html

from bot.catalog.model import GROUPS, Service, Text
from bot.core.reply import Button, e
from bot.core.status import EffectiveStatus, Source, State
from bot.i18n import N_, Translator

# Incident texts come from operators; long ones are cut so a card always fits in one message.
_OPERATOR_TEXT_LIMIT = 600


def _short(text: str, limit: int = _OPERATOR_TEXT_LIMIT) -> str:
    return text if len(text) <= limit else text[: limit - 1].rstrip() + "…"


STATE_NAMES = {
    State.OPERATIONAL: N_("Operational"),
    State.DEGRADED: N_("Degraded performance"),
    State.PARTIAL_OUTAGE: N_("Partial outage"),
    State.MAJOR_OUTAGE: N_("Major outage"),
    State.MAINTENANCE: N_("Under maintenance"),
}

STATE_ICONS = {
    State.OPERATIONAL: "🟢",
    State.DEGRADED: "🟡",
    State.PARTIAL_OUTAGE: "🟠",
    State.MAJOR_OUTAGE: "🔴",
    State.MAINTENANCE: "🔧",
}


UNKNOWN_ICON = "⚪"


SOURCE_NAMES = {
    Source.INCIDENT: N_("an official notice from the service provider"),
    Source.MAINTENANCE: N_("maintenance announced by the service provider"),
    Source.MONITORING: N_("the service provider's own monitoring"),
    Source.CHECK: N_("Hali's automatic check"),
    Source.REPORTS: N_("citizens' reports (unconfirmed)"),
}


GROUP_NAMES = {
    "payments": N_("Payments and eCitizen"),
    "tax_business": N_("Tax and business"),
    "transport_land": N_("Transport and land"),
    "identity_travel": N_("Identity, travel and elections"),
    "social": N_("Health, pensions and education"),
    "in_person": N_("In-person help"),
}

assert set(GROUP_NAMES) == set(GROUPS)


def state_name(t: Translator, status: EffectiveStatus) -> str:
    if status.source is None:
        return t._("No problems known")
    return t._(STATE_NAMES[status.state])


def state_icon(status: EffectiveStatus) -> str:
    if status.source is None:
        return UNKNOWN_ICON
    return STATE_ICONS[status.state]


def operator_text(t: Translator, text: Text) -> str:
    """An operator's text in the reader's language, or the English one marked as such."""
    if text.has(t.lang):
        return e(_short(text.get(t.lang)))
    return t._("{text} <i>(in English)</i>", text=e(_short(text.en)))


def service_name(t: Translator, service: Service) -> str:
    return e(service.name.get(t.lang))


def record_line(t: Translator, link: str) -> str:
    """A link to an incident's public record (start, end, timeline), which a citizen can cite."""
    # An attribute: quotes are escaped too.
    return t._('<a href="{link}">The full record of this incident</a>', link=html.escape(link, quote=True))


def channel_button(t: Translator, link: str) -> Button:
    """A link to the public channel, where every incident and change is posted."""
    return Button(t._("📢 Updates on Hali's channel"), url=link)


def workaround_lines(t: Translator, service: Service, status: EffectiveStatus) -> list[str]:
    items = [operator_text(t, i.workaround) for i in status.incidents if i.workaround is not None]
    items += [e(w.text.get(t.lang)) for w in service.shown_workarounds()]
    if not items:
        return []
    return ["", t._("<b>What you can do:</b>")] + [f"• {item}" for item in items]
