"""The public status page: HTML from Jinja2 templates (autoescaped), in the reader's language.

The templates get plain strings and small view objects built here; every message comes from the bot's
gettext catalogs through the Translator, and every dynamic part is escaped by Jinja2 on output.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from functools import cache
from importlib.resources import files
from typing import Any

from babel.dates import format_date
from jinja2 import Environment, PackageLoader, StrictUndefined, select_autoescape
from markupsafe import Markup

from bot.catalog.model import Service, Text
from bot.core.checks import Outcome
from bot.core.dependencies import dependency_notes
from bot.core.maintenance import EAT
from bot.core.status import EffectiveStatus, Incident, State
from bot.i18n import LANGUAGES, N_, Translator
from bot.render import GROUP_NAMES, SOURCE_NAMES, STATE_NAMES
from bot.render.checks import OUTCOMES, day_and_time, percent
from bot.web.published import Day, DayLevel, Planned, Published, Segment, worst_state
from bot.web.record import Record

LANGUAGE_NAMES = {"en": "English", "sw": "Kiswahili"}

# Shapes as well as colours: a state is always an icon and a word.
ICONS = {
    None: "○",
    State.OPERATIONAL: "✓",
    State.DEGRADED: "◔",
    State.PARTIAL_OUTAGE: "◑",
    State.MAJOR_OUTAGE: "✕",
    State.MAINTENANCE: "⚙",
}
STATE_CLASSES = {
    None: "unknown",
    State.OPERATIONAL: "ok",
    State.DEGRADED: "degraded",
    State.PARTIAL_OUTAGE: "partial",
    State.MAJOR_OUTAGE: "major",
    State.MAINTENANCE: "maintenance",
}
DAY_WORDS = {
    DayLevel.NONE: N_("No data"),
    DayLevel.UP: N_("No problems"),
    DayLevel.MINOR: N_("Some problems"),
    DayLevel.MAJOR: N_("Outage"),
    DayLevel.MAINTENANCE: N_("Maintenance"),
}
REASONS = {
    "slow": N_("slow answers"),
    "timeout": N_("no answer within the time limit"),
    "dns": N_("its address could not be found (DNS)"),
    "refused": N_("the connection was refused"),
    "connect": N_("the connection failed"),
    "tls": N_("a security certificate (TLS) error"),
    "redirects": N_("too many redirects"),
    "body": N_("a maintenance or error page"),
    "error": N_("an answer Hali could not read"),
}


@cache
def stylesheet() -> Markup:
    """The page's CSS, inlined: one request less on a slow network (it is about 3 KB)."""
    return Markup(files("bot.web").joinpath("static/hali.css").read_text(encoding="utf-8"))


def environment() -> Environment:
    env = Environment(
        loader=PackageLoader("bot.web", "templates"),
        autoescape=select_autoescape(default=True, default_for_string=True),
        undefined=StrictUndefined,
        trim_blocks=True,
        lstrip_blocks=True,
    )
    return env


@dataclass(frozen=True)
class Shown:
    """An operator's or the catalogue's text in the reader's language; `lang` differs when it is not."""

    text: str
    lang: str


def shown(t: Translator, text: Text) -> Shown:
    return Shown(text.get(t.lang), t.lang if text.has(t.lang) else "en")


@dataclass(frozen=True)
class StateView:
    word: str
    icon: str
    css: str


def state_view(t: Translator, status: EffectiveStatus) -> StateView:
    if status.source is None:
        return StateView(t._("No problems known"), ICONS[None], STATE_CLASSES[None])
    return StateView(t._(STATE_NAMES[status.state]), ICONS[status.state], STATE_CLASSES[status.state])


def incident_state_view(t: Translator, state: State) -> StateView:
    return StateView(t._(STATE_NAMES[state]), ICONS[state], STATE_CLASSES[state])


