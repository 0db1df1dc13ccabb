"""Texts and buttons of the operators' guided commands (/incident, /update, /resolve, /maintenance)."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Any

from bot.catalog.model import Service
from bot.core.actions import OperatorStep, encode
from bot.core.reply import Button, Reply, e, fit
from bot.core.status import INCIDENT_STATES, Incident, State
from bot.i18n import N_, Translator
from bot.render.checks import day_and_time
from bot.render.words import STATE_ICONS, STATE_NAMES, operator_text, service_name

PROMPTS = {
    "title_en": N_("Send the title in English (one line, e.g. “Payments failing”)."),
    "title_sw": N_("Send the title in Kiswahili, or tap Skip (Swahili readers then see the English one)."),
    "message": N_("Send a message for citizens in English: what is known, what is being done. Or tap Skip."),
    "update_message": N_("Send the update for citizens, in English."),
    "message_sw": N_("Send the same text in Kiswahili, or tap Skip (Swahili readers then see the English one)."),
    "resolve_message": N_("Send a closing message for citizens in English, or tap Skip."),
    "workaround": N_("Send in English what citizens can do meanwhile (e.g. “Pay at a bank”), or tap Skip."),
    "start": N_("When does the maintenance start? Send a date and time in East Africa Time, "
                "e.g. <code>2026-12-06 18:00</code>."),
    "end": N_("When does it end? Send a time (<code>22:00</code>), a length (<code>4h</code>) or a date "
              "and time."),
}

HEADINGS = {
    "incident": N_("<b>New incident</b>"),
    "update": N_("<b>Update an incident</b>"),
    "resolve": N_("<b>Resolve an incident</b>"),
    "maintenance": N_("<b>Plan maintenance</b>"),
}


def _data(token: str, step: int, value: str) -> str:
    return encode(OperatorStep(token, step, value))


def cancel_row(t: Translator, token: str, step: int) -> tuple[Button, ...]:
    return (Button(t._("Cancel"), data=_data(token, step, "cancel")),)


def choose_service(t: Translator, kind: str, token: str, step: int, services: Sequence[Service]) -> Reply:
    rows = [tuple(Button(s.name.get(t.lang)[:40], data=_data(token, step, s.id)) for s in services[i:i + 2])
            for i in range(0, len(services), 2)]
    lines = [t._(HEADINGS[kind]), t._("Which service?")]
    return Reply("\n".join(lines), (*rows, cancel_row(t, token, step)))


def choose_severity(t: Translator, token: str, step: int, service: Service) -> Reply:
    rows = [(Button(f"{STATE_ICONS[s]} {t._(STATE_NAMES[s])}", data=_data(token, step, s.value)),)
            for s in INCIDENT_STATES]
    lines = [t._(HEADINGS["incident"]), t._("{service}: how bad is it?", service=service_name(t, service))]
    return Reply("\n".join(lines), (*rows, cancel_row(t, token, step)))


def choose_incident(t: Translator, kind: str, token: str, step: int, incidents: Sequence[Incident],
                    services: dict[str, Service]) -> Reply:
    rows = []
    for incident in incidents[:20]:
        service = services.get(incident.service_id)
        name = service.name.get(t.lang) if service else incident.service_id
        label = f"#{incident.id} {name}: {incident.title.get(t.lang)}"
        rows.append((Button(label[:60], data=_data(token, step, str(incident.id))),))
    lines = [t._(HEADINGS[kind]), t._("Which incident?")]
    return Reply("\n".join(lines), (*rows, cancel_row(t, token, step)))


def choose_status(t: Translator, token: str, step: int, incident: Incident) -> Reply:
    rows = [(Button(t._("Keep: {state}", state=t._(STATE_NAMES[incident.state])),
                    data=_data(token, step, "keep")),)]
    rows += [(Button(f"{STATE_ICONS[s]} {t._(STATE_NAMES[s])}", data=_data(token, step, s.value)),)
             for s in INCIDENT_STATES if s is not incident.state]
    lines = [t._(HEADINGS["update"]), t._("Incident #{id}: {title}", id=incident.id,
                                          title=operator_text(t, incident.title)),
             t._("Change its state?")]
    return Reply("\n".join(lines), (*rows, cancel_row(t, token, step)))


def ask_text(t: Translator, kind: str, token: str, step: int, prompt: str, *, optional: bool) -> Reply:
    row = (Button(t._("Skip"), data=_data(token, step, "skip")),) if optional else ()
    return Reply(f"{t._(HEADINGS[kind])}\n{t._(PROMPTS[prompt])}", ((*row, *cancel_row(t, token, step)),))


def confirm(t: Translator, kind: str, token: str, step: int, data: dict[str, Any],
            services: dict[str, Service], incident: Incident | None) -> Reply:
    lines = [t._(HEADINGS[kind]), t._("Please check, then publish:"), ""]
    service = services.get(data.get("service") or (incident.service_id if incident else ""))
    if service is not None:
        lines.append(t._("Service: {service}", service=service_name(t, service)))
    if incident is not None:
        lines.append(t._("Incident #{id}: {title}", id=incident.id, title=operator_text(t, incident.title)))
    if data.get("state"):
        lines.append(t._("State: {state}", state=e(t._(STATE_NAMES[State(data["state"])]))))
    for key, label in (("title_en", N_("Title (English): {text}")), ("title_sw", N_("Title (Kiswahili): {text}")),
                       ("message", N_("Message: {text}")), ("message_sw", N_("Message (Kiswahili): {text}")),
                       ("workaround", N_("What citizens can do: {text}")),
                       ("workaround_sw", N_("What citizens can do (Kiswahili): {text}"))):
        if data.get(key):
            lines.append(t._(label, text=e(data[key])))
    if data.get("start") and data.get("end"):
        start = datetime.fromisoformat(data["start"])
        end = datetime.fromisoformat(data["end"])
        lines.append(t._("From {start} to {end} EAT", start=day_and_time(t, start), end=day_and_time(t, end)))
    if kind == "resolve":
        lines.append(t._("The service will show no problem from this incident."))
    buttons = ((Button(t._("✅ Publish"), data=_data(token, step, "yes")), *cancel_row(t, token, step)),)
    return Reply(fit("\n".join(lines)), buttons)


def done(t: Translator, kind: str, number: int) -> Reply:
    texts = {
        "incident": t._("✅ Published: incident #{id} is open. Citizens see it now.", id=number),
        "update": t._("✅ Incident #{id} is updated.", id=number),
        "resolve": t._("✅ Incident #{id} is resolved.", id=number),
        "maintenance": t._("✅ Maintenance window #{id} is planned.", id=number),
    }
    return Reply(texts[kind])


def failed(t: Translator, reason: str) -> Reply:
    return Reply(t._("Nothing was changed: {reason}", reason=e(reason)))


def cancelled(t: Translator) -> Reply:
    return Reply(t._("Cancelled. Nothing was changed."))


def nothing_to_cancel(t: Translator) -> Reply:
    return Reply(t._("There is nothing to cancel."))


def no_services(t: Translator) -> Reply:
    return Reply(t._("You may not edit any service. Ask the Hali administrator to set your scope."))


def no_incidents(t: Translator) -> Reply:
    return Reply(t._("There is no open incident you may edit."))


def bad_input(t: Translator, prompt: Reply, problem: str) -> Reply:
    return Reply(f"{e(problem)}\n\n{prompt.html}", prompt.buttons)


def too_long(t: Translator, limit: int) -> str:
    return t._("That is too long: at most {n} characters, please.", n=limit)


def bad_time(t: Translator) -> str:
    return t._("I could not read that time.")


def end_before_start(t: Translator) -> str:
    return t._("The end must be after the start, and at most 7 days later.")
