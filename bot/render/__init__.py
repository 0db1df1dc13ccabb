"""Every text a citizen reads is formatted here, as Telegram HTML with every dynamic part escaped."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from datetime import datetime, timedelta

from bot.catalog.model import GROUPS, Ambiguity, Service
from bot.core.actions import ChooseLanguage, Forget, Refresh, ServicesList, ShowCard, encode
from bot.core.board import Snapshot
from bot.core.clock import EAT
from bot.core.reply import TELEGRAM_TEXT_LIMIT, Button, Reply, e, fit, to_plain
from bot.core.status import EffectiveStatus
from bot.i18n import Translator
from bot.render.checks import services_uptime, services_uptime_legend
from bot.render.notify import notify_button, privacy_lines
from bot.render.reports import crowd_lines, report_button
from bot.render.words import (
    GROUP_NAMES,
    SOURCE_NAMES,
    STATE_ICONS,
    STATE_NAMES,
    UNKNOWN_ICON,
    channel_button,
    operator_text,
    record_line,
    service_name,
    state_icon,
    state_name,
    workaround_lines,
)

__all__ = ["GROUP_NAMES", "SOURCE_NAMES", "STATE_ICONS", "STATE_NAMES", "TELEGRAM_TEXT_LIMIT", "UNKNOWN_ICON", "Button",
           "Reply", "channel_button", "e", "fit", "operator_text", "record_line", "service_name", "state_icon",
           "state_name", "to_plain", "workaround_lines"]


# --- the status card ----------------------------------------------------------------------------


def status_card(
    t: Translator,
    service: Service,
    status: EffectiveStatus,
    now: datetime,
    extra: Sequence[str] = (),
    *,
    subscribed: bool = False,
    channel: str | None = None,
    incident_link: Callable[[int], str] | None = None,
    stale_since: datetime | None = None,
) -> Reply:
    """The answer to "is X down?": state, since when, from where, what is known, what to do.

    `extra` lines (dependencies, maintenance, the last check and uptime) come before what to do.
    `subscribed` says whether this chat gets alerts for the service; the card's notify button
    shows that state ("Notify me" / "Stop notifications") and flips it. During a known problem the
    card links to the public `channel`, where every update is posted, and `incident_link` gives the
    address of the incident's public record (HALI_PUBLIC_URL), which the card links to. `stale_since`:
    the store did not answer, and the state shown is the one read then.
    """
    name = service_name(t, service)
    lines = [f"{state_icon(status)} <b>{name}</b>: {e(state_name(t, status))}"]
    if status.source is None:
        if status.automatically_checked:
            lines.append(t._("Hali checks this service automatically and no problem is known."))
        elif service.checks:
            # Checked, but no check has learnt anything yet: the check line below says so.
            lines.append(t._("Neither the service provider nor any citizen has reported a problem."))
        else:
            lines.append(t._(
                "Neither the service provider nor any citizen has reported a problem. Hali does not check "
                "this service automatically, so if it fails for you, it may be a new problem."
            ))
    else:
        if status.since is not None:
            lines.append(t.since(status.since, now))
        lines.append(t._("Source: {source}", source=e(t._(SOURCE_NAMES[status.source]))))
        incident = status.incident
        if incident is not None:
            lines.append("")
            lines.append(f"<b>{operator_text(t, incident.title)}</b>")
            latest = incident.latest_message
            if latest is not None and latest.message is not None:
                lines.append(t._("Latest update ({clock} EAT): {message}", clock=t.time(latest.at),
                                 message=operator_text(t, latest.message)))
            if incident_link is not None:
                lines.append(record_line(t, incident_link(incident.id)))
    lines.extend(crowd_lines(t, status, now))
    if extra:
        lines.append("")
        lines.extend(extra)
    lines.extend(workaround_lines(t, service, status))
    lines.append("")
    if stale_since is not None:
        lines.append(stale_note(t, stale_since, now))
    else:
        lines.append(t._("<i>As of {clock} EAT</i>", clock=t.time(now)))
    buttons: tuple[tuple[Button, ...], ...] = (
        (Button(t._("🔄 Refresh"), data=encode(Refresh(service.id))), notify_button(t, service.id, subscribed)),
        (report_button(t, service.id),),
    )
    if channel is not None and status.known_problem:
        buttons = (*buttons, (channel_button(t, channel),))
    return Reply(fit("\n".join(lines)), buttons)


def _contact_lines(t: Translator, service: Service) -> list[str]:
    contacts = service.shown_contacts()
    if not contacts:
        return []
    return ["", t._("<b>Contacts:</b>")] + [
        f"• {e(c.label.get(t.lang))}: {e(c.value)}" for c in contacts
    ]


def workarounds(t: Translator, service: Service, status: EffectiveStatus, now: datetime,
                extra: Sequence[str] = ()) -> Reply:
    """The answer to "what can I do instead?": the state first (since when, and `extra`: what it
    depends on and planned maintenance), then what to do and whom to contact."""
    name = service_name(t, service)
    lines = [t._("<b>{service}: what you can do instead</b>", service=name)]
    lines.append(f"{state_icon(status)} {e(state_name(t, status))}")
    if status.source is not None and status.since is not None:
        lines.append(t.since(status.since, now))
    lines.extend(extra)
    body = workaround_lines(t, service, status)
    if body:
        lines.append("")
        lines.extend(body[2:])
    else:
        lines.append(t._("Hali knows no alternative way for this service yet."))
    lines.extend(_contact_lines(t, service))
    buttons = ((Button(t._("Status of {service}", service=service.name.get(t.lang)),
                       data=encode(ShowCard(service.id))),),)
    return Reply(fit("\n".join(lines)), buttons)


# --- lists --------------------------------------------------------------------------------------


def services_list(t: Translator, snapshot: Snapshot, now: datetime) -> Reply:
    """/services: every service with its state, grouped, in one message."""
    lines = [t._("<b>Government e-services: status now</b>")]
    for group in GROUPS:
        members = [s for s in snapshot.services if s.group == group]
        if not members:
            continue
        lines.append("")
        lines.append(f"<b>{e(t._(GROUP_NAMES[group]))}</b>")
        for service in members:
            status = snapshot.status(service.id)
            lines.append(f"{state_icon(status)} {service_name(t, service)}: {e(state_name(t, status))}"
                         f"{e(services_uptime(t, snapshot.checks.get(service.id)))}")
    lines.append("")
    if snapshot.checks:
        lines.append(services_uptime_legend(t))
    lines.append(t._("⚪ no problems known · 🟡 degraded · 🟠 partial outage · 🔴 major outage · "
                     "🔧 maintenance"))
    lines.append(t._("Ask about one, e.g. <code>/status kra</code>."))
    if snapshot.stale and snapshot.taken_at is not None:
        lines += ["", stale_note(t, snapshot.taken_at, now)]
    return Reply(fit("\n".join(lines)))


def problems(t: Translator, snapshot: Snapshot, now: datetime) -> Reply:
    """/status without a service: the services with problems first, then everyone else in one line."""
    troubled = [s for s in snapshot.services if snapshot.status(s.id).known_problem]
    if not troubled:
        lines = [t._("⚪ No problems known with any service Hali follows.")]
    else:
        lines = [t.ngettext("<b>{n} service has a problem:</b>", "<b>{n} services have problems:</b>",
                            len(troubled))]
        for service in troubled:
            status = snapshot.status(service.id)
            since = t.ago(status.since, now) if status.since else ""
            lines.append(f"{state_icon(status)} {service_name(t, service)}: "
                         f"{e(state_name(t, status))} ({e(since)})")
        lines.append("")
        lines.append(t._("All others: no problems known."))
    lines.append(t._("Send the name of a service for details, or /services for the full list."))
    if snapshot.stale and snapshot.taken_at is not None:
        lines += ["", stale_note(t, snapshot.taken_at, now)]
    buttons = tuple(
        (Button(s.name.get(t.lang), data=encode(ShowCard(s.id))),) for s in troubled[:8]
    )
    return Reply(fit("\n".join(lines)), buttons)


# --- clarifying ---------------------------------------------------------------------------------


def did_you_mean(t: Translator, services: Sequence[Service]) -> Reply:
    lines = [t._("Did you mean one of these?")]
    buttons = tuple((Button(s.name.get(t.lang), data=encode(ShowCard(s.id))),) for s in services[:6])
    return Reply("\n".join(lines), (*buttons, (Button(t._("All services"), data=encode(ServicesList())),)))


def which_one(t: Translator, ambiguity: Ambiguity, services: Sequence[Service]) -> Reply:
    lines = [t._("“{term}” can mean more than one thing. Which one do you mean?", term=e(ambiguity.term))]
    if ambiguity.note is not None:
        lines.append(e(ambiguity.note.get(t.lang)))
    buttons = tuple((Button(s.name.get(t.lang), data=encode(ShowCard(s.id))),) for s in services)
    return Reply("\n".join(lines), (*buttons, (Button(t._("All services"), data=encode(ServicesList())),)))


def which_service(t: Translator, snapshot: Snapshot) -> Reply:
    """No service named: offer the common ones as buttons and the full list."""
    common = [s for s in snapshot.services if s.id in ("ecitizen", "kra", "ntsa", "sha", "mpesa", "kplc")]
    lines = [t._("Which service do you mean? Tap one, or type its name (for example: KRA, NTSA, SHA).")]
    rows = [tuple(Button(s.name.get(t.lang), data=encode(ShowCard(s.id))) for s in common[i:i + 2])
            for i in range(0, len(common), 2)]
    rows.append((Button(t._("All services"), data=encode(ServicesList())),))
    return Reply("\n".join(lines), tuple(rows))


def not_understood(t: Translator) -> Reply:
    return Reply(
        t._("Sorry, I did not understand. Ask about a service, for example “is eCitizen down?” or "
            "“KRA inafanya kazi?”, or see /services."),
        ((Button(t._("All services"), data=encode(ServicesList())),),),
    )


# --- conversation -------------------------------------------------------------------------------


def welcome(t: Translator, first_name: str | None, *, channel: str | None = None) -> Reply:
    greeting = (t._("Hello {name}!", name=e(first_name)) if first_name else t._("Hello!"))
    lines = [
        greeting + " " + t._("I am <b>Hali</b>: I tell you whether Kenya's government e-services "
                             "(eCitizen, KRA iTax, NTSA, SHA, M-Pesa payments…) are working, and what to "
                             "do when they are not."),
        "",
        t._("Just ask, in English or Kiswahili: “is eCitizen down?”, “KRA inafanya kazi?”."),
        "",
        *([t._("In a big outage, every update is also posted on Hali's channel: {link}", link=e(channel)), ""]
          if channel else []),
        t._("<i>Privacy: Hali keeps your chat id, your language and when you last wrote, to answer you; the "
            "alerts you ask for, to send them; and your reports, to warn others. Your chat id is kept with a "
            "report only if you ask to be told when the service works again.</i>"),
        t._("<i>Details in /privacy; erase it all with /forget.</i>"),
        "",
        help_commands(t),
    ]
    return Reply("\n".join(lines), ((Button(t._("All services"), data=encode(ServicesList())),),))


def help_commands(t: Translator) -> str:
    return "\n".join([
        t._("<b>Commands</b>"),
        t._("/status [service]: is it working? Without a name: every known problem"),
        t._("/services: all services and their state"),
        t._("/subscribe [service]: an alert when it goes down, has news, or is back"),
        t._("/alerts: your alerts; /quiet 22-6: quiet hours"),
        t._("/language: English or Kiswahili"),
        t._("/report [service]: report a problem with a service"),
        t._("/privacy: what Hali keeps about you"),
        t._("/forget: erase it"),
        t._("/help: this message"),
    ])


def help_text(t: Translator) -> Reply:
    lines = [
        t._("Ask me about a government e-service in your own words, for example:"),
        t._("• “Is iTax working?”\n• “ecitizen iko down?”\n• “Nawezaje kulipa KRA kama eCitizen iko down?”"),
        "",
        help_commands(t),
    ]
    return Reply("\n".join(lines), ((Button(t._("All services"), data=encode(ServicesList())),),))


def greeting(t: Translator) -> Reply:
    return Reply(
        t._("Hello! Which service do you want to check? For example: eCitizen, KRA, NTSA, SHA. "
            "Or see /services."),
        ((Button(t._("All services"), data=encode(ServicesList())),),),
    )


def thanks(t: Translator) -> Reply:
    return Reply(
        t._("You're welcome! Ask again whenever a service gives you trouble, or see /services."),
        ((Button(t._("All services"), data=encode(ServicesList())),),),
    )


def language_menu(t: Translator) -> Reply:
    return Reply(
        t._("Choose your language:"),
        ((Button("English", data=encode(ChooseLanguage("en"))),
          Button("Kiswahili", data=encode(ChooseLanguage("sw")))),),
    )


def language_set(t: Translator) -> Reply:
    """Said in the language just chosen, naming it."""
    language = t._("Kiswahili") if t.lang == "sw" else t._("English")
    return Reply(t._("Done: I will answer you in {language}.", language=language))


def privacy(t: Translator, stored_language: str | None, first_seen: datetime | None,
            last_seen: datetime | None, *, extra: Sequence[str] = (), alerts: Sequence[str] = (),
            quiet: tuple[int, int] | None = None) -> Reply:
    if stored_language == "en":
        language = t._("English")
    elif stored_language == "sw":
        language = t._("Kiswahili")
    else:
        language = t._("none chosen")
    lines = [
        t._("<b>What Hali keeps about you</b>"),
        t._("• your chat id, so that Hali can answer you"),
        t._("• your language choice: {language}", language=e(language)),
    ]
    if first_seen is not None and last_seen is not None:
        lines.append(t._("• when you first and last wrote: {first} and {last} (EAT)",
                         first=t.date_time(first_seen), last=t.date_time(last_seen)))
    else:
        lines.append(t._("• when you first and last wrote"))
    lines += privacy_lines(t, alerts, quiet)
    lines += extra
    lines += [
        "",
        t._("Hali does not keep your name, your phone number or the text of your messages, except the "
            "few words you add to a report. Never send an ID number, KRA PIN or M-Pesa code to anyone "
            "in a chat."),
        t._("To erase everything, send /forget."),
    ]
    return Reply("\n".join(lines))


def forget_confirm(t: Translator) -> Reply:
    return Reply(
        t._("Erase everything Hali keeps about this chat (chat id, language choice, dates, reports, alerts "
            "and quiet hours)? This cannot be undone."),
        ((Button(t._("Yes, erase it"), data=encode(Forget(True))), Button(t._("Cancel"), data=encode(Forget(False)))),),
    )


def forgotten(t: Translator) -> Reply:
    return Reply(t._("Done. Everything Hali kept about this chat is erased."))


def forget_cancelled(t: Translator) -> Reply:
    return Reply(t._("Nothing was erased."))


def unknown_command(t: Translator) -> Reply:
    return Reply(t._("I do not know that command. Send /help to see what I can do."))


def unsupported_message(t: Translator) -> Reply:
    return Reply(t._("I can only read text. Type the name of a service, for example “eCitizen” or “KRA”."))


def button_expired(t: Translator) -> str:
    return t._("This button has expired. Send /status to start again.")


def not_yours(t: Translator) -> str:
    """A group member pressed a settings button someone else asked for (at most 200 characters)."""
    return t._("Only the member who asked for this, or a group admin, can use this button.")


def too_long(t: Translator) -> str:
    return t._("That message is very long; I read only the beginning.")


def error_message(t: Translator) -> Reply:
    return Reply(t._("Sorry, something went wrong on our side. Please try again in a minute."))


# --- when the store does not answer ---------------------------------------------------------------


def stale_note(t: Translator, taken_at: datetime, now: datetime) -> str:
    """Under a state read before the store stopped answering: how old it is."""
    same_day = now - taken_at < timedelta(hours=20) and taken_at.astimezone(EAT).date() == now.astimezone(EAT).date()
    clock = t.time(taken_at) if same_day else t.date_time(taken_at)
    return t._("Hali cannot reach its records just now: this is the state as of {clock} EAT ({ago}).",
               clock=clock, ago=e(t.ago(taken_at, now)))


def store_away(t: Translator) -> Reply:
    """A question the store must answer, and it does not (no earlier state to show)."""
    return Reply(t._("Hali cannot reach its records just now; try again in a few minutes."))


def change_not_saved(t: Translator) -> Reply:
    """A subscription, language, quiet hours, erasure or report step the store did not confirm."""
    return Reply(t._("Sorry, Hali could not save that just now, and nothing was changed. Please try again "
                     "in a minute."))
