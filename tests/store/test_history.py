"""The public page's history on a real store (SQLite and PostgreSQL): days beyond the hourly table's
31 days, failure runs with their reasons, reports per hour, and the migration that fills the days."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from pathlib import Path

from sqlalchemy import select

from bot.catalog.model import Check
from bot.core.checks import Outcome, ProbeResult
from bot.core.clock import EAT, FrozenClock
from bot.store.checks import CheckStore
from bot.store.history import DAYS_KEPT, DayCount, History
from bot.store.models import CheckDayRow, CheckHourRow
from bot.store.repo import Store

CHECK = Check(url="https://itax.kra.go.ke/", interval_s=60.0)
OTHER = Check(url="https://kra.go.ke/", interval_s=60.0)


def result(at: datetime, outcome: Outcome = Outcome.OK, *, check: Check = CHECK, code: int | None = 200,
           offline: bool = False) -> ProbeResult:
    return ProbeResult(check.key("kra"), "kra", at, outcome, 150, code, offline=offline)


async def test_results_are_counted_by_east_africa_day_and_offline_batches_are_not(store: Store) -> None:
    checks = CheckStore(store)
    # 20:30 UTC is 23:30 in Nairobi; 21:30 UTC is already the next day there.
    evening = datetime(2026, 11, 20, 20, 30, tzinfo=UTC)
    await checks.record(result(evening), CHECK)
    await checks.record(result(evening + timedelta(minutes=1), Outcome.TIMEOUT, code=None), CHECK)
    await checks.record(result(evening + timedelta(minutes=2), offline=True, outcome=Outcome.DNS), CHECK)
    await checks.record(result(evening + timedelta(hours=1)), CHECK)
    await checks.record(result(evening + timedelta(hours=1), Outcome.SLOW, check=OTHER), OTHER)

    days = (await History(store).days(date(2026, 11, 1)))["kra"]
    assert days == {date(2026, 11, 20): DayCount(good=1, counted=2), date(2026, 11, 21): DayCount(good=2, counted=2)}
    assert days[date(2026, 11, 20)].share == 0.5


async def test_a_run_of_failures_keeps_its_first_and_last_failure_and_the_reasons(store: Store) -> None:
    checks = CheckStore(store)
    start = datetime(2026, 11, 20, 6, 0, tzinfo=UTC)
    outcomes = [Outcome.HTTP_STATUS, Outcome.HTTP_STATUS, Outcome.TIMEOUT, Outcome.OK, Outcome.SLOW]
    for i, outcome in enumerate(outcomes):
        await checks.record(result(start + timedelta(minutes=i), outcome, code=503 if outcome is Outcome.HTTP_STATUS
                                   else None), CHECK)
    # An hour later is another outage: a new run.
    later = start + timedelta(hours=1)
    await checks.record(result(later, Outcome.DNS, code=None), CHECK)

    runs = await History(store).failures("kra", start - timedelta(hours=1), later)
    assert [(r.first_at, r.last_at, r.failures) for r in runs] == [
        (start, start + timedelta(minutes=4), 4), (later, later, 1)]
    assert runs[0].reasons == {"http_status 503": 2, "timeout": 1, "slow": 1}
    assert runs[1].reasons == {"dns": 1}
    # Only runs overlapping the period asked for.
    assert await History(store).failures("kra", later + timedelta(minutes=1), later + timedelta(hours=1)) == []
    assert await History(store).failures("sha", start, later) == []


async def test_days_outlive_the_hourly_counts_and_are_pruned_after_a_hundred_days(
    store: Store, clock: FrozenClock
) -> None:
    checks = CheckStore(store)
    old = clock.now - timedelta(days=45)
    ancient = clock.now - DAYS_KEPT - timedelta(days=2)
    await checks.record(result(old), CHECK)
    await checks.record(result(ancient), CHECK)
    await checks.prune()

    async with store.sessions() as session:
        hours = (await session.scalars(select(CheckHourRow))).all()
        days = (await session.scalars(select(CheckDayRow))).all()
    assert hours == []  # the hourly table keeps 31 days
    assert [d.day for d in days] == [old.astimezone(EAT).date()]


async def test_reports_are_counted_per_hour_without_anything_about_who_sent_them(
    store: Store, clock: FrozenClock
) -> None:
    from bot.core.reports import ReportDraft
    from bot.core.understanding import Symptom
    from bot.store.reports import ReportStore

    reports = ReportStore(store, secret="a secret of sixteen characters")
    def draft(chat: int) -> ReportDraft:
        return ReportDraft("kra", Symptom.SITE_DOWN, None, chat, "en", False)

    for chat in (1, 2, 3):
        await reports.submit(draft(chat))
    clock.advance(hours=1)
    await reports.submit(draft(4))
    await reports.submit(draft(4))  # the same citizen again: not counted twice

    hours = await History(store).reports_per_hour("kra", clock.now - timedelta(hours=3), clock.now)
    top = clock.now.replace(minute=0, second=0, microsecond=0)
    assert [(at.astimezone(UTC), n) for at, n in hours] == [(top - timedelta(hours=1), 3), (top, 1)]


async def test_the_migration_turns_the_hourly_counts_already_kept_into_days(tmp_path: Path) -> None:
    from alembic import command

    from bot.store.db import alembic_config, upgrade_schema

    store = Store.from_url(f"sqlite+aiosqlite:///{tmp_path / 'old.db'}")
    try:
        await upgrade_schema(store.engine, "0006")
        async with store.sessions.begin() as session:
            evening = datetime(2026, 11, 20, 20, tzinfo=UTC)
            for hour, good in ((evening, 50), (evening + timedelta(hours=1), 60)):
                session.add(CheckHourRow(key=CHECK.key("kra"), hour=hour, service_id="kra", total=60, good=good,
                                         slow=0, offline=0, latency_ms_sum=0))
        await upgrade_schema(store.engine)
        days = await History(store).days(date(2026, 11, 1))
        assert days == {"kra": {date(2026, 11, 20): DayCount(50, 60), date(2026, 11, 21): DayCount(60, 60)}}

        def down(connection: object) -> None:
            cfg = alembic_config()
            cfg.attributes["connection"] = connection
            command.downgrade(cfg, "0006")

        async with store.engine.begin() as conn:
            await conn.run_sync(down)
    finally:
        await store.close()

