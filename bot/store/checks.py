"""Queries for automatic checks: state, history, uptime, and the lease that elects one runner."""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import TYPE_CHECKING

from sqlalchemy import delete, func, select
from sqlalchemy.exc import IntegrityError

from bot.catalog.model import Catalog, Check
from bot.core.checks import (
    UPTIME_PERIODS,
    CheckVerdict,
    CheckView,
    Level,
    Outcome,
    ProbeResult,
    TrackState,
    Uptime,
    service_signal,
    stale_after,
    step,
)
from bot.core.status import Signal
from bot.store import history
from bot.store.db import AsyncSession, rowcount
from bot.store.models import CheckHourRow, CheckResultRow, CheckStateRow, LeaseRow

if TYPE_CHECKING:
    from bot.store.repo import Store

RESULTS_KEPT = timedelta(days=2)
HOURS_KEPT = timedelta(days=31)


@dataclass(frozen=True)
class CheckRecord:
    """A check's stored state, for `hali checks list`."""

    key: str
    service_id: str
    level: Level | None
    since: datetime | None
    last_at: datetime | None
    last_outcome: Outcome | None
    last_latency_ms: int | None
    last_detail: str | None
    last_offline: bool


class CheckStore:
    """The check tables of one Store. Only the runner that holds the lease writes."""

    def __init__(self, store: Store) -> None:
        self.store = store
        self.sessions = store.sessions

    @property
    def now(self) -> datetime:
        return self.store.clock()

    async def record(self, result: ProbeResult, check: Check) -> TrackState:
        """Keep one result: the raw row, the hour's counts, and (unless offline) the verdict."""
        return (await self.record_many([(result, check)]))[0]

    async def record_many(self, items: Sequence[tuple[ProbeResult, Check]]) -> list[TrackState]:
        """Keep several results in one transaction (the runner writes whatever arrived meanwhile)."""
        async with self.sessions.begin() as session:
            return [await self._record(session, result, check) for result, check in items]

    async def _record(self, session: AsyncSession, result: ProbeResult, check: Check) -> TrackState:
        hour = result.at.replace(minute=0, second=0, microsecond=0)
        row = await session.get(CheckStateRow, result.key, with_for_update=True)
        if row is None:
            row = CheckStateRow(key=result.key, service_id=result.service_id, streak=0, last_offline=False)
            session.add(row)
        state = _track(row)
        if not result.offline:
            state = step(state, result, check)
            row.level = state.level.value if state.level else None
            row.since = state.since
            row.streak = state.streak
            row.streak_level = state.streak_level.value if state.streak_level else None
            row.counted_at = result.at
        row.last_at, row.last_outcome = result.at, result.outcome.value
        row.last_latency_ms, row.last_status_code = result.latency_ms, result.status_code
        row.last_detail, row.last_offline = result.detail, result.offline
        session.add(CheckResultRow(
            key=result.key, service_id=result.service_id, at=result.at, outcome=result.outcome.value,
            latency_ms=result.latency_ms, status_code=result.status_code, detail=result.detail,
            offline=result.offline,
        ))
        bucket = await session.get(CheckHourRow, (result.key, hour), with_for_update=True)
        if bucket is None:
            bucket = CheckHourRow(key=result.key, hour=hour, service_id=result.service_id,
                                  total=0, good=0, slow=0, offline=0, latency_ms_sum=0)
            session.add(bucket)
        bucket.total += 1
        if result.offline:
            bucket.offline += 1
        elif result.outcome.level is not Level.DOWN:
            bucket.good += 1
            bucket.slow += result.outcome is Outcome.SLOW
            bucket.latency_ms_sum += result.latency_ms or 0
        await history.count(session, result, check)  # the public page's days and failure runs
        return state

    async def states(self) -> list[CheckRecord]:
        async with self.sessions() as session:
            rows = (await session.scalars(select(CheckStateRow).order_by(CheckStateRow.key))).all()
        return [
            CheckRecord(r.key, r.service_id, Level(r.level) if r.level else None, r.since, r.last_at,
                        Outcome(r.last_outcome) if r.last_outcome else None, r.last_latency_ms,
                        r.last_detail, r.last_offline)
            for r in rows
        ]

    async def signals(self, catalog: Catalog) -> Mapping[str, Sequence[Signal]]:
        """One CHECK signal per service whose checks have fresh verdicts."""
        now = self.now
        checks = _catalog_checks(catalog)
        async with self.sessions() as session:
            rows = (await session.scalars(
                select(CheckStateRow).where(CheckStateRow.level.is_not(None))
            )).all()
        verdicts: dict[str, list[CheckVerdict]] = {}
        for row in rows:
            found = checks.get(row.key)
            if found is None or row.level is None or row.since is None or row.counted_at is None:
                continue
            if now - row.counted_at > stale_after(found[1]):
                continue
            verdicts.setdefault(row.service_id, []).append(CheckVerdict(row.key, Level(row.level), row.since))
        out: dict[str, list[Signal]] = {}
        for service_id, found_verdicts in verdicts.items():
            total = sum(1 for sid, _ in checks.values() if sid == service_id)
            signal = service_signal(found_verdicts, total)
            if signal is not None:
                out[service_id] = [signal]
        return out

    async def views(self, catalog: Catalog) -> dict[str, CheckView]:
        """Per checked service: the last (worst, then newest) result and the uptime."""
        checks = _catalog_checks(catalog)
        async with self.sessions() as session:
            rows = (await session.scalars(select(CheckStateRow))).all()
        by_service: dict[str, list[CheckStateRow]] = {}
        for row in rows:
            if row.key in checks and row.last_at is not None:
                by_service.setdefault(row.service_id, []).append(row)
        uptime = await self.uptime()
        views: dict[str, CheckView] = {}
        for service in catalog.services:
            if not service.checks:
                continue
            found = by_service.get(service.id, [])
            if not found:
                views[service.id] = CheckView(service.id, None, None, None, None, False,
                                              uptime.get(service.id, Uptime()), len(service.checks))
                continue
            last = max(found, key=lambda r: (
                Outcome(r.last_outcome).level.rank if r.last_outcome else -1, r.last_at))
            views[service.id] = CheckView(
                service.id, last.last_at, Outcome(last.last_outcome) if last.last_outcome else None,
                last.last_latency_ms, last.last_status_code, any(r.last_offline for r in found),
                uptime.get(service.id, Uptime()), len(service.checks),
            )
        return views

    async def uptime(self, service_ids: Iterable[str] | None = None) -> dict[str, Uptime]:
        """Share of counted probes that answered as expected, over 24 h, 7 d and 30 d (by whole hours)."""
        now = self.now
        shares: dict[str, dict[str, float | None]] = {}
        async with self.sessions() as session:
            for name, period in UPTIME_PERIODS.items():
                query = (
                    select(CheckHourRow.service_id, func.sum(CheckHourRow.good),
                           func.sum(CheckHourRow.total - CheckHourRow.offline))
                    .where(CheckHourRow.hour > now - period - timedelta(hours=1))
                    .group_by(CheckHourRow.service_id)
                )
                if service_ids is not None:
                    query = query.where(CheckHourRow.service_id.in_(list(service_ids)))
                for service_id, good, counted in (await session.execute(query)).all():
                    shares.setdefault(service_id, {})[name] = (
                        int(good or 0) / int(counted) if counted else None
                    )
        return {sid: Uptime(v.get("day"), v.get("week"), v.get("month")) for sid, v in shares.items()}

    async def prune(self) -> tuple[int, int]:
        """The retention job: raw results older than two days, hourly counts older than 31 days (and the
        public page's history past its own limits, bot/store/history.py)."""
        now = self.now
        async with self.sessions.begin() as session:
            results = await session.execute(delete(CheckResultRow).where(CheckResultRow.at < now - RESULTS_KEPT))
            hours = await session.execute(delete(CheckHourRow).where(CheckHourRow.hour < now - HOURS_KEPT))
            await history.prune(session, now)
        return rowcount(results), rowcount(hours)

    async def results(self, key: str, limit: int = 50) -> list[ProbeResult]:
        async with self.sessions() as session:
            rows = (await session.scalars(
                select(CheckResultRow).where(CheckResultRow.key == key)
                .order_by(CheckResultRow.at.desc(), CheckResultRow.id.desc()).limit(limit)
            )).all()
        return [ProbeResult(r.key, r.service_id, r.at, Outcome(r.outcome), r.latency_ms, r.status_code,
                            r.detail, r.offline) for r in rows]


