"""Operators' /who and /reports on Telegram: counts only, escaped, within Telegram's limit."""

from __future__ import annotations

from collections.abc import Mapping, Sequence

from bot.catalog.model import Catalog
from bot.core.notifications import ALL_SERVICES
from bot.core.reply import Reply, e, fit
from bot.core.reports import ServiceSummary
from bot.core.understanding import Symptom
from bot.i18n import Translator
from bot.render.reports import symptom_name
from bot.render.words import service_name


def who(t: Translator, catalog: Catalog, counts: Mapping[str, int], chats: int) -> Reply:
    """How many chats follow each service (and every service); never who they are."""
    lines = [t.ngettext("<b>{n} chat gets alerts.</b>", "<b>{n} chats get alerts.</b>", chats)]
    lines.append(t._("• Every service: {n}", n=counts.get(ALL_SERVICES, 0)))
    for service in catalog.services:
        if counts.get(service.id):
            lines.append(f"• {service_name(t, service)}: {counts[service.id]}")
    if len(lines) == 2 and not counts.get(ALL_SERVICES):
        lines.append(t._("Nobody follows a single service yet."))
    return Reply(fit("\n".join(lines)))


def reports_summary(t: Translator, catalog: Catalog, summaries: Sequence[ServiceSummary], hours: int) -> Reply:
    """Citizens' reports per service in the last `hours`: counts by symptom and the crowd signal."""
    summaries = [s for s in summaries if s.total or s.signal is not None]
    if not summaries:
        return Reply(t.ngettext("No reports in the last hour.", "No reports in the last {n} hours.", hours))
    lines = [t.ngettext("<b>Reports in the last hour</b>", "<b>Reports in the last {n} hours</b>", hours)]
    for s in summaries:
        service = catalog.get(s.service_id)
        name = service_name(t, service) if service is not None else e(s.service_id)
        lines.append("")
        lines.append(t.ngettext("<b>{service}</b>: {n} report ({counted} counted, {flagged} flagged as suspicious)",
                                "<b>{service}</b>: {n} reports ({counted} counted, {flagged} flagged as suspicious)",
                                s.total, service=name, counted=s.counted, flagged=s.flagged))
        for symptom, count in sorted(s.by_symptom.items(), key=lambda kv: -kv[1]):
            try:
                label = symptom_name(t, Symptom(symptom))
            except ValueError:
                label = e(symptom)
            lines.append(f"• {label}: {count}")
        if s.signal is not None:
            lines.append(t._("⚠️ Crowd signal on: {n} reports in {minutes} minutes.",
                             n=s.signal.reports, minutes=s.signal.window_minutes))
    return Reply(fit("\n".join(lines)))
