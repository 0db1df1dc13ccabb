"""Texts of the report flow, the crowd signal on the status card, and the "working again" follow-up."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime

from bot.catalog.model import Service
from bot.core.actions import ReportOp, ReportStart, ReportStep, ShowCard, encode
from bot.core.crowd import CrowdSignal
from bot.core.reply import Button, Reply, e, fit
from bot.core.reports import MAX_TEXT, Submitted
from bot.core.status import EffectiveStatus
from bot.core.understanding import Symptom
from bot.i18n import N_, Translator
from bot.render.notify import notify_button
from bot.render.words import SOURCE_NAMES, record_line, service_name, state_icon, state_name, workaround_lines

# The shared domain notes' list of how these services fail, as a citizen would put it.
SYMPTOM_NAMES = {
    Symptom.SITE_DOWN: N_("Can't open it / error page"),
    Symptom.LOGIN_OTP: N_("Log-in or OTP problem"),
    Symptom.PAYMENT: N_("Payment failed or not reflecting"),
    Symptom.WRONG_DETAILS: N_("Wrong details on a document"),
    Symptom.SLOW: N_("Very slow"),
    Symptom.OTHER: N_("Something else"),
}
COMMON_SERVICES = ("ecitizen", "kra", "ntsa", "sha", "mpesa", "kplc")


def symptom_name(t: Translator, symptom: Symptom) -> str:
    return t._(SYMPTOM_NAMES[symptom])


def report_button(t: Translator, service_id: str) -> Button:
    """The button on every status card."""
    return Button(t._("⚠️ Report a problem"), data=encode(ReportStart(service_id)))


def _step(nonce: str, op: ReportOp, arg: str = "") -> str:
    return encode(ReportStep(nonce, op, arg))


def _cancel(t: Translator, nonce: str) -> tuple[Button, ...]:
    return (Button(t._("✖️ Cancel"), data=_step(nonce, ReportOp.CANCEL)),)


def _status_line(t: Translator, status: EffectiveStatus) -> str:
    line = f"{state_icon(status)} {e(state_name(t, status))}"
    if status.source is not None:
        line += f" ({e(t._(SOURCE_NAMES[status.source]))})"
    return t._("Now: {state}", state=line)


# --- the flow -----------------------------------------------------------------------------------


def ask_service(t: Translator, services: Sequence[Service], nonce: str, *, not_found: bool = False) -> Reply:
    """Step 1: which service."""
    lines = [t._("⚠️ <b>Report a problem</b>")]
    if not_found:
        lines.append(t._("I could not find that service."))
    lines.append(t._("Which service is failing? Tap one, or type its name."))
    common = [s for s in services if s.id in COMMON_SERVICES]
    rows = [tuple(Button(s.name.get(t.lang), data=_step(nonce, ReportOp.SERVICE, s.id)) for s in common[i:i + 2])
            for i in range(0, len(common), 2)]
    return Reply("\n".join(lines), (*rows, _cancel(t, nonce)))


def ask_symptom(t: Translator, service: Service, status: EffectiveStatus, nonce: str) -> Reply:
    """Step 2: what happened, with what is already known about the service."""
    lines = [
        t._("⚠️ <b>Report a problem with {service}</b>", service=service_name(t, service)),
        _status_line(t, status),
        "",
        t._("What happened?"),
    ]
    rows = tuple((Button(symptom_name(t, s), data=_step(nonce, ReportOp.SYMPTOM, s.value)),) for s in Symptom)
    return Reply("\n".join(lines), (*rows, _cancel(t, nonce)))


def ask_details(t: Translator, service: Service, symptom: Symptom, nonce: str) -> Reply:
    """Step 3: a few words, optional, with the reminder about personal numbers."""
    lines = [
        f"<b>{service_name(t, service)}</b>: {e(symptom_name(t, symptom))}",
        "",
        t._("If you like, add a few words (at most {limit} characters): what you were doing and what "
            "the page said. Or tap Skip.", limit=MAX_TEXT),
        t._("🔒 Do not send your ID number, KRA PIN, phone number or M-Pesa codes. Hali removes them "
            "from the text anyway."),
    ]
    return Reply("\n".join(lines), ((Button(t._("Skip"), data=_step(nonce, ReportOp.SKIP)),), _cancel(t, nonce)))


def details_too_long(t: Translator, length: int) -> Reply:
    return Reply(t._("That is {length} characters; please send at most {limit}.", length=length,
                     limit=MAX_TEXT))


def ask_follow_up(t: Translator, service: Service, nonce: str) -> Reply:
    """Step 4: the follow-up, asked before anything is stored, so the chat id is kept only with consent."""
    lines = [
        t._("Shall Hali send you one message when {service} works again?", service=service_name(t, service)),
        t._("<i>For that, Hali keeps this chat's id with your report until then, for at most 24 hours.</i>"),
    ]
    return Reply("\n".join(lines), (
        (Button(t._("🔔 Yes, tell me"), data=_step(nonce, ReportOp.FOLLOW_UP, "1")),
         Button(t._("No, thanks"), data=_step(nonce, ReportOp.FOLLOW_UP, "0"))),
        _cancel(t, nonce),
    ))


def submitted(t: Translator, service: Service, status: EffectiveStatus, result: Submitted, *,
              follow_up: bool, subscribed: bool | None = None) -> Reply:
    """Step 5: the reference, the state, how many others, what to do."""
    assert result.reference is not None
    name = service_name(t, service)
    lines = [
        t._("✅ Thank you. Your report is saved as <b>{reference}</b>.", reference=e(result.reference)),
        _status_line(t, status),
    ]
    if result.others_last_hour:
        lines.append(t.ngettext(
            "{n} other person reported a problem with {service} in the last hour.",
            "{n} other people reported a problem with {service} in the last hour.",
            result.others_last_hour, service=name))
    else:
        lines.append(t._("Nobody else has reported a problem with {service} in the last hour.", service=name))
    if not result.counted and not result.flagged:
        lines.append(t._("You already reported a problem with {service} in the last hour: this adds detail, "
                         "and you are counted once.", service=name))
    lines.extend(workaround_lines(t, service, status))
    if follow_up:
        lines += ["", t._("🔔 Hali will message you once when {service} works again.", service=name)]
    buttons: tuple[tuple[Button, ...], ...] = (
        (Button(t._("Status of {service}", service=service.name.get(t.lang)), data=encode(ShowCard(service.id))),),)
    if subscribed is not None:
        # The offer to follow the service (or its current state): the same button as the status card.
        buttons += ((notify_button(t, service.id, subscribed),),)
    return Reply(fit("\n".join(lines)), buttons)


def capped(t: Translator, cap: int) -> Reply:
    return Reply(t.ngettext(
        "You have already sent {n} report today, the most Hali takes from one person in a day. "
        "Thank you: it is counted. Please try again tomorrow.",
        "You have already sent {n} reports today, the most Hali takes from one person in a day. "
        "Thank you: they are counted. Please try again tomorrow.",
        cap))


def not_saved(t: Translator, retry_data: str) -> Reply:
    """The store could not be reached: nothing was kept, and the same button tries again."""
    return Reply(
        t._("Sorry, your report could not be saved just now, and nothing was kept. Please try again in "
            "a minute."),
        ((Button(t._("🔁 Try again"), data=retry_data),),),
    )


def cancelled(t: Translator) -> Reply:
    return Reply(t._("Report cancelled. Nothing was saved."))


def go_private(t: Translator, link: str) -> Reply:
    """In a group: reports are taken in a private chat."""
    return Reply(
        t._("To keep your report private, Hali takes reports in a private chat. Tap below to continue "
            "there."),
        ((Button(t._("⚠️ Report in a private chat"), url=link),),),
    )


def go_private_note(t: Translator) -> str:
    """A button's answer in a group (at most 200 characters)."""
    return t._("Reports are taken in a private chat with Hali.")


