"""What the store's changes raise when they do not apply: a leaf, so every store module can use it."""

from __future__ import annotations

from sqlalchemy.exc import SQLAlchemyError


class NotFound(LookupError):
    """The named service or incident does not exist."""


class Conflict(ValueError):
    """The change does not apply to the current state (e.g. resolving a resolved incident)."""


#: What a query raises when the database fails or is away: callers outside the store catch this name,
#: so that only the store knows it speaks SQL.
StoreError = SQLAlchemyError
