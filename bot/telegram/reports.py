"""The report flow on Telegram: /report, the card's button, free-text reports, deep links from groups.

The flow's state lives in the store (`report_flows`, one row per private chat), not in PTB's chat_data:
several `hali run` processes may share one PostgreSQL database and a restart must not lose a report
half written, and the store is already where everything else is; PTB's persistence would add a second
place that holds personal data and that /forget would have to reach. Each step gets a new nonce that its
buttons carry, so a button from an earlier step, a finished, cancelled or timed-out flow gets the
"expired" answer. A flow older than the timeout is simply ignored: it ends quietly.
"""

from __future__ import annotations

import asyncio
import logging
from dataclasses import replace

from telegram import CallbackQuery, Chat, Message, Update
from telegram.ext import ApplicationHandlerStop

from bot.core.actions import ReportOp, ReportStart, ReportStep, decode
from bot.core.periodic import every
from bot.core.recipient import Recipient
from bot.core.reports import MAX_TEXT, ReportDraft, ReportFlow, Step, new_nonce
from bot.core.understanding import Symptom
from bot.i18n import Translator, translator
from bot.render import Reply
from bot.render import reports as render
from bot.services.answers import Answer
from bot.store.errors import STORE_FAILURES
from bot.telegram import io
from bot.telegram.context import HaliApplication, HaliContext

log = logging.getLogger(__name__)

RETENTION_INTERVAL_SECONDS = 3600
_TASK_KEY = "report_retention_task"


# --- entry points -------------------------------------------------------------------------------


async def report_command(update: Update, context: HaliContext) -> None:
    """/report [service]: start the flow (in a group: move to a private chat)."""
    message = update.effective_message
    assert message is not None
    t = await context.translator()
    service_id = await _match_service(context, " ".join(context.args or []))
    if message.chat.type != Chat.PRIVATE:
        io.send(context, message, render.go_private(t, _link(context, service_id)))
        return
    await _start(context, t, message.chat.id, service_id, new_message=message)


async def start_report(update: Update, context: HaliContext) -> None:
    """/start report-<service>: the deep link from a group opens the flow in private."""
    message = update.effective_message
    assert message is not None
    t = await context.translator()
    payload = (context.args or [""])[0]
    service_id = payload.removeprefix("report").removeprefix("-") or None
    snapshot = await context.hali.engine.board.snapshot()
    if service_id is not None and snapshot.catalog.get(service_id) is None:
        service_id = None
    if message.chat.type != Chat.PRIVATE:
        io.send(context, message, render.go_private(t, _link(context, service_id)))
        return
    await _start(context, t, message.chat.id, service_id, new_message=message)


async def report_from_text(update: Update, context: HaliContext, answer: Answer) -> bool:
    """A free-text message the understander read as a report: the same flow, service pre-filled.

    An unsure report ("mpesa iko down") is left to the ordinary answer, the card, which shows the state
    and offers the report with its button.
    """
    message = update.effective_message
    if message is None or answer.unsure:
        return False
    t = translator(answer.language)
    if message.chat.type != Chat.PRIVATE:
        io.send(context, message, render.go_private(t, _link(context, answer.service)))
        return True
    await _start(context, t, message.chat.id, answer.service, new_message=message)
    return True


async def flow_text(update: Update, context: HaliContext) -> None:
    """Text in a private chat while a report is being written: a service name, or the few words.

    Anything else (a question while the symptom buttons are showing) goes on to the usual handlers and
    the flow stays where it was.
    """
    message = update.effective_message
    if message is None or message.text is None or message.chat.type != Chat.PRIVATE:
        return
    # Every text comes this way first: reading the chat (batched, cached) answers "no report under
    # way" without a query of its own, and the handlers after this find the chat read.
    try:
        reporting = (await context.hali.store.chat(message.chat.id)).reporting
    except STORE_FAILURES:
        return  # the store is away: the text is answered as a question (a report step would not be kept)
    if not reporting:
        return
    reports = context.hali.reports
    flow = await reports.flow(message.chat.id)
    if flow is None or flow.step not in (Step.SERVICE, Step.DETAILS):
        return
    t = await context.translator()
    if flow.step is Step.SERVICE:
        service_id = await _match_service(context, message.text)
        if service_id is None:
            snapshot = await context.hali.engine.board.snapshot()
            flow = replace(flow, nonce=new_nonce())
            await reports.save_flow(flow)
            io.send(context, message, render.ask_service(t, snapshot.services, flow.nonce, not_found=True))
        else:
            await _to_symptom(context, t, flow, service_id, message=message)
        raise ApplicationHandlerStop
    text = message.text.strip()
    if len(text) > MAX_TEXT:
        io.send(context, message, render.details_too_long(t, len(text)))
        raise ApplicationHandlerStop
    await _to_follow_up(context, t, replace(flow, text=text or None), message=message)
    raise ApplicationHandlerStop


