"""History the public status page reads: days of check counts, runs of failures, reports per hour.

The check tables written here are counted as each result is recorded (`count`, called in the check
store's transaction), so nothing has to roll the hourly table up before it is pruned: a day row is one
primary-key update per result, and a failure run is touched only by failing results.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, timedelta
from typing import TYPE_CHECKING

from sqlalchemy import delete, func, select

from bot.catalog.model import Check, Text
from bot.core.checks import Level, Outcome, ProbeResult, stale_after
from bot.core.maintenance import EAT, Every, MaintenanceWindow
from bot.store.db import AsyncSession, rowcount
from bot.store.models import CheckDayRow, CheckFailureRow, MaintenanceRow, ReportRow, ServiceRow

if TYPE_CHECKING:
    from bot.store.repo import Store

DAYS_KEPT = timedelta(days=100)
# Outage records cite these; one row per outage of a check, so they are kept much longer.
FAILURES_KEPT = timedelta(days=400)


def eat_day(moment: datetime) -> date:
    return moment.astimezone(EAT).date()


def reason(result: ProbeResult) -> str:
    """How a failure is kept: the outcome, with the status code for an error page ("http_status 503")."""
    if result.outcome is Outcome.HTTP_STATUS and result.status_code is not None:
        return f"{result.outcome.value} {result.status_code}"
    return result.outcome.value


async def count(session: AsyncSession, result: ProbeResult, check: Check) -> None:
    """Add one result to its day, and a failure (or slow answer) to the check's current failure run."""
    day = await session.get(CheckDayRow, (result.key, eat_day(result.at)), with_for_update=True)
    if day is None:
        day = CheckDayRow(key=result.key, day=eat_day(result.at), service_id=result.service_id,
                          total=0, good=0, slow=0, offline=0)
        session.add(day)
    day.total += 1
    if result.offline:
        day.offline += 1
        return
    if result.outcome.level is not Level.DOWN:
        day.good += 1
        day.slow += result.outcome is Outcome.SLOW
    if result.outcome.level is Level.UP:
        return
    run = (await session.scalars(
        select(CheckFailureRow).where(CheckFailureRow.key == result.key)
        .order_by(CheckFailureRow.last_at.desc()).limit(1).with_for_update()
    )).one_or_none()
    # A run goes on while failures follow each other more closely than a verdict goes stale.
    if run is None or result.at - run.last_at > stale_after(check):
        run = CheckFailureRow(key=result.key, service_id=result.service_id, first_at=result.at,
                              last_at=result.at, failures=0, reasons={})
        session.add(run)
    run.last_at = max(run.last_at, result.at)
    run.failures += 1
    why = reason(result)
    run.reasons = {**run.reasons, why: int(run.reasons.get(why, 0)) + 1}


async def prune(session: AsyncSession, now: datetime) -> tuple[int, int]:
    """Days older than DAYS_KEPT, failure runs that ended before FAILURES_KEPT."""
    days = await session.execute(delete(CheckDayRow).where(CheckDayRow.day < eat_day(now - DAYS_KEPT)))
    runs = await session.execute(delete(CheckFailureRow).where(CheckFailureRow.last_at < now - FAILURES_KEPT))
    return rowcount(days), rowcount(runs)


@dataclass(frozen=True)
class DayCount:
    """One service's counted probes on one day (offline batches left out)."""

    good: int
    counted: int

    @property
    def share(self) -> float | None:
        return self.good / self.counted if self.counted else None


@dataclass(frozen=True)
class FailureRun:
    key: str
    service_id: str
    first_at: datetime
    last_at: datetime
    failures: int
    reasons: dict[str, int]


@dataclass(frozen=True)
class PastWindow:
    """A maintenance window as planned, with when it was cancelled (None: it stands)."""

    window: MaintenanceWindow
    created_at: datetime
    cancelled_at: datetime | None


class History:
    """Read-only queries for the public page and the API, on one Store."""

    def __init__(self, store: Store) -> None:
        self.store = store

    async def days(self, first: date) -> dict[str, dict[date, DayCount]]:
        """Per service and day from `first` on: the counted probes of all its checks together."""
        query = (select(CheckDayRow.service_id, CheckDayRow.day, func.sum(CheckDayRow.good),
                        func.sum(CheckDayRow.total - CheckDayRow.offline))
                 .where(CheckDayRow.day >= first).group_by(CheckDayRow.service_id, CheckDayRow.day))
        async with self.store.sessions() as session:
            rows = (await session.execute(query)).all()
        found: dict[str, dict[date, DayCount]] = {}
        for service_id, day, good, counted in rows:
            found.setdefault(service_id, {})[day] = DayCount(int(good or 0), int(counted or 0))
        return found

    async def failures(self, service_id: str, start: datetime, end: datetime) -> list[FailureRun]:
        """The service's failure runs that overlap [start, end], oldest first."""
        query = (select(CheckFailureRow)
                 .where(CheckFailureRow.service_id == service_id, CheckFailureRow.last_at >= start,
                        CheckFailureRow.first_at <= end)
                 .order_by(CheckFailureRow.first_at, CheckFailureRow.id))
        async with self.store.sessions() as session:
            rows = (await session.scalars(query)).all()
        return [FailureRun(r.key, r.service_id, r.first_at, r.last_at, r.failures,
                           {str(k): int(v) for k, v in r.reasons.items()}) for r in rows]

    async def reports_per_hour(self, service_id: str, start: datetime, end: datetime) -> list[tuple[datetime, int]]:
        """Counted citizens' reports per hour (hours with none left out): counts only, never who or what."""
        from bot.store.reports import hour_number

        query = (select(ReportRow.hour, func.count()).where(
            ReportRow.service_id == service_id, ReportRow.counted.is_(True),
            ReportRow.hour >= hour_number(start), ReportRow.hour <= hour_number(end))
            .group_by(ReportRow.hour).order_by(ReportRow.hour))
        async with self.store.sessions() as session:
            rows = (await session.execute(query)).all()
        epoch = datetime.fromtimestamp(0, tz=EAT)
        return [(epoch + timedelta(hours=int(hour)), int(n)) for hour, n in rows]

    async def windows(self) -> list[PastWindow]:
        """Every maintenance window ever planned, cancelled ones included, oldest first."""
        async with self.store.sessions() as session:
            rows = (await session.scalars(select(MaintenanceRow).order_by(MaintenanceRow.starts_at,
                                                                          MaintenanceRow.id))).all()
        return [PastWindow(
            MaintenanceWindow(r.id, r.service_id, r.starts_at, r.ends_at, Text(r.title_en, r.title_sw or None),
                              Every(r.every) if r.every else None, r.until),
            r.created_at, r.cancelled_at) for r in rows]

    async def service_times(self) -> dict[str, datetime]:
        """When each service's catalogue entry was last written."""
        async with self.store.sessions() as session:
            rows = (await session.execute(select(ServiceRow.id, ServiceRow.updated_at))).all()
        return {service_id: at for service_id, at in rows}

