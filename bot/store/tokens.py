"""Tokens for the alert hooks and the operator API: created, listed, revoked, checked; every use audited.

Only a token's SHA-256 is stored. A token is given once, when it is made; the audit log names tokens by
their name ("token:ntsa-monitoring"), never by their value.
"""

from __future__ import annotations

import hashlib
import re
import secrets
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime
from typing import TYPE_CHECKING, Any

from sqlalchemy import select

from bot.store.errors import Conflict, NotFound
from bot.store.models import ApiTokenRow

if TYPE_CHECKING:
    from bot.store.repo import Store

PREFIX = "hali_"
_NAME = re.compile(r"^[a-z0-9][a-z0-9._-]{0,63}$")


def digest(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


@dataclass(frozen=True)
class Token:
    name: str
    services: tuple[str, ...] | None  # None: every service, those added later too
    hooks: bool
    incidents: bool
    created_at: datetime
    created_by: str
    revoked_at: datetime | None = None

    @property
    def actor(self) -> str:
        return f"token:{self.name}"

    @property
    def active(self) -> bool:
        return self.revoked_at is None

    def covers(self, service_id: str) -> bool:
        return self.services is None or service_id in self.services


class TokenStore:
    """The api_tokens table of one Store, and the audit rows of the tokens' uses."""

    def __init__(self, store: Store) -> None:
        self.store = store

    async def create(self, name: str, services: Iterable[str] | None, *, hooks: bool, incidents: bool,
                     actor: str) -> str:
        """A new token; returns it (the only time it is seen). A revoked token's name may be used again."""
        if not _NAME.match(name):
            raise Conflict(f"token name {name!r}: use 1–64 lower-case letters, digits, '.', '_' or '-'")
        if not (hooks or incidents):
            raise Conflict("a token needs --hooks, --incidents or both")
        scope = None if services is None else sorted(set(services))
        if scope is not None:
            if not scope:
                raise Conflict("a token needs at least one service (or all)")
            unknown = sorted(set(scope) - await self.store.service_ids())
            if unknown:
                raise NotFound(f"unknown service {unknown[0]!r} (see `hali services`)")
        token = PREFIX + secrets.token_urlsafe(32)
        async with self.store.sessions.begin() as session:
            row = await session.scalar(select(ApiTokenRow).where(ApiTokenRow.name == name).with_for_update())
            if row is not None and row.revoked_at is None:
                raise Conflict(f"a token named {name!r} exists; revoke it first")
            before = _as_dict(row) if row is not None else None
            if row is None:
                row = ApiTokenRow(name=name)
                session.add(row)
            row.digest, row.services, row.hooks, row.incidents = digest(token), scope, hooks, incidents
            row.created_at, row.created_by, row.revoked_at = self.store.clock(), actor, None
            session.add(self.store._audit(actor, "token.create", f"token:{name}", before, _as_dict(row)))
        return token

    async def tokens(self) -> list[Token]:
        async with self.store.sessions() as session:
            rows = (await session.scalars(select(ApiTokenRow).order_by(ApiTokenRow.name))).all()
            return [_token(r) for r in rows]

    async def revoke(self, name: str, *, actor: str) -> Token:
        async with self.store.sessions.begin() as session:
            row = await session.scalar(select(ApiTokenRow).where(ApiTokenRow.name == name).with_for_update())
            if row is None:
                raise NotFound(f"unknown token {name!r} (see `hali token list`)")
            if row.revoked_at is not None:
                raise Conflict(f"token {name!r} is already revoked")
            before = _as_dict(row)
            row.revoked_at = self.store.clock()
            session.add(self.store._audit(actor, "token.revoke", f"token:{name}", before, _as_dict(row)))
            return _token(row)

    async def check(self, token: str) -> Token | None:
        """The token this value is (revoked ones too: the caller refuses them by name), or None."""
        async with self.store.sessions() as session:
            row = await session.scalar(select(ApiTokenRow).where(ApiTokenRow.digest == digest(token)))
            return _token(row) if row is not None else None

    async def record(self, actor: str, action: str, target: str, details: dict[str, Any]) -> None:
        """One audit row for a use that changed nothing itself (a refusal, a test delivery)."""
        async with self.store.sessions.begin() as session:
            session.add(self.store._audit(actor, action, target[:128], None, details))


def _token(row: ApiTokenRow) -> Token:
    return Token(row.name, tuple(row.services) if row.services is not None else None, row.hooks, row.incidents,
                 row.created_at, row.created_by, row.revoked_at)


def _as_dict(row: ApiTokenRow) -> dict[str, Any]:
    return {"services": row.services if row.services is not None else "all", "hooks": row.hooks,
            "incidents": row.incidents, "revoked_at": row.revoked_at.isoformat() if row.revoked_at else None}


__all__ = ["PREFIX", "Token", "TokenStore", "digest"]
