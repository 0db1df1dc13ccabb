"""The public addresses other parts link to: an incident's record on the status page."""

from __future__ import annotations


def incident_path(incident_id: int) -> str:
    """The record's path under the status page (bot/web serves it)."""
    return f"incidents/{incident_id}"


def incident_url(public_url: str, incident_id: int) -> str:
    """The stable address of an incident's record, for cards and "it's working again" messages."""
    return f"{public_url.rstrip('/')}/{incident_path(incident_id)}"
