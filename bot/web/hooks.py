"""POST /hooks/alertmanager, /hooks/grafana and /hooks/uptime-kuma: an agency's monitoring feeding Hali.

A delivery is taken whole or not at all: an alert for an unknown service (422) or one outside the
token's services (403) refuses the delivery and changes nothing. Firing alerts become the agency's
monitoring signal on the board; resolved ones clear it; a re-sent delivery changes nothing.
"""

from __future__ import annotations

from aiohttp import web

from bot.app import App
from bot.core.alerts import Alert, Hook, PayloadError, parse, resolve_service
from bot.store.alerts import AlertStore
from bot.store.tokens import Token
from bot.web.auth import Handler, Refused, guarded, json_response, read_json, require_scope


def add_hook_routes(web_app: web.Application, app: App) -> None:
    tokens = app.store.tokens
    alerts = app.store.alerts
    for hook in Hook:
        web_app.router.add_post(f"/hooks/{hook.value}",
                                guarded(tokens, "hooks", "hook.refused", _receiver(app, alerts, hook)))


def _receiver(app: App, alerts: AlertStore, hook: Hook) -> Handler:
    async def receive(request: web.Request, token: Token) -> web.Response:
        try:
            received = parse(hook, await read_json(request))
        except PayloadError as exc:
            raise Refused(422, f"not a {hook.value} webhook payload: {exc}") from None
        catalog = await app.store.catalog()
        resolved: list[tuple[Alert, str]] = []
        for alert in received:
            service_id = resolve_service(catalog, alert.references)
            if service_id is None:
                raise Refused(422, _unknown(alert), alert=alert.name or alert.key)
            resolved.append((alert, service_id))
        require_scope(token, {s for _, s in resolved})
        applied = await alerts.apply(resolved, actor=token.actor, action=f"hook.{hook.value}")
        if applied.changes:
            app.board.invalidate()
        return json_response({"alerts": len(resolved), **applied.as_dict()})

    return receive


def _unknown(alert: Alert) -> str:
    if not alert.references:
        return "the alert has no 'service' label: give it the catalogue id or an alias of a service"
    named = ", ".join(repr(r) for r in alert.references)
    return f"unknown service {named}: use a catalogue id or alias (see /api/v2/components.json)"


__all__ = ["add_hook_routes"]
