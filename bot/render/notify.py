"""Texts of notifications and of subscribing: the alert itself, /subscribe, /alerts, /quiet."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from datetime import datetime

from bot.catalog.model import Catalog, Service
from bot.core.actions import Follow, RemoveAlert, ServicesList, ShowCard, Unfollow, encode
from bot.core.clock import Clock
from bot.core.notifications import ALL_SERVICES, BILINGUAL, Event, EventKind
from bot.core.reply import Button, Reply, e, fit
from bot.core.status import State
from bot.i18n import Translator, translator
from bot.render.words import (
    SOURCE_NAMES,
    STATE_ICONS,
    STATE_NAMES,
    channel_button,
    operator_text,
    record_line,
    service_name,
)

# Offered when someone asks for alerts without naming a service.
COMMON = ("ecitizen", "kra", "ntsa", "sha", "mpesa", "kplc")


def notification(t: Translator, service: Service, event: Event, now: datetime, *, channel: str | None = None,
                 public: bool = False, incident_link: Callable[[int], str] | None = None) -> Reply:
    """One alert that reads well on its own: what happened, since when, what is known, what to do.

    `public`: the post on the public channel, for everyone (no "you follow", no buttons). Otherwise a
    link to the `channel` is offered with the alert, and with `incident_link` (HALI_PUBLIC_URL) an
    operator's incident links to its public record, "working again" included.
    """
    name = service_name(t, service)
    state = e(t._(STATE_NAMES[event.state]))
    back = event.state is State.OPERATIONAL
    lines: list[str] = []
    if event.kind is EventKind.UNSTABLE:
        lines.append(t._("🟠 <b>{service} is unstable</b>", service=name))
        lines.append(t._("It has stopped and started working several times since {clock} EAT. "
                         "Hali will tell you once it settles.", clock=t.time(event.since or event.created_at)))
        lines.append(t._("Right now: {state}", state=state))
    elif back:
        lines.append(t._("🟢 <b>{service} is working again</b>", service=name))
        if event.kind is EventKind.RESOLVED:
            lines.append(t._("The service provider marked the problem as resolved at {clock} EAT.",
                             clock=t.time(event.created_at)))
        else:
            lines.append(t.since(event.since or event.created_at, now))
    elif event.kind is EventKind.RESOLVED:
        lines.append(t._("✅ <b>{service}: one problem resolved</b>", service=name))
        lines.append(t._("Another problem is still open. Status now: {state}", state=state))
    elif event.kind is EventKind.UPDATED:
        lines.append(f"{STATE_ICONS[event.state]} " + t._("<b>{service}: update</b>", service=name))
        lines.append(t._("Status: {state}", state=state))
    else:
        lines.append(f"{STATE_ICONS[event.state]} <b>{name}: {state}</b>")
        if event.since is not None:
            lines.append(t.since(event.since, now))
    if event.source is not None and not back:
        lines.append(t._("Source: {source}", source=e(t._(SOURCE_NAMES[event.source]))))
    if event.title is not None:
        lines.append("")
        lines.append(f"<b>{operator_text(t, event.title)}</b>")
    if event.message is not None:
        if event.title is None:
            lines.append("")
        lines.append(operator_text(t, event.message))
    if not back:
        items = [operator_text(t, event.workaround)] if event.workaround is not None else []
        items += [e(w.text.get(t.lang)) for w in service.shown_workarounds()]
        if items:
            lines += ["", t._("<b>What you can do:</b>")] + [f"• {item}" for item in items]
    if public:
        return Reply("\n".join(lines))
    if incident_link is not None and event.incident_id is not None:
        lines.append(record_line(t, incident_link(event.incident_id)))
    lines.append("")
    lines.append(t._("<i>You follow {service} on Hali. Change this with /alerts.</i>", service=name))
    buttons: tuple[tuple[Button, ...], ...] = ((Button(t._("Check status"), data=encode(ShowCard(service.id))),),)
    if channel is not None and not back:
        buttons = (*buttons, (channel_button(t, channel),))
    return Reply(fit("\n".join(lines)), buttons)


def channel_post(service: Service, event: Event, now: datetime) -> Reply:
    """The public channel's post: the same news in English, then in Kiswahili, in one message."""
    parts = [notification(translator(lang), service, event, now, public=True).html for lang in ("en", "sw")]
    return Reply(fit("\n\n".join(parts)))


def composer(clock: Clock, *, channel: str | None = None,
             incident_link: Callable[[int], str] | None = None) -> Callable[[Catalog, Event, str], Reply | None]:
    """What the dispatcher renders a delivery with: the event in the subscriber's language.

    A delivery in "en+sw" is the public channel's post, both languages in one message.
    """

    def compose(catalog: Catalog, event: Event, language: str) -> Reply | None:
        if event.rendered:
            # Rendered when it happened (report follow-ups, dependency news), in the chat's language.
            return Reply(event.rendered.get(language) or event.rendered.get("en")
                         or next(iter(event.rendered.values())))
        service = catalog.get(event.service_id)
        if service is None:
            return None
        if language == BILINGUAL:
            return channel_post(service, event, clock())
        return notification(translator(language), service, event, clock(), channel=channel,
                            incident_link=incident_link)

    return compose


def notify_button(t: Translator, service_id: str, subscribed: bool) -> Button:
    """The status card's button: it shows the chat's current state and flips it."""
    if subscribed:
        return Button(t._("🔕 Stop notifications"), data=encode(Unfollow(service_id)))
    return Button(t._("🔔 Notify me"), data=encode(Follow(service_id)))


