"""Atom feeds of incidents and maintenance (feedgen), one entry per incident with its updates."""

from __future__ import annotations

import uuid
from collections.abc import Callable, Sequence
from datetime import datetime

from feedgen.feed import FeedGenerator
from markupsafe import escape

from bot.catalog.model import Service
from bot.core.status import Incident
from bot.i18n import Translator
from bot.render import STATE_NAMES
from bot.web.pages import Pages
from bot.web.published import MaintenanceStatus, Planned, Published, incident_changed, worst_state


def entry_id(kind: str, key: object) -> str:
    """A stable id that does not change when the public address does."""
    return f"urn:uuid:{uuid.uuid5(uuid.NAMESPACE_URL, f'hali:{kind}:{key}')}"


class Feeds:
    def __init__(self, published: Published, t: Translator, pages: Pages, *, absolute: Callable[[str], str]) -> None:
        self.p = published
        self.t = t
        self.pages = pages
        self.absolute = absolute  # a path under the public app -> the address readers follow

    def _name(self, service_id: str) -> str:
        service = self.p.snapshot.catalog.get(service_id)
        return service.name.get(self.t.lang) if service is not None else service_id

    def _incident(self, fg: FeedGenerator, incident: Incident) -> datetime:
        t = self.t
        entry = fg.add_entry(order="append")
        entry.id(entry_id("incident", incident.id))
        entry.title(f"{self._name(incident.service_id)}: {incident.title.get(t.lang)}")
        entry.link(href=self.absolute(f"incidents/{incident.id}?lang={t.lang}"), rel="alternate")
        entry.published(incident.opened_at)
        changed = incident_changed(incident)
        entry.updated(changed)
        state = t._(STATE_NAMES[worst_state(incident)])
        lines = [f"<p><strong>{escape(state)}</strong> · {escape(self.pages.when(incident.opened_at))}"]
        if incident.resolved_at is not None:
            lines[0] += " – " + str(escape(self.pages.when(incident.resolved_at)))
        lines[0] += "</p><ul>"
        for update in reversed(incident.updates):
            kind = {"opened": t._("Opened"), "resolved": t._("Resolved")}.get(update.kind, t._("Update"))
            message = f": {escape(update.message.get(t.lang))}" if update.message is not None else ""
            lines.append(f"<li>{escape(self.pages.when(update.at))} {escape(kind)}{message}</li>")
        lines.append("</ul>")
        entry.content("".join(lines), type="html")
        return changed

    def _maintenance(self, fg: FeedGenerator, planned: Planned) -> datetime:
        entry = fg.add_entry(order="append")
        entry.id(entry_id("maintenance", planned.id))
        entry.title(f"{self._name(planned.service_id)}: {planned.window.title.get(self.t.lang)}")
        entry.link(href=self.absolute(f"services/{planned.service_id}?lang={self.t.lang}"), rel="alternate")
        entry.published(planned.created_at)
        # The last step it has reached: planned, started, or over.
        changed = {MaintenanceStatus.SCHEDULED: planned.created_at, MaintenanceStatus.IN_PROGRESS: planned.start,
                   MaintenanceStatus.COMPLETED: planned.end}[planned.status]
        entry.updated(changed)
        entry.content(f"<p>{escape(self.pages.planned_text(planned))}</p>", type="html")
        return changed

    def _feed(self, path: str, title: str, incidents: Sequence[Incident], planned: Sequence[Planned]) -> bytes:
        fg = FeedGenerator()
        fg.id(entry_id("feed", path))
        fg.title(title)
        fg.language(self.t.lang)
        fg.link(href=self.absolute(f"{path}?lang={self.t.lang}"), rel="self")
        fg.link(href=self.absolute(f"?lang={self.t.lang}"), rel="alternate")
        fg.author(name="Hali")
        moments = [self._incident(fg, i) for i in incidents]
        moments += [self._maintenance(fg, p) for p in planned]
        fg.updated(max(moments, default=self.p.updated_at()))
        return bytes(fg.atom_str(pretty=False))

    def history(self) -> bytes:
        return self._feed("history.atom", self.t._("Hali: every incident and maintenance"),
                          self.p.incidents[:100], self.p.maintenance()[:50])

    def service(self, service: Service) -> bytes:
        name = service.name.get(self.t.lang)
        return self._feed(f"services/{service.id}.atom",
                          self.t._("{service}: incidents and maintenance (Hali)", service=name),
                          self.p.service_incidents(service.id)[:100],
                          [p for p in self.p.maintenance() if p.service_id == service.id][:50])