async def flow_button(update: Update, context: HaliContext) -> None:
    """⚠️ Report a problem (on every card) and the flow's own buttons (tied to the flow by its nonce)."""
    query = update.callback_query
    assert query is not None
    lang = await context.language()
    t = translator(lang)
    action = decode(query.data)
    if isinstance(action, ReportStart):
        await _card_button(context, query, t, action.service_id)
        return
    message = query.message
    reports = context.hali.reports
    flow = await reports.flow(message.chat.id) if message is not None else None
    if (not isinstance(action, ReportStep) or flow is None or flow.nonce != action.nonce
            or not isinstance(message, Message)):
        await io.expired(context, query, lang)
        return
    op, arg = action.op, action.arg
    if op is ReportOp.CANCEL:
        await reports.end_flow(flow.chat_id)
        log.info("report flow cancelled")
        await io.edit(context, query, render.cancelled(t), lang)
        return
    snapshot = await context.hali.engine.board.snapshot()
    if op is ReportOp.SERVICE and flow.step is Step.SERVICE and snapshot.catalog.get(arg) is not None:
        await _to_symptom(context, t, flow, arg, query=query)
        return
    if op is ReportOp.SYMPTOM and flow.step is Step.SYMPTOM and arg in Symptom.__members__.values():
        await _to_details(context, t, replace(flow, symptom=Symptom(arg)), query)
        return
    if op is ReportOp.SKIP and flow.step is Step.DETAILS:
        await _to_follow_up(context, t, replace(flow, text=None), query=query)
        return
    if op is ReportOp.FOLLOW_UP and flow.step is Step.FOLLOW_UP and arg in ("0", "1"):
        await _submit(context, t, flow, arg == "1", query)
        return
    await io.expired(context, query, lang)


# --- steps --------------------------------------------------------------------------------------


async def _start(context: HaliContext, t: Translator, chat_id: int, service_id: str | None, *,
                 new_message: Message | None = None, query: CallbackQuery | None = None) -> None:
    flow = ReportFlow(chat_id, new_nonce(), Step.SERVICE)
    log.info("report flow started service=%s", service_id)
    if service_id is not None:
        await _to_symptom(context, t, flow, service_id, message=new_message, query=query)
        return
    await context.hali.reports.save_flow(flow)
    snapshot = await context.hali.engine.board.snapshot()
    await _show(context, render.ask_service(t, snapshot.services, flow.nonce), t, message=new_message, query=query)


async def _to_symptom(context: HaliContext, t: Translator, flow: ReportFlow, service_id: str, *,
                      message: Message | None = None, query: CallbackQuery | None = None) -> None:
    snapshot = await context.hali.engine.board.snapshot()
    service = snapshot.catalog[service_id]
    flow = replace(flow, nonce=new_nonce(), step=Step.SYMPTOM, service_id=service_id)
    await context.hali.reports.save_flow(flow)
    await _show(context, render.ask_symptom(t, service, snapshot.status(service_id), flow.nonce), t,
                message=message, query=query)


async def _to_details(context: HaliContext, t: Translator, flow: ReportFlow, query: CallbackQuery) -> None:
    snapshot = await context.hali.engine.board.snapshot()
    service = snapshot.catalog.get(flow.service_id or "")
    symptom = flow.symptom
    if service is None or symptom is None:
        await io.expired(context, query, t.lang)
        return
    flow = replace(flow, nonce=new_nonce(), step=Step.DETAILS)
    await context.hali.reports.save_flow(flow)
    await _show(context, render.ask_details(t, service, symptom, flow.nonce), t, query=query)


