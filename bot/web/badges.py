"""A service's badge: an SVG in the usual two-part look, and the JSON shields.io's endpoint badge reads.

The SVG is a small template rather than a badge library: the ones on PyPI measure text with fonts they
ship or look up, while a badge rendered once per snapshot only needs widths good enough for one line.
"""

from __future__ import annotations

import json
from typing import Any

from jinja2 import Environment

from bot.catalog.model import Service
from bot.core.status import EffectiveStatus, State
from bot.i18n import Translator
from bot.web.pages import state_view

COLOURS = {  # shields.io's named colours, and the same in the SVG
    None: ("green", "#97ca00"),
    State.OPERATIONAL: ("brightgreen", "#44cc11"),
    State.DEGRADED: ("yellow", "#dfb317"),
    State.PARTIAL_OUTAGE: ("orange", "#fe7d37"),
    State.MAJOR_OUTAGE: ("red", "#e05d44"),
    State.MAINTENANCE: ("blue", "#007ec6"),
}
_NARROW = set("fijlrtI1.,:;!|'() ")
_WIDE = set("mwMWOQGDHNU@%")


def text_width(text: str) -> int:
    """About how wide `text` is in 11 px Verdana, the badges' font."""
    return sum(4 if c in _NARROW else 10 if c in _WIDE else 7 for c in text)


def _colour(status: EffectiveStatus) -> tuple[str, str]:
    return COLOURS[None if status.source is None else status.state]


def endpoint(t: Translator, service: Service, status: EffectiveStatus) -> bytes:
    """https://shields.io/badges/endpoint-badge"""
    doc: dict[str, Any] = {
        "schemaVersion": 1,
        "label": service.name.get(t.lang),
        "message": state_view(t, status).word,
        "color": _colour(status)[0],
        "cacheSeconds": 300,
    }
    return json.dumps(doc, ensure_ascii=False, separators=(",", ":")).encode()


def svg(env: Environment, t: Translator, service: Service, status: EffectiveStatus) -> bytes:
    label = service.name.get(t.lang)
    message = state_view(t, status).word
    left, right = text_width(label) + 12, text_width(message) + 12
    return env.get_template("badge.svg").render(
        label=label, message=message, left=left, right=right, width=left + right, colour=_colour(status)[1],
        lang=t.lang,
    ).encode()
