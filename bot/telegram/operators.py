"""Operators' guided commands: /incident, /update, /resolve, /maintenance and /cancel.

Only users in HALI_ADMIN_IDS, in a private chat, reach these handlers; everyone else falls through
to the ordinary "unknown command" answer. They call the same Store methods as the `hali` CLI, so
every change is audited and every feature that listens to those methods sees it.

A draft lives in the operator's user_data: it survives unrelated messages and commands, ends with
/cancel or the Cancel button, and expires after 15 minutes without activity. Every button carries
the draft's token and step, so a button from an older draft or an earlier step gets "expired".
"""

from __future__ import annotations

import logging
import secrets
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any, NoReturn

from telegram import CallbackQuery, Update
from telegram.ext import ApplicationHandlerStop, CallbackQueryHandler, CommandHandler, MessageHandler, filters

from bot.catalog.model import Service, Text
from bot.core.actions import OperatorStep, decode, matches
from bot.core.maintenance import MAX_WINDOW, BadTime, parse_end, parse_start
from bot.core.status import INCIDENT_STATES, Incident, State
from bot.i18n import Translator
from bot.render import Reply
from bot.render import operators as R
from bot.render import operators_status as RS
from bot.services.reports import summarise
from bot.store.repo import Conflict, NotFound
from bot.telegram import io
from bot.telegram.context import HaliApplication, HaliContext

log = logging.getLogger(__name__)

FLOW_KEY = "operator_flow"
FLOW_TIMEOUT = timedelta(minutes=15)
TITLE_LIMIT = 200
TEXT_LIMIT = 1000

STEPS = {
    "incident": ("service", "severity", "title_en", "title_sw", "message", "message_sw", "workaround",
                 "workaround_sw", "confirm"),
    "update": ("incident", "status", "message", "message_sw", "confirm"),
    "resolve": ("incident", "message", "message_sw", "confirm"),
    "maintenance": ("service", "start", "end", "title_en", "title_sw", "confirm"),
}
TEXT_STEPS = frozenset({"title_en", "title_sw", "message", "message_sw", "workaround", "workaround_sw", "start",
                        "end"})
OPTIONAL = frozenset({
    ("incident", "title_sw"), ("incident", "message"), ("incident", "message_sw"), ("incident", "workaround"),
    ("incident", "workaround_sw"), ("update", "message_sw"), ("resolve", "message"), ("resolve", "message_sw"),
    ("maintenance", "title_sw"),
})
# A Kiswahili step follows only the English text it translates: skipped in English, it is not asked.
SWAHILI_OF = {"message_sw": "message", "workaround_sw": "workaround"}


@dataclass
class Flow:
    kind: str
    token: str
    touched: datetime
    index: int = 0
    data: dict[str, Any] = field(default_factory=dict)

    @property
    def step(self) -> str:
        return STEPS[self.kind][self.index]


def add_operator_handlers(application: HaliApplication) -> None:
    """In group -2, ahead of the report flow and the ordinary handlers; each handler that acts stops the update."""
    settings = application.bot_data["hali"].settings
    operators = filters.User(user_id=settings.admin_ids) & filters.ChatType.PRIVATE & ~filters.UpdateType.EDITED
    for name, callback in (("incident", incident_command), ("update", update_command),
                           ("resolve", resolve_command), ("maintenance", maintenance_command),
                           ("cancel", cancel_command), ("who", who_command), ("reports", reports_command)):
        application.add_handler(CommandHandler(name, callback, filters=operators), group=-2)
    application.add_handler(MessageHandler(operators & filters.TEXT & ~filters.COMMAND, text_input), group=-2)
    application.add_handler(CallbackQueryHandler(button, pattern=matches(OperatorStep)), group=-2)


# --- helpers ------------------------------------------------------------------------------------


def _stop() -> NoReturn:
    raise ApplicationHandlerStop


def _now(context: HaliContext) -> datetime:
    return context.hali.engine.clock()


