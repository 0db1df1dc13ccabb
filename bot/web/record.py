"""An outage record a citizen can cite: an incident with what the checks saw and how many people reported it.

The record's facts, in no particular language, are one canonical JSON document (/incidents/<id>.json);
its SHA-256 is the content hash the page shows, so anyone can check that a printed record is unchanged.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from functools import cached_property
from typing import Any

from bot.catalog.model import Text
from bot.core.status import Incident
from bot.store.history import FailureRun, History
from bot.web.published import incident_changed

# Automatic checks often see an outage before an operator posts it.
LOOK_BEFORE = timedelta(hours=1)


def _iso(moment: datetime | None) -> str | None:
    return moment.astimezone(UTC).isoformat() if moment is not None else None


def _text(text: Text | None) -> dict[str, str] | None:
    if text is None:
        return None
    return {"en": text.en, "sw": text.sw} if text.sw else {"en": text.en}


@dataclass(frozen=True)
class Record:
    incident: Incident
    failures: tuple[FailureRun, ...]
    reports: tuple[tuple[datetime, int], ...]  # (hour, counted reports), hours with none left out
    now: datetime

    @property
    def end(self) -> datetime:
        return self.incident.resolved_at or self.now

    @property
    def duration(self) -> timedelta:
        return self.end - self.incident.opened_at

    @property
    def reported(self) -> int:
        return sum(n for _, n in self.reports)

    @property
    def last_changed(self) -> datetime:
        moments = [incident_changed(self.incident), *(r.last_at for r in self.failures),
                   *(hour for hour, _ in self.reports)]
        return max(moments)

    def facts(self) -> dict[str, Any]:
        i = self.incident
        return {
            "incident": i.id,
            "service": i.service_id,
            "title": _text(i.title),
            "state": i.state.value,
            "opened_at": _iso(i.opened_at),
            "resolved_at": _iso(i.resolved_at),
            "workaround": _text(i.workaround),
            "updates": [{"at": _iso(u.at), "kind": u.kind, "status": u.status.value if u.status else None,
                         "message": _text(u.message)} for u in i.updates],
            "checks": [{"check": r.key.split(" ", 1)[-1], "first_failure": _iso(r.first_at),
                        "last_failure": _iso(r.last_at), "failures": r.failures,
                        "reasons": dict(sorted(r.reasons.items()))} for r in self.failures],
            "reports_per_hour": [{"hour": _iso(hour), "reports": n} for hour, n in self.reports],
        }

    @cached_property
    def document(self) -> bytes:
        return json.dumps(self.facts(), ensure_ascii=False, sort_keys=True, separators=(",", ":")).encode()

    @property
    def digest(self) -> str:
        return hashlib.sha256(self.document).hexdigest()


async def build_record(history: History, incident: Incident, now: datetime) -> Record:
    start = incident.opened_at - LOOK_BEFORE
    end = incident.resolved_at or now
    failures = await history.failures(incident.service_id, start, end)
    reports = await history.reports_per_hour(incident.service_id, start, end)
    return Record(incident, tuple(failures), tuple(reports), now)
