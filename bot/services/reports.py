"""Citizens' reports as operators see them: counts by symptom and the crowd signal, per service."""

from __future__ import annotations

from datetime import datetime

from bot.core.board import StatusBoard
from bot.core.reports import ServiceSummary
from bot.store.reports import CrowdSignals, ReportStore


async def summarise(reports: ReportStore, since: datetime, service_id: str | None) -> list[ServiceSummary]:
    """The operators' view (`hali reports`, the operators' /reports): one summary per service."""
    catalog = (await StatusBoard(reports.store, max_age=0).snapshot()).catalog
    signals = await CrowdSignals(reports).current(catalog)
    return await reports.summary(since, service_id=service_id, crowd_signals=signals)