class Lease:
    """A lease row shared by every replica: whoever holds it unexpired runs the job.

    The holder renews it well before it expires; if the holder dies, it expires and the next
    replica to ask takes it over. Works the same on SQLite (one file) and PostgreSQL.
    """

    def __init__(self, store: Store, name: str, holder: str, *, ttl: timedelta = timedelta(seconds=45)) -> None:
        self.store = store
        self.name = name
        self.holder = holder
        self.ttl = ttl

    async def acquire(self) -> bool:
        """Take or renew the lease; False when another live holder has it."""
        now = self.store.clock()
        try:
            async with self.store.sessions.begin() as session:
                row = await session.get(LeaseRow, self.name, with_for_update=True)
                if row is None:
                    session.add(LeaseRow(name=self.name, holder=self.holder, acquired_at=now,
                                         expires_at=now + self.ttl))
                    return True
                if row.holder != self.holder and row.expires_at > now:
                    return False
                if row.holder != self.holder:
                    row.holder, row.acquired_at = self.holder, now
                row.expires_at = now + self.ttl
                return True
        except IntegrityError:
            return False  # another replica inserted the row first

    async def release(self) -> None:
        async with self.store.sessions.begin() as session:
            await session.execute(
                delete(LeaseRow).where(LeaseRow.name == self.name, LeaseRow.holder == self.holder)
            )

    async def holder_now(self) -> str | None:
        async with self.store.sessions() as session:
            row = await session.get(LeaseRow, self.name)
            return row.holder if row is not None and row.expires_at > self.store.clock() else None


def _track(row: CheckStateRow) -> TrackState:
    return TrackState(
        Level(row.level) if row.level else None, row.since, row.streak or 0,
        Level(row.streak_level) if row.streak_level else None,
    )


def _catalog_checks(catalog: Catalog) -> dict[str, tuple[str, Check]]:
    return {c.key(s.id): (s.id, c) for s in catalog.services for c in s.checks}