class Pages:
    """Renders the page's documents from one Published, in one language."""

    def __init__(self, env: Environment, published: Published, t: Translator, *, base: str,
                 canonical_base: str) -> None:
        self.env = env
        self.p = published
        self.t = t
        self.base = base  # the path the public app is mounted at, ending in "/"
        self.canonical_base = canonical_base  # HALI_PUBLIC_URL, or the same path

    # --- small helpers the templates use -----------------------------------------------------------

    def href(self, path: str = "") -> str:
        return f"{self.base}{path}?lang={self.t.lang}"

    def when(self, moment: datetime) -> str:
        return f"{self.t.date_time(moment)} EAT"

    def ago(self, moment: datetime) -> str:
        return self.t.ago(moment, self.p.now)

    def duration(self, span: timedelta) -> str:
        minutes = max(0, int(span.total_seconds() // 60))
        days, rest = divmod(minutes, 24 * 60)
        hours, minutes = divmod(rest, 60)
        parts = []
        if days:
            parts.append(self.t.ngettext("{n} day", "{n} days", days))
        if hours:
            parts.append(self.t.ngettext("{n} hour", "{n} hours", hours))
        if minutes or not parts:
            parts.append(self.t.ngettext("{n} minute", "{n} minutes", minutes))
        return " ".join(parts)

    def day(self, day: Any) -> str:
        return format_date(day, "d MMM yyyy", locale=self.t.locale)

    def percent(self, share: float | None) -> str:
        return percent(self.t, share)

    def segment_label(self, segment: Segment) -> str:
        word = self.t._(DAY_WORDS[segment.level])
        if segment.days == 1:
            when = self.day(segment.first)
        else:
            when = self.t.ngettext("{start} to {end} ({n} day)", "{start} to {end} ({n} days)", segment.days,
                                   start=self.day(segment.first), end=self.day(segment.last))
        if segment.share is None:
            return self.t._("{when}: {what}", when=when, what=word)
        return self.t._("{when}: {what}, {share} of checks answered", when=when, what=word,
                        share=self.percent(segment.share))

    def day_word(self, day: Day) -> str:
        return self.t._(DAY_WORDS[day.level])

    def planned_text(self, planned: Planned) -> str:
        title = planned.window.title.get(self.t.lang)
        same_day = planned.start.astimezone(EAT).date() == planned.end.astimezone(EAT).date()
        end = self.t.time(planned.end) if same_day else day_and_time(self.t, planned.end)
        if planned.start <= self.p.now < planned.end:
            return self.t._("🔧 Planned maintenance until {end} EAT: {title}", end=end, title=title)
        return self.t._("🔧 Planned maintenance on {start}–{end} EAT: {title}",
                        start=day_and_time(self.t, planned.start), end=end, title=title)

    def reasons(self, reasons: dict[str, int]) -> str:
        words = []
        for key, n in sorted(reasons.items(), key=lambda kv: (-kv[1], kv[0])):
            outcome, _, code = key.partition(" ")
            if outcome == Outcome.HTTP_STATUS.value:
                what = self.t._(OUTCOMES[Outcome.HTTP_STATUS], code=code or "?")
            else:
                what = self.t._(REASONS.get(outcome, REASONS["error"]))
            words.append(self.t.ngettext("{what} ({n} time)", "{what} ({n} times)", n, what=what))
        return "; ".join(words)

    def dependencies(self, service_id: str) -> list[str]:
        lines = []
        for note in dependency_notes(self.p.snapshot, service_id):
            dependency = self.p.snapshot.catalog[note.dependency_id].name.get(self.t.lang)
            if note.state is State.MAINTENANCE:
                lines.append(self.t._("⚠️ Payments may fail because {dependency} is under maintenance.",
                                      dependency=dependency))
            else:
                lines.append(self.t._("⚠️ Payments may fail because {dependency} has a problem ({state}).",
                                      dependency=dependency, state=self.t._(STATE_NAMES[note.state])))
        return lines

    def workarounds(self, service: Service, status: EffectiveStatus) -> list[Shown]:
        items = [shown(self.t, i.workaround) for i in status.incidents if i.workaround is not None]
        items += [shown(self.t, w.text) for w in service.shown_workarounds()]
        return items

    def source(self, status: EffectiveStatus) -> str:
        assert status.source is not None
        return self.t._("Source: {source}", source=self.t._(SOURCE_NAMES[status.source]))

    # --- the documents ------------------------------------------------------------------------------

    def _render(self, template: str, *, path: str, title: str, **values: Any) -> bytes:
        other = next(lang for lang in LANGUAGES if lang != self.t.lang)
        page = self.env.get_template(template).render(
            p=self.p, t=self.t, _=self.t._, ngettext=self.t.ngettext, v=self, lang=self.t.lang,
            other=other, other_name=LANGUAGE_NAMES[other], base=self.base, path=path, title=title,
            canonical=f"{self.canonical_base}{path}?lang={self.t.lang}", css=stylesheet(),
            STATE_NAMES=STATE_NAMES, GROUP_NAMES=GROUP_NAMES, state_view=lambda s: state_view(self.t, s),
            incident_state=lambda s: incident_state_view(self.t, s), shown=lambda x: shown(self.t, x),
            worst_state=worst_state, **values,
        )
        return page.encode()

    def index(self) -> bytes:
        problems = [s for s in self.p.services if self.p.status(s.id).known_problem]
        recent = self.p.incidents[:10]
        return self._render("index.html", path="", title=self.t._("Hali: are Kenya's government e-services working?"),
                            problems=problems, recent=recent, upcoming=self.p.upcoming())

    def service(self, service: Service) -> bytes:
        bar = list(reversed(self.p.bar(service.id)))
        return self._render("service.html", path=f"services/{service.id}",
                            title=self.t._("{service}: is it working? (Hali)", service=service.name.get(self.t.lang)),
                            service=service, days=bar, incidents=self.p.service_incidents(service.id)[:20],
                            upcoming=self.p.upcoming(service.id))

    def incident(self, record: Record, service: Service | None) -> bytes:
        incident = record.incident
        return self._render("incident.html", path=f"incidents/{incident.id}",
                            title=self.t._("Incident {id}: {title} (Hali)", id=incident.id,
                                           title=incident.title.get(self.t.lang)),
                            record=record, incident=incident, service=service,
                            updates=list(incident.updates))

    def not_found(self) -> bytes:
        return self._render("not_found.html", path="", title=self.t._("Not found (Hali)"))


def incident_title(t: Translator, incident: Incident) -> Shown:
    return shown(t, incident.title)


__all__: Sequence[str] = ["Pages", "environment", "stylesheet"]
