"""Card texts for automatic checks, uptime, maintenance windows and dependencies."""

from __future__ import annotations

from datetime import datetime

from bot.catalog.model import Service
from bot.core.board import Snapshot
from bot.core.checks import CheckView, Outcome, Uptime
from bot.core.clock import EAT
from bot.core.dependencies import dependency_notes
from bot.core.maintenance import Occurrence
from bot.core.reply import Reply, e
from bot.core.status import State
from bot.i18n import LANGUAGES, N_, Translator, translator
from bot.render.words import STATE_NAMES, operator_text, service_name

OUTCOMES = {
    Outcome.OK: N_("it answered normally in {seconds} seconds"),
    Outcome.SLOW: N_("it answered slowly, in {seconds} seconds"),
    Outcome.TIMEOUT: N_("no answer within the time limit"),
    Outcome.DNS: N_("its address could not be found (DNS)"),
    Outcome.REFUSED: N_("the connection was refused"),
    Outcome.CONNECT: N_("the connection failed"),
    Outcome.TLS: N_("a security certificate (TLS) error"),
    Outcome.REDIRECTS: N_("too many redirects"),
    Outcome.HTTP_STATUS: N_("an error page (HTTP {code})"),
    Outcome.BODY: N_("a maintenance or error page"),
    Outcome.ERROR: N_("an answer Hali could not read"),
}


def outcome_text(t: Translator, view: CheckView) -> str:
    assert view.last_outcome is not None
    # Seconds, not milliseconds: "ms" means nothing to most readers.
    seconds = f"{(view.last_latency_ms or 0) / 1000:.1f}"
    return t._(OUTCOMES[view.last_outcome], seconds=seconds, code=view.last_status_code or "?")


def percent(t: Translator, share: float | None) -> str:
    if share is None:
        return "–"
    # 99.95% must not read as 100%: round down at one decimal.
    value = int(share * 1000) / 10
    return t._("{value}%", value=f"{value:.1f}" if value < 100 else "100")


def uptime_text(t: Translator, uptime: Uptime) -> str:
    return t._("Uptime: {day} (24 hours) · {week} (7 days) · {month} (30 days)",
               day=percent(t, uptime.day), week=percent(t, uptime.week), month=percent(t, uptime.month))


def check_lines(t: Translator, view: CheckView | None, now: datetime) -> list[str]:
    if view is None:
        return []
    if view.last_at is None or view.last_outcome is None:
        return [t._("Hali's automatic checks of this service have not run yet.")]
    if view.offline:
        line = t._("Last automatic check at {clock} EAT: Hali could not reach the internet, so it learned "
                   "nothing new about this service.", clock=t.time(view.last_at))
    else:
        line = t._("Last automatic check at {clock} EAT ({ago}): {what}.", clock=t.time(view.last_at),
                   ago=t.ago(view.last_at, now), what=outcome_text(t, view))
    return [line, uptime_text(t, view.uptime)]


def day_and_time(t: Translator, moment: datetime) -> str:
    """'Sunday 6 December, 18:00' / 'Jumapili 6 Desemba, saa 18:00' in East Africa Time."""
    return t.day_time(moment)


def window_text(t: Translator, occ: Occurrence, now: datetime) -> str:
    title = operator_text(t, occ.window.title)
    same_day = occ.start.astimezone(EAT).date() == occ.end.astimezone(EAT).date()
    end = t.time(occ.end) if same_day else day_and_time(t, occ.end)
    if occ.active(now):
        return t._("🔧 Planned maintenance until {end} EAT: {title}", end=end, title=title)
    return t._("🔧 Planned maintenance on {start}–{end} EAT: {title}", start=day_and_time(t, occ.start),
               end=end, title=title)


def maintenance_lines(t: Translator, planned: tuple[Occurrence, ...], now: datetime) -> list[str]:
    return [window_text(t, occ, now) for occ in planned[:3]]


def dependency_lines(t: Translator, snapshot: Snapshot, service_id: str) -> list[str]:
    lines = []
    for note in dependency_notes(snapshot, service_id):
        dependency = snapshot.catalog[note.dependency_id]
        if note.state is State.MAINTENANCE:
            lines.append(t._("⚠️ Payments may fail because {dependency} is under maintenance.",
                             dependency=service_name(t, dependency)))
        else:
            lines.append(t._("⚠️ Payments may fail because {dependency} has a problem ({state}).",
                             dependency=service_name(t, dependency), state=e(t._(STATE_NAMES[note.state]))))
    return lines


def card_extra(t: Translator, snapshot: Snapshot, service_id: str, now: datetime) -> list[str]:
    """Lines for the status card between the state and the workarounds."""
    lines = dependency_lines(t, snapshot, service_id)
    lines += maintenance_lines(t, snapshot.planned.get(service_id, ()), now)
    lines += check_lines(t, snapshot.checks.get(service_id), now)
    return lines


def services_uptime(t: Translator, view: CheckView | None) -> str:
    """The /services suffix: ' · 99.9% / 99.5% / 98.0%' for checked services."""
    if view is None:
        return ""
    u = view.uptime
    return f" · {percent(t, u.day)} / {percent(t, u.week)} / {percent(t, u.month)}"


def services_uptime_legend(t: Translator) -> str:
    return t._("Percentages: uptime measured by Hali's checks over 24 hours / 7 days / 30 days.")


def dependency_wording(service: Service, dependency: Service, state: State | None) -> dict[str, str]:
    """`dependency_notice` in every language: what the status watcher stores with a dependency event."""
    return {lang: dependency_notice(translator(lang), service, dependency, state).html for lang in LANGUAGES}


def dependency_notice(t: Translator, service: Service, dependency: Service, state: State | None) -> Reply:
    """The message the notifications feature sends to a dependent service's subscribers (see
    bot.core.dependencies.dependency_events)."""
    if state is None:
        return Reply(t._("<b>{service}</b>: the problem with {dependency} is over; payments should work "
                         "again.", service=service_name(t, service), dependency=service_name(t, dependency)))
    return Reply(t._("<b>{service}</b>: payments may fail because {dependency} has a problem ({state}). "
                     "{service} itself is not reported down.", service=service_name(t, service),
                     dependency=service_name(t, dependency), state=e(t._(STATE_NAMES[state]))))