def _flow(context: HaliContext) -> Flow | None:
    """The operator's draft, unless it has expired (then it is dropped)."""
    data = context.user_data
    flow = data.get(FLOW_KEY) if data is not None else None
    if not isinstance(flow, Flow):
        return None
    if _now(context) - flow.touched > FLOW_TIMEOUT:
        data.pop(FLOW_KEY, None)  # type: ignore[union-attr]
        log.info("an operator's %s draft expired", flow.kind)
        return None
    return flow


def _drop(context: HaliContext) -> None:
    if context.user_data is not None:
        context.user_data.pop(FLOW_KEY, None)


def _actor(update: Update) -> str:
    user = update.effective_user
    assert user is not None
    return f"telegram:{user.id}"


async def _services(context: HaliContext, user_id: int) -> list[Service]:
    snapshot = await context.hali.engine.board.snapshot()
    return [s for s in snapshot.services if context.hali.settings.may_edit(user_id, s.id)]


async def _incidents(context: HaliContext, user_id: int) -> list[Incident]:
    incidents = await context.hali.store.incidents(open_only=True)
    return [i for i in incidents if context.hali.settings.may_edit(user_id, i.service_id)]


async def _prompt(context: HaliContext, t: Translator, flow: Flow, user_id: int) -> Reply:
    """The message for the flow's current step."""
    snapshot = await context.hali.engine.board.snapshot()
    by_id = {s.id: s for s in snapshot.services}
    step, token, index = flow.step, flow.token, flow.index
    incident = await _incident(context, flow)
    if step == "service":
        return R.choose_service(t, flow.kind, token, index, await _services(context, user_id))
    if step == "severity":
        return R.choose_severity(t, token, index, by_id[flow.data["service"]])
    if step == "incident":
        return R.choose_incident(t, flow.kind, token, index, await _incidents(context, user_id), by_id)
    if step == "status":
        assert incident is not None
        return R.choose_status(t, token, index, incident)
    if step == "confirm":
        return R.confirm(t, flow.kind, token, index, flow.data, by_id, incident)
    prompt = {("update", "message"): "update_message", ("resolve", "message"): "resolve_message",
              ("incident", "workaround_sw"): "message_sw"}.get((flow.kind, step), step)
    return R.ask_text(t, flow.kind, token, index, prompt, optional=(flow.kind, step) in OPTIONAL)


async def _incident(context: HaliContext, flow: Flow) -> Incident | None:
    if "incident" not in flow.data:
        return None
    try:
        return await context.hali.store.incident(int(flow.data["incident"]))
    except NotFound:
        return None


# --- commands -----------------------------------------------------------------------------------


async def _begin(update: Update, context: HaliContext, kind: str) -> None:
    message = update.effective_message
    user = update.effective_user
    assert message is not None and user is not None and context.user_data is not None
    t = await context.translator()
    if not await _services(context, user.id):
        io.send(context, message, R.no_services(t))
        _stop()
    if kind in ("update", "resolve") and not await _incidents(context, user.id):
        io.send(context, message, R.no_incidents(t))
        _stop()
    flow = Flow(kind, secrets.token_hex(3), _now(context))
    context.user_data[FLOW_KEY] = flow  # a new command replaces an older draft
    log.info("operator %s started /%s", user.id, kind)
    io.send(context, message, await _prompt(context, t, flow, user.id))
    _stop()


async def incident_command(update: Update, context: HaliContext) -> None:
    """/incident: service → severity → titles → message → workaround (each in English, then Kiswahili) → publish."""
    await _begin(update, context, "incident")


async def update_command(update: Update, context: HaliContext) -> None:
    """/update: incident → state → message (English, then Kiswahili) → publish."""
    await _begin(update, context, "update")


async def resolve_command(update: Update, context: HaliContext) -> None:
    """/resolve: incident → closing message (English, then Kiswahili) → publish."""
    await _begin(update, context, "resolve")