async def _to_follow_up(context: HaliContext, t: Translator, flow: ReportFlow, *,
                        message: Message | None = None, query: CallbackQuery | None = None) -> None:
    snapshot = await context.hali.engine.board.snapshot()
    service = snapshot.catalog.get(flow.service_id or "")
    if service is None:
        if query is not None:
            await io.expired(context, query, t.lang)
        return
    flow = replace(flow, nonce=new_nonce(), step=Step.FOLLOW_UP)
    await context.hali.reports.save_flow(flow)
    await _show(context, render.ask_follow_up(t, service, flow.nonce), t, message=message, query=query)


async def _submit(context: HaliContext, t: Translator, flow: ReportFlow, follow_up: bool,
                  query: CallbackQuery) -> None:
    """Store the report; only a committed report is acknowledged with its reference."""
    snapshot = await context.hali.engine.board.snapshot()
    service = snapshot.catalog.get(flow.service_id or "")
    if service is None or flow.symptom is None:
        await io.expired(context, query, t.lang)
        return
    reports = context.hali.reports
    draft = ReportDraft(service.id, flow.symptom, flow.text, flow.chat_id, t.lang, follow_up)
    try:
        result = await reports.submit(draft, end_flow=True)
    except STORE_FAILURES:
        log.warning("a report could not be stored; the citizen was asked to try again", exc_info=True)
        await io.edit(context, query, render.not_saved(t, query.data or ""), t.lang)
        return
    if not result.accepted:
        log.info("report refused: daily cap reached")
        await io.edit(context, query, render.capped(t, reports.policy.daily_cap), t.lang)
        return
    log.info("report stored service=%s symptom=%s counted=%s flagged=%s", service.id, flow.symptom.value,
             result.counted, result.flagged)
    # The report is committed: whatever fails from here on, the citizen gets its reference.
    context.hali.engine.board.invalidate()
    try:
        snapshot = await context.hali.engine.board.snapshot()
        subscribed = await context.hali.store.subscriptions.is_subscribed(Recipient.telegram(flow.chat_id), service.id)
    except STORE_FAILURES:
        log.warning("the store failed after a report was committed; acknowledged from what was read before",
                    exc_info=True)
        subscribed = False
    reply = render.submitted(t, service, snapshot.status(service.id), result, follow_up=follow_up,
                             subscribed=subscribed)
    await io.edit(context, query, reply, t.lang)


async def _card_button(context: HaliContext, query: CallbackQuery, t: Translator, service_id: str) -> None:
    snapshot = await context.hali.engine.board.snapshot()
    if snapshot.catalog.get(service_id) is None:
        await io.expired(context, query, t.lang)
        return
    message = query.message
    if message is None or message.chat.type != Chat.PRIVATE:
        # Telegram opens a t.me link given in the answer: the citizen lands in the private chat.
        await io.answer(context, query, render.go_private_note(t), url=_link(context, service_id))
        return
    await _start(context, t, message.chat.id, service_id, new_message=None, query=query)


# --- helpers ------------------------------------------------------------------------------------


async def _show(context: HaliContext, reply: Reply, t: Translator, *, message: Message | None = None,
                query: CallbackQuery | None = None) -> None:
    """A new message when the step follows a typed message; an edit when it follows a button."""
    if query is not None:
        if isinstance(decode(query.data), ReportStart):
            await io.answer(context, query)
            io.send_new(context, query, reply)
            return
        await io.edit(context, query, reply, t.lang)
    elif message is not None:
        io.send(context, message, reply)


async def _match_service(context: HaliContext, text: str) -> str | None:
    if not text.strip():
        return None
    snapshot = await context.hali.engine.board.snapshot()
    service_id, _ = context.hali.engine.understander(snapshot.catalog).match_service(text)
    return service_id


def _link(context: HaliContext, service_id: str | None) -> str:
    return render.deep_link(context.bot.username or "", service_id)


# --- retention in the background ----------------------------------------------------------------


def start_retention(application: HaliApplication) -> None:
    """Start the hourly retention job (anonymise old reports, drop chat ids and stale flows)."""
    hali = application.bot_data["hali"]
    reports = hali.reports
    task = asyncio.create_task(
        every(RETENTION_INTERVAL_SECONDS, reports.purge, name="report retention", first_delay=60),
        name="report-retention",
    )
    application.bot_data[_TASK_KEY] = task


async def stop_retention(application: HaliApplication) -> None:
    task: asyncio.Task[None] | None = application.bot_data.pop(_TASK_KEY, None)
    if task is None:
        return
    task.cancel()
    try:
        await task
    except asyncio.CancelledError:
        pass
