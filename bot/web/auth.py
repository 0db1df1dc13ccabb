"""Bearer tokens on the hooks and the operator API: who is asking, may they, and the audit of refusals.

Every refusal is written to the audit log with the token's name ("token:unknown" when the value is no
token's); the value itself is never written anywhere. An accepted use is audited by what it changes.
"""

from __future__ import annotations

import json
from collections.abc import Awaitable, Callable
from typing import Any, Literal

from aiohttp import web

from bot.store.tokens import Token, TokenStore

Permission = Literal["hooks", "incidents"]
Handler = Callable[[web.Request, Token], Awaitable[web.Response]]

UNKNOWN_ACTOR = "token:unknown"


class Refused(Exception):
    """The request is refused with this status and message; nothing was changed."""

    def __init__(self, status: int, message: str, **extra: Any) -> None:
        super().__init__(message)
        self.status = status
        self.message = message
        self.extra = extra


def json_response(doc: Any, *, status: int = 200, headers: dict[str, str] | None = None) -> web.Response:
    return web.Response(body=json.dumps(doc, ensure_ascii=False).encode(), status=status,
                        content_type="application/json", headers={"Cache-Control": "no-store", **(headers or {})})


def bearer(request: web.Request) -> str | None:
    scheme, _, value = request.headers.get("Authorization", "").strip().partition(" ")
    value = value.strip()
    return value if scheme.lower() == "bearer" and value else None


async def read_json(request: web.Request) -> Any:
    """The body as JSON; an empty body is an empty object (a resolve needs nothing more)."""
    raw = await request.read()
    if not raw.strip():
        return {}
    try:
        return json.loads(raw)
    except (ValueError, UnicodeDecodeError):
        raise Refused(422, "the body is not valid JSON") from None


def guarded(tokens: TokenStore, permission: Permission, refused_action: str,
            handler: Handler) -> Callable[[web.Request], Awaitable[web.StreamResponse]]:
    """`handler` behind a token that has `permission`; refusals answered in JSON and audited."""

    async def guard(request: web.Request) -> web.StreamResponse:
        token: Token | None = None
        try:
            value = bearer(request)
            if value is None:
                raise Refused(401, "missing token: send the header Authorization: Bearer <token>")
            token = await tokens.check(value)
            if token is None:
                raise Refused(401, "unknown token")
            if not token.active:
                raise Refused(401, f"token {token.name!r} has been revoked")
            if not getattr(token, permission):
                raise Refused(403, f"token {token.name!r} may not use the {_WHAT[permission]} "
                                   f"(create it with --{permission})")
            return await handler(request, token)
        except Refused as refusal:
            await tokens.record(token.actor if token is not None else UNKNOWN_ACTOR, refused_action,
                                f"{request.method} {request.path}",
                                {"status": refusal.status, "reason": refusal.message})
            headers = {"WWW-Authenticate": "Bearer"} if refusal.status == 401 else None
            return json_response({"error": refusal.message, **refusal.extra}, status=refusal.status,
                                 headers=headers)

    return guard


def require_scope(token: Token, service_ids: set[str]) -> None:
    outside = sorted(s for s in service_ids if not token.covers(s))
    if outside:
        raise Refused(403, f"token {token.name!r} may not change {', '.join(outside)}")


_WHAT = {"hooks": "alert hooks", "incidents": "incident and maintenance API"}

__all__ = ["Refused", "bearer", "guarded", "json_response", "read_json", "require_scope"]