async def maintenance_command(update: Update, context: HaliContext) -> None:
    """/maintenance: service → start → end → titles → publish."""
    await _begin(update, context, "maintenance")


async def cancel_command(update: Update, context: HaliContext) -> None:
    """/cancel: drop the operator's draft."""
    assert update.effective_message is not None
    t = await context.translator()
    had = _flow(context) is not None
    _drop(context)
    io.send(context, update.effective_message, R.cancelled(t) if had else R.nothing_to_cancel(t))
    _stop()


async def who_command(update: Update, context: HaliContext) -> None:
    """/who: how many chats follow each service; counts only, never chat ids."""
    assert update.effective_message is not None
    t = await context.translator()
    subscriptions = context.hali.store.subscriptions
    counts, chats = await subscriptions.subscription_counts(), await subscriptions.count_following()
    catalog = (await context.hali.engine.board.snapshot()).catalog
    io.send(context, update.effective_message, RS.who(t, catalog, counts, chats))
    _stop()


async def reports_command(update: Update, context: HaliContext) -> None:
    """/reports [service] [hours]: citizens' reports per service, 24 hours unless told."""
    assert update.effective_message is not None
    t = await context.translator()
    catalog = (await context.hali.engine.board.snapshot()).catalog
    service_id: str | None = None
    hours = 24
    for arg in context.args or ():
        if arg.isdigit() and 1 <= int(arg) <= 24 * 30:
            hours = int(arg)
        elif catalog.get(arg.lower()) is not None:
            service_id = arg.lower()
        else:
            usage = t._("Send /reports, /reports kra or /reports kra 6 (hours, 24 unless given).")
            io.send(context, update.effective_message, Reply(usage))
            _stop()
    since = _now(context) - timedelta(hours=hours)
    summaries = await summarise(context.hali.reports, since, service_id)
    io.send(context, update.effective_message, RS.reports_summary(t, catalog, summaries, hours))
    _stop()


# --- typed answers ------------------------------------------------------------------------------


async def text_input(update: Update, context: HaliContext) -> None:
    """The operator's answer to a text step; any other text goes on to the ordinary handlers."""
    flow = _flow(context)
    if flow is None or flow.step not in TEXT_STEPS:
        return
    message = update.effective_message
    user = update.effective_user
    assert message is not None and message.text is not None and user is not None
    t = await context.translator()
    text = message.text.strip()
    problem = _accept(flow, text, t)
    if problem is not None:
        io.send(context, message, R.bad_input(t, await _prompt(context, t, flow, user.id), problem))
        _stop()
    await _advance(context, flow)
    io.send(context, message, await _prompt(context, t, flow, user.id))
    _stop()


def _accept(flow: Flow, text: str, t: Translator) -> str | None:
    """Store a typed answer in the draft; return what is wrong with it, if anything."""
    step = flow.step
    if step in ("start", "end"):
        try:
            if step == "start":
                moment = parse_start(text, flow.touched)
            else:
                start = datetime.fromisoformat(flow.data["start"])
                moment = parse_end(text, start)
                if not start < moment <= start + MAX_WINDOW:
                    return R.end_before_start(t)
        except BadTime:
            return R.bad_time(t)
        flow.data[step] = moment.isoformat()
        return None
    limit = TITLE_LIMIT if step.startswith("title") else TEXT_LIMIT
    if len(text) > limit:
        return R.too_long(t, limit)
    flow.data[step] = " ".join(text.split()) if step.startswith("title") else text
    return None


async def _advance(context: HaliContext, flow: Flow) -> None:
    flow.index += 1
    while flow.step in SWAHILI_OF and not flow.data.get(SWAHILI_OF[flow.step]):
        flow.data[flow.step] = None
        flow.index += 1
    flow.touched = _now(context)


# --- buttons ------------------------------------------------------------------------------------