def deep_link(bot_username: str, service_id: str | None) -> str:
    payload = f"report-{service_id}" if service_id else "report"
    return f"https://t.me/{bot_username}?start={payload}"


# --- the status card ----------------------------------------------------------------------------


def crowd_lines(t: Translator, status: EffectiveStatus, now: datetime) -> list[str]:
    """Citizens' reports on the status card: unconfirmed, with count, main symptom and time window."""
    signal = next((s for s in status.signals if isinstance(s, CrowdSignal)), None)
    if signal is None:
        return []
    lines = ["", t._("👥 <b>Citizens report problems (unconfirmed)</b>")]
    lines.append(t.ngettext(
        "{n} report in the last {minutes} minutes.", "{n} reports in the last {minutes} minutes.",
        signal.reports, minutes=signal.window_minutes))
    if signal.symptom is not None:
        lines.append(t._("Most common: {symptom}", symptom=e(symptom_name(t, signal.symptom))))
    lines.append(t._("Reported since {clock} EAT.", clock=t.time(signal.since)))
    return lines


# --- follow-up ----------------------------------------------------------------------------------


def working_again(t: Translator, service: Service, references: Sequence[str], *,
                  record: str | None = None) -> Reply:
    """The one message to a reporter when the service returns to operational; `record`: the address of
    the resolved incident's public record (HALI_PUBLIC_URL), when an operator's incident ended."""
    name = service_name(t, service)
    lines = [
        t._("🟢 <b>{service} is working again</b>", service=name),
        t.ngettext("You reported a problem with it ({references}).",
                   "You reported problems with it ({references}).",
                   len(references), references=e(", ".join(references))),
        t._("Thank you: your report helped others know what was going on."),
        t._("If it still fails for you, send /report."),
    ]
    if record is not None:
        lines.append(record_line(t, record))
    return Reply("\n".join(lines))


# --- privacy ------------------------------------------------------------------------------------


def privacy_lines(t: Translator, retention_days: int, reports: int) -> list[str]:
    """What reports keep, for /privacy."""
    return [
        "",
        t._("<b>If you report a problem</b>"),
        t.ngettext("• Hali holds {n} report from you.", "• Hali holds {n} reports from you.", reports),
        t._("• A report keeps the service, what happened, when, and your few words with phone numbers, "
            "ID numbers, e-mails, M-Pesa codes and KRA PINs removed."),
        t._("• It is counted by a code made from your chat id, not by the chat id itself. The chat id is "
            "kept only if you ask to be told when the service works again, and for at most 24 hours."),
        t.ngettext("• After {n} day, the code and your words are deleted from the report.",
                   "• After {n} days, the code and your words are deleted from the report.",
                   retention_days),
    ]

