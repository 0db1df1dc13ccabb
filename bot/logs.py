"""Log lines without personal data: a database error's exception text is told without its values."""

from __future__ import annotations

import logging
import traceback
from types import TracebackType

from bot.store.error_text import describe

ExcInfo = tuple[type[BaseException], BaseException, TracebackType | None] | tuple[None, None, None]


class PrivateFormatter(logging.Formatter):
    """A formatter whose tracebacks describe database errors by bot/store/error_text.py, and show only the
    kind of the exceptions underneath one (a driver's TypeError can quote the value it refused)."""

    def format(self, record: logging.LogRecord) -> str:
        record.exc_text = None  # another handler's formatter may have cached the unsafe text
        return super().format(record)

    def formatException(self, ei: ExcInfo) -> str:
        exc = ei[1]
        if exc is None:
            return super().formatException(ei)
        return "".join(_chain(exc, hidden=False, seen=set())).rstrip("\n")


def _chain(exc: BaseException, *, hidden: bool, seen: set[int]) -> list[str]:
    seen.add(id(exc))
    description = describe(exc)
    below = hidden or description is not None
    lines: list[str] = []
    cause, context = exc.__cause__, exc.__context__
    if cause is not None and id(cause) not in seen:
        lines += _chain(cause, hidden=below, seen=seen)
        lines.append("\nThe above exception was the direct cause of the following exception:\n\n")
    elif context is not None and not exc.__suppress_context__ and id(context) not in seen:
        lines += _chain(context, hidden=below, seen=seen)
        lines.append("\nDuring handling of the above exception, another exception occurred:\n\n")
    if exc.__traceback__ is not None:
        lines.append("Traceback (most recent call last):\n")
        lines += traceback.format_tb(exc.__traceback__)
    kind = type(exc)
    name = kind.__qualname__ if kind.__module__ == "builtins" else f"{kind.__module__}.{kind.__qualname__}"
    if description is not None:
        lines.append(f"{name}: {description}\n")
    elif hidden:
        lines.append(f"{name} (message hidden: raised inside a database driver)\n")
    else:
        lines += traceback.format_exception_only(exc)[-1:]
    if isinstance(exc, BaseExceptionGroup):
        for number, inner in enumerate(exc.exceptions, 1):
            lines.append(f"+---------------- {number} ----------------\n")
            lines += _chain(inner, hidden=hidden, seen=seen)
    return lines