def subscribed(t: Translator, service: Service | None, *, already: bool) -> Reply:
    """After /subscribe, the button, free text or a deep link."""
    if service is None:
        text = (t._("You already get alerts for every service.") if already else
                t._("Done: Hali will tell you when any service goes down, has news, or is back."))
    else:
        name = service_name(t, service)
        text = (t._("You already get alerts for {service}.", service=name) if already else
                t._("Done: Hali will tell you when {service} goes down, has news, or is back.", service=name))
    lines = [text, t._("See or change your alerts with /alerts; set quiet hours with /quiet 22-6.")]
    rows: tuple[tuple[Button, ...], ...] = ()
    if service is not None:
        rows = ((Button(t._("Check status"), data=encode(ShowCard(service.id))),),)
    return Reply("\n".join(lines), rows)


def unsubscribed(t: Translator, names: Sequence[str], *, everything: bool) -> Reply:
    if not names:
        return Reply(t._("You were not following that. See your alerts with /alerts."))
    if everything:
        return Reply(t._("Done: Hali will not send you alerts any more. Send /subscribe to start them again."))
    return Reply(t._("Done: no more alerts for {services}.", services=e(", ".join(names))))


def choose_service(t: Translator, services: Sequence[Service]) -> Reply:
    """Subscribing without a service: the common ones and "all"."""
    rows = [tuple(Button(s.name.get(t.lang), data=encode(Follow(s.id))) for s in services[i:i + 2])
            for i in range(0, len(services), 2)]
    rows.append((Button(t._("🔔 All services"), data=encode(Follow(ALL_SERVICES))),))
    return Reply(t._("Which service should Hali tell you about? Tap one, or send for example "
                     "<code>/subscribe kra</code>."), tuple(rows))


def alerts(t: Translator, services: Sequence[tuple[str, str]], quiet: tuple[int, int] | None) -> Reply:
    """/alerts: what the chat follows, a remove button for each, and the quiet hours."""
    if not services:
        lines = [t._("You get no alerts now. Send /subscribe, or tap “🔔 Notify me” on a status card.")]
    else:
        lines = [t._("<b>Your alerts</b>")] + [f"• {e(name)}" for _, name in services]
    lines.append("")
    if quiet is None:
        lines.append(t._("Quiet hours: off. Example: <code>/quiet 22-6</code> keeps the alerts that come "
                         "between 22:00 and 06:00 EAT until 06:00."))
    else:
        lines.append(t._("Quiet hours: {start}:00–{end}:00 EAT. Alerts wait until the quiet hours end. "
                         "<code>/quiet off</code> turns quiet hours off.", start=f"{quiet[0]:02d}",
                         end=f"{quiet[1]:02d}"))
    rows = tuple((Button(t._("❌ Remove {service}", service=name), data=encode(RemoveAlert(sid))),)
                 for sid, name in services[:20])
    return Reply(fit("\n".join(lines)), rows)


def all_services_name(t: Translator) -> str:
    return t._("All services")


def quiet_set(t: Translator, quiet: tuple[int, int] | None) -> Reply:
    if quiet is None:
        return Reply(t._("Quiet hours are off: alerts come as soon as there is news."))
    return Reply(t._("Quiet hours set: from {start}:00 to {end}:00 EAT, alerts wait until the end of the "
                     "quiet time.", start=f"{quiet[0]:02d}", end=f"{quiet[1]:02d}"))


def quiet_usage(t: Translator, *, invalid: str | None = None) -> Reply:
    lines = []
    if invalid is not None:
        lines.append(t._("I could not read “{text}” as quiet hours.", text=e(invalid[:40])))
    lines.append(t._("Send a start hour and an end hour in East Africa Time, for example "
                     "<code>/quiet 22-6</code> (from 22:00 to 06:00), or <code>/quiet off</code>."))
    return Reply("\n".join(lines))


def unknown_link_service(t: Translator, key: str) -> Reply:
    """A deep link /start sub-<service> naming a service Hali does not know."""
    return Reply(
        t._("The link asked for alerts about “{service}”, but Hali does not know that service. "
            "Send /subscribe to choose one.", service=e(key[:40])),
        ((Button(t._("All services"), data=encode(ServicesList())),),),
    )


def subscribe_elsewhere(t: Translator, service: Service | None, *, unsubscribe: bool = False) -> Reply:
    """`hali ask` has no chat to subscribe or unsubscribe: say how to do it on Telegram."""
    if unsubscribe:
        command = f"/unsubscribe {service.id}" if service is not None else "/unsubscribe"
        return Reply(t._("Alerts are on Telegram: open Hali there and send <code>{command}</code>, or see "
                         "/alerts.", command=e(command)))
    command = f"/subscribe {service.id}" if service is not None else "/subscribe"
    return Reply(t._("Alerts come on Telegram: open Hali there and send <code>{command}</code>, "
                     "or tap “🔔 Notify me” on a status card.", command=e(command)))


def subscribed_toast(t: Translator, now_subscribed: bool) -> str:
    """The short answer to the card's button (≤ 200 characters)."""
    return (t._("🔔 You will get alerts for this service.") if now_subscribed
            else t._("🔕 No more alerts for this service."))


def privacy_lines(t: Translator, services: Sequence[str], quiet: tuple[int, int] | None) -> list[str]:
    """What /privacy adds about alerts."""
    if not services and quiet is None:
        return [t._("• alerts you ask for: none")]
    lines = [t._("• the services you get alerts for: {services}", services=e(", ".join(services) or "-"))]
    if quiet is not None:
        lines.append(t._("• your quiet hours: {start}:00–{end}:00 EAT", start=f"{quiet[0]:02d}",
                         end=f"{quiet[1]:02d}"))
    lines.append(t._("• for each alert: that it was sent to you, and when (kept for 30 days)"))
    return lines
