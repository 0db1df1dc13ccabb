"""The operator API: incidents and maintenance windows over HTTP, doing what `hali incident` and
`hali maintenance` do, through the same store methods (so the same audit, events and notifications).

    POST /api/v1/incidents                    {service, status, title, title_sw?, message?, message_sw?,
                                               workaround?, workaround_sw?}            → 201 {id}
    POST /api/v1/incidents/<id>/updates       {message, message_sw?, status?}
    POST /api/v1/incidents/<id>/resolve       {message?, message_sw?}
    POST /api/v1/maintenance                  {service, start, end, title, title_sw?, every?, until?} → 201 {id}
    POST /api/v1/maintenance/<id>/cancel

Bodies are checked field by field (422 names each bad field); an unknown incident or window is 404, a
change that does not apply (resolving a resolved incident) 409, a service outside the token's 403.
"""

from __future__ import annotations

from typing import Annotated, Literal, Self, TypeVar

from aiohttp import web
from pydantic import BaseModel, ConfigDict, StringConstraints, ValidationError, model_validator

from bot.app import App
from bot.catalog.model import Text
from bot.core.maintenance import BadTime, Every, parse_end, parse_start
from bot.core.status import State
from bot.store import maintenance
from bot.store.repo import Conflict, NotFound
from bot.store.tokens import Token
from bot.web.auth import Refused, guarded, json_response, read_json, require_scope

Line = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=4000)]
IncidentStatus = Literal["degraded", "partial_outage", "major_outage", "maintenance"]


class _Body(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    @model_validator(mode="after")
    def _english_first(self) -> Self:
        for name in type(self).model_fields:
            if name.endswith("_sw") and getattr(self, name) is not None and getattr(self, name[:-3]) is None:
                raise ValueError(f"{name} needs {name[:-3]} too: the English text is the one always shown")
        return self


class OpenIncident(_Body):
    service: str
    status: IncidentStatus
    title: Line
    title_sw: Line | None = None
    message: Line | None = None
    message_sw: Line | None = None
    workaround: Line | None = None
    workaround_sw: Line | None = None


class UpdateIncident(_Body):
    message: Line
    message_sw: Line | None = None
    status: IncidentStatus | None = None


class ResolveIncident(_Body):
    message: Line | None = None
    message_sw: Line | None = None


class ScheduleMaintenance(_Body):
    service: str
    start: Line  # "2026-12-06 18:00", East Africa Time unless it carries an offset
    end: Line  # "22:00", "4h" or a date and time
    title: Line
    title_sw: Line | None = None
    every: Literal["weekly", "monthly"] | None = None
    until: Line | None = None


B = TypeVar("B", bound=_Body)


async def _body(request: web.Request, model: type[B]) -> B:
    try:
        return model.model_validate(await read_json(request))
    except ValidationError as exc:
        errors = [{"field": ".".join(str(p) for p in e["loc"]) or "body", "message": e["msg"]}
                  for e in exc.errors(include_url=False)]
        summary = "; ".join(f"{e['field']}: {e['message']}" for e in errors)
        raise Refused(422, f"invalid body: {summary}", errors=errors) from None


def _text(en: str | None, sw: str | None) -> Text | None:
    return Text(en, sw) if en is not None else None


class OperatorApi:
    def __init__(self, app: App) -> None:
        self.app = app
        self.store = app.store

    async def _known_service(self, service_id: str, token: Token) -> None:
        if service_id not in await self.store.service_ids():
            raise Refused(422, f"unknown service {service_id!r}: use a catalogue id (see /api/v2/components.json)")
        require_scope(token, {service_id})

    async def _incident_service(self, request: web.Request, token: Token) -> int:
        incident_id = int(request.match_info["incident"])
        try:
            incident = await self.store.incident(incident_id)
        except NotFound as exc:
            raise Refused(404, str(exc)) from None
        require_scope(token, {incident.service_id})
        return incident_id

    def _changed(self) -> None:
        self.app.board.invalidate()

    async def open_incident(self, request: web.Request, token: Token) -> web.Response:
        body = await _body(request, OpenIncident)
        await self._known_service(body.service, token)
        incident_id = await self.store.open_incident(
            body.service, State(body.status), Text(body.title, body.title_sw), actor=token.actor,
            message=_text(body.message, body.message_sw), workaround=_text(body.workaround, body.workaround_sw))
        self._changed()
        return json_response({"id": incident_id}, status=201)

    async def update_incident(self, request: web.Request, token: Token) -> web.Response:
        incident_id = await self._incident_service(request, token)
        body = await _body(request, UpdateIncident)
        try:
            await self.store.update_incident(incident_id, Text(body.message, body.message_sw), actor=token.actor,
                                             state=State(body.status) if body.status else None)
        except Conflict as exc:
            raise Refused(409, str(exc)) from None
        self._changed()
        return json_response({"id": incident_id, "updated": True})

    async def resolve_incident(self, request: web.Request, token: Token) -> web.Response:
        incident_id = await self._incident_service(request, token)
        body = await _body(request, ResolveIncident)
        try:
            await self.store.resolve_incident(incident_id, actor=token.actor,
                                              message=_text(body.message, body.message_sw))
        except Conflict as exc:
            raise Refused(409, str(exc)) from None
        self._changed()
        return json_response({"id": incident_id, "resolved": True})

    async def schedule_maintenance(self, request: web.Request, token: Token) -> web.Response:
        body = await _body(request, ScheduleMaintenance)
        await self._known_service(body.service, token)
        try:
            start = parse_start(body.start, self.store.clock())
            end = parse_end(body.end, start)
            until = parse_start(body.until, start) if body.until else None
            window_id = await self.store.schedule_maintenance(
                body.service, start, end, Text(body.title, body.title_sw), actor=token.actor,
                every=Every(body.every) if body.every else None, until=until)
        except (BadTime, Conflict) as exc:
            raise Refused(422, str(exc)) from None
        self._changed()
        return json_response({"id": window_id}, status=201)

    async def cancel_maintenance(self, request: web.Request, token: Token) -> web.Response:
        window_id = int(request.match_info["window"])
        try:
            require_scope(token, {await maintenance.service_of(self.store, window_id)})
            await self.store.cancel_maintenance(window_id, actor=token.actor)
        except NotFound as exc:
            raise Refused(404, str(exc)) from None
        except Conflict as exc:
            raise Refused(409, str(exc)) from None
        self._changed()
        return json_response({"id": window_id, "cancelled": True})


def add_operator_routes(web_app: web.Application, app: App) -> None:
    api = OperatorApi(app)
    tokens = app.store.tokens
    number = "{%s:[0-9]{1,12}}"
    routes = (
        ("/api/v1/incidents", api.open_incident),
        (f"/api/v1/incidents/{number % 'incident'}/updates", api.update_incident),
        (f"/api/v1/incidents/{number % 'incident'}/resolve", api.resolve_incident),
        ("/api/v1/maintenance", api.schedule_maintenance),
        (f"/api/v1/maintenance/{number % 'window'}/cancel", api.cancel_maintenance),
    )
    for path, handler in routes:
        web_app.router.add_post(path, guarded(tokens, "incidents", "api.refused", handler))


__all__ = ["add_operator_routes"]