async def button(update: Update, context: HaliContext) -> None:
    """A press on a draft's button: checked against the operator, the draft's token and its step."""
    query = update.callback_query
    assert query is not None
    t = await context.translator()
    flow = _flow(context)
    action = decode(query.data)
    user_id = query.from_user.id
    if (not isinstance(action, OperatorStep) or user_id not in context.hali.settings.admin_ids or flow is None
            or action.token != flow.token or action.index != flow.index):
        await io.expired(context, query, t.lang)
        _stop()
    assert flow is not None and isinstance(action, OperatorStep)
    value = action.value
    if value == "cancel":
        _drop(context)
        await io.edit(context, query, R.cancelled(t), t.lang)
        _stop()
    if not await _choose(context, flow, value, user_id):
        await io.expired(context, query, t.lang)
        _stop()
    if flow.step == "confirm" and value == "yes":
        await _publish(update, context, query, flow, t)
        _stop()
    await _advance(context, flow)
    await io.edit(context, query, await _prompt(context, t, flow, user_id), t.lang)
    _stop()


async def _choose(context: HaliContext, flow: Flow, value: str, user_id: int) -> bool:
    """Apply a button's value to the current step; False if it does not fit (then: expired)."""
    step = flow.step
    settings = context.hali.settings
    if step == "service":
        if not settings.may_edit(user_id, value) or value not in await context.hali.store.service_ids():
            return False
        flow.data["service"] = value
    elif step in ("severity", "status"):
        if step == "status" and value == "keep":
            flow.data["state"] = None
        elif value in {s.value for s in INCIDENT_STATES}:
            flow.data["state"] = value
        else:
            return False
    elif step == "incident":
        if not value.isdigit():
            return False
        try:
            incident = await context.hali.store.incident(int(value))
        except NotFound:
            return False
        if not incident.is_open or not settings.may_edit(user_id, incident.service_id):
            return False
        flow.data["incident"] = incident.id
    elif step in TEXT_STEPS:
        if value != "skip" or (flow.kind, step) not in OPTIONAL:
            return False
        flow.data[step] = None
    elif step == "confirm":
        return value == "yes"
    return True


async def _publish(update: Update, context: HaliContext, query: CallbackQuery, flow: Flow,
                   t: Translator) -> None:
    store = context.hali.store
    actor = _actor(update)
    data = flow.data
    _drop(context)
    service_id = data.get("service")
    if service_id is None and "incident" in data:
        incident = await _incident(context, flow)
        service_id = incident.service_id if incident else None
    if service_id is None or not context.hali.settings.may_edit(query.from_user.id, service_id):
        await io.edit(context, query, R.failed(t, "not allowed"), t.lang)
        return
    try:
        if flow.kind == "incident":
            number = await store.open_incident(
                service_id, State(data["state"]), Text(data["title_en"], data.get("title_sw")), actor=actor,
                message=Text(data["message"], data.get("message_sw")) if data.get("message") else None,
                workaround=Text(data["workaround"], data.get("workaround_sw")) if data.get("workaround") else None,
            )
        elif flow.kind == "update":
            number = int(data["incident"])
            await store.update_incident(
                number, Text(data["message"], data.get("message_sw")), actor=actor,
                state=State(data["state"]) if data.get("state") else None,
            )
        elif flow.kind == "resolve":
            number = int(data["incident"])
            await store.resolve_incident(number, actor=actor, message=Text(data["message"], data.get("message_sw"))
                                         if data.get("message") else None)
        else:
            number = await store.schedule_maintenance(
                service_id, datetime.fromisoformat(data["start"]), datetime.fromisoformat(data["end"]),
                Text(data["title_en"], data.get("title_sw")), actor=actor,
            )
    except (NotFound, Conflict) as exc:
        await io.edit(context, query, R.failed(t, str(exc)), t.lang)
        return
    context.hali.engine.board.invalidate()
    log.info("operator %s: %s #%s on %s", actor, flow.kind, number, service_id)
    await io.edit(context, query, R.done(t, flow.kind, number), t.lang)


