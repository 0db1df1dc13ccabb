"""What the store's changes raise when they do not apply: a leaf, so every store module can use it."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

from sqlalchemy.exc import IntegrityError, SQLAlchemyError


class NotFound(LookupError):
    """The named service or incident does not exist."""


class Conflict(ValueError):
    """The change does not apply to the current state (e.g. resolving a resolved incident)."""


#: What a query raises when the database fails or is away: callers outside the store catch this name,
#: so that only the store knows it speaks SQL.
StoreError = SQLAlchemyError

#: Everything a store that is away or too slow can raise: the drivers let a refused connection (OSError)
#: and a client-side time-out (TimeoutError) through as they are.
STORE_FAILURES: tuple[type[Exception], ...] = (StoreError, OSError, TimeoutError)


class NotSaved(SQLAlchemyError):
    """A change for a chat was not confirmed by the store (away, too slow, or failing): try it again."""


@contextmanager
def saving() -> Iterator[None]:
    """Around a chat's change: a store failure becomes `NotSaved`, so whoever answers knows it was a change.

    An integrity error stays what it is: its callers retry it (a report's reference) or it is a bug.
    """
    try:
        yield
    except (IntegrityError, NotSaved):
        raise
    except STORE_FAILURES as exc:
        raise NotSaved("the change was not confirmed by the store") from exc
