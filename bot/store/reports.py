"""Reports in the store: submitting, the flow state, follow-ups, retention, erasure, summaries, the crowd.

Every write that belongs together happens in one transaction: a report is acknowledged only after its
transaction committed, and a failure anywhere inside leaves nothing behind.
"""

from __future__ import annotations

import logging
import secrets
from collections import Counter
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import TYPE_CHECKING

from sqlalchemy import and_, delete, func, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession

if TYPE_CHECKING:
    from bot.store.repo import Store

from bot.catalog.model import Catalog
from bot.core import crowd
from bot.core.clock import Clock
from bot.core.crowd import CrowdSignal
from bot.core.reports import (
    FollowUp,
    ReportDraft,
    ReportFlow,
    ReportPolicy,
    ServiceSummary,
    Step,
    Submitted,
    coordination_hash,
    follow_up_since,
    new_reference,
    reporter_key,
)
from bot.core.scrub import scrub
from bot.core.status import Signal, Source, State
from bot.core.understanding import Symptom
from bot.store.chats import changing
from bot.store.db import rowcount
from bot.store.models import ReportFlowRow, ReportRow, SecretRow

log = logging.getLogger(__name__)

SECRET_NAME = "report_key_secret"
_REFERENCE_ATTEMPTS = 4


def hour_number(moment: datetime) -> int:
    """Hours since the Unix epoch (UTC)."""
    return int(moment.timestamp() // 3600)


@dataclass(frozen=True)
class PurgeResult:
    anonymised: int
    follow_ups_dropped: int
    flows_dropped: int


@dataclass(frozen=True)
class ExportRow:
    reference: str
    created_at: datetime
    service_id: str
    symptom: str
    counted: bool
    flagged: bool
    text: str | None


class ReportStore:
    """Reports on the status store's database."""

    def __init__(self, store: Store, *, secret: str | None = None, policy: ReportPolicy | None = None) -> None:
        self.store = store
        self.policy = policy or ReportPolicy()
        self._configured_secret = secret.encode() if secret else None
        self._secret: bytes | None = self._configured_secret

    @property
    def clock(self) -> Clock:
        return self.store.clock

    # --- the reporter key ----------------------------------------------------------------------

    async def _key_secret(self, session: AsyncSession) -> bytes:
        """The configured secret, or one generated once and kept in the store (so restarts agree)."""
        if self._secret is not None:
            return self._secret
        value = await session.scalar(select(SecretRow.value).where(SecretRow.name == SECRET_NAME))
        if value is None:
            candidate = secrets.token_hex(32)
            async with self.store.sessions.begin() as own:
                # Another process may have written it first; whichever row exists wins.
                exists = await own.get(SecretRow, SECRET_NAME)
                if exists is None:
                    own.add(SecretRow(name=SECRET_NAME, value=candidate, created_at=self.clock()))
            value = await self._read_secret()
        self._secret = bytes.fromhex(value)
        return self._secret

    async def _read_secret(self) -> str:
        async with self.store.sessions() as session:
            value = await session.scalar(select(SecretRow.value).where(SecretRow.name == SECRET_NAME))
        assert value is not None
        return value

    async def key_for(self, chat_id: int) -> str:
        async with self.store.sessions() as session:
            return reporter_key(await self._key_secret(session), chat_id)

    # --- submitting ----------------------------------------------------------------------------

    async def submit(self, draft: ReportDraft, *, end_flow: bool = False) -> Submitted:
        """Store a report in one transaction and say how it counts; no reference: over the daily cap.

        With `end_flow`, the chat's report in progress is removed in the same transaction.
        """
        async with self.store.sessions() as session:
            key = reporter_key(await self._key_secret(session), draft.chat_id)
        for attempt in range(_REFERENCE_ATTEMPTS):
            try:
                return await self._submit(draft, key, end_flow)
            except IntegrityError:
                if attempt == _REFERENCE_ATTEMPTS - 1:
                    raise
                log.warning("report reference collision; trying another")
        raise AssertionError("unreachable")

    async def _submit(self, draft: ReportDraft, key: str, end_flow: bool) -> Submitted:
        now = self.clock()
        policy = self.policy
        text = scrub(draft.text.strip()) or None if draft.text else None
        async with changing(self.store.sessions, self.store.chats if end_flow else None, draft.chat_id) as session:
            if end_flow:
                await session.execute(delete(ReportFlowRow).where(ReportFlowRow.chat_id == draft.chat_id))
            today = await session.scalar(
                select(func.count()).select_from(ReportRow).where(
                    ReportRow.reporter_key == key, ReportRow.created_at > now - timedelta(days=1)))
            if (today or 0) >= policy.daily_cap:
                return Submitted(None)
            already_counted = await session.scalar(
                select(func.count()).select_from(ReportRow).where(
                    ReportRow.reporter_key == key, ReportRow.service_id == draft.service_id,
                    ReportRow.counted.is_(True), ReportRow.created_at > now - policy.count_once_per))
            text_hash = coordination_hash(text, policy)
            row = ReportRow(
                reference=new_reference(), service_id=draft.service_id, symptom=draft.symptom.value,
                text=text, text_hash=text_hash, reporter_key=key,
                chat_id=draft.chat_id if draft.follow_up else None, language=draft.language,
                counted=not already_counted, flagged=False, hour=hour_number(now), created_at=now,
            )
            session.add(row)
            await session.flush()
            if text_hash is not None:
                await self._check_coordination(session, row, now)
            others = await session.scalar(
                select(func.count(func.distinct(ReportRow.reporter_key))).where(
                    ReportRow.service_id == draft.service_id, ReportRow.reporter_key != key,
                    ReportRow.flagged.is_(False), ReportRow.created_at > now - timedelta(hours=1)))
            return Submitted(row.reference, row.counted, row.flagged, int(others or 0))

    async def _check_coordination(self, session: AsyncSession, row: ReportRow, now: datetime) -> None:
        """Flag the same text from several citizens within seconds, this report included."""
        similar = (ReportRow.text_hash == row.text_hash) & (
            ReportRow.created_at >= now - self.policy.coordination_window)
        keys = await session.scalar(select(func.count(func.distinct(ReportRow.reporter_key))).where(similar))
        if (keys or 0) >= self.policy.coordination_keys:
            await session.execute(update(ReportRow).where(similar).values(flagged=True, counted=False))
            row.flagged, row.counted = True, False
            log.warning("coordinated-looking reports about %s flagged for operators", row.service_id)

    # --- the flow state ------------------------------------------------------------------------

    async def flow(self, chat_id: int) -> ReportFlow | None:
        """The chat's report in progress, or None (a flow older than the timeout is gone)."""
        cached = self.store.chats.cached(chat_id)
        if cached is not None and not cached.reporting:
            return None  # the common case: a chat that just wrote, with no report under way
        async with self.store.sessions() as session:
            row = await session.get(ReportFlowRow, chat_id)
            if row is None:
                return None
            if self.clock() - row.updated_at > self.policy.flow_timeout:
                return None
            return ReportFlow(row.chat_id, row.nonce, Step(row.step), row.service_id,
                              Symptom(row.symptom) if row.symptom else None, row.text)

    async def save_flow(self, flow: ReportFlow) -> None:
        async with changing(self.store.sessions, self.store.chats, flow.chat_id) as session:
            row = await session.get(ReportFlowRow, flow.chat_id)
            if row is None:
                row = ReportFlowRow(chat_id=flow.chat_id)
                session.add(row)
            row.nonce, row.step, row.service_id = flow.nonce, flow.step.value, flow.service_id
            row.symptom = flow.symptom.value if flow.symptom else None
            row.text = scrub(flow.text) if flow.text else None
            row.updated_at = self.clock()

    async def end_flow(self, chat_id: int) -> None:
        async with changing(self.store.sessions, self.store.chats, chat_id) as session:
            await session.execute(delete(ReportFlowRow).where(ReportFlowRow.chat_id == chat_id))

    # --- follow-ups ----------------------------------------------------------------------------

    async def claim_follow_ups(
        self, service_id: str, returned_at: datetime, *, session: AsyncSession | None = None
    ) -> list[FollowUp]:
        """The chats to tell that `service_id` works again, and forget their chat ids.

        One entry per chat that reported the service in the `follow_up_window` before `returned_at`
        and did not opt out. Pass `session` to claim inside the caller's transaction (the outbox's),
        so that the chat ids are dropped only if the deliveries are queued.
        """
        if session is None:
            async with self.store.sessions.begin() as own:
                return await self._claim(own, service_id, returned_at)
        return await self._claim(session, service_id, returned_at)

    async def _claim(self, session: AsyncSession, service_id: str, returned_at: datetime) -> list[FollowUp]:
        pending = and_(ReportRow.service_id == service_id, ReportRow.chat_id.is_not(None),
                       ReportRow.created_at >= follow_up_since(returned_at, self.policy),
                       ReportRow.created_at <= returned_at)
        rows = (await session.execute(
            select(ReportRow.chat_id, ReportRow.language, ReportRow.reference)
            .where(pending).order_by(ReportRow.created_at).with_for_update())).all()
        by_chat: dict[int, tuple[str | None, list[str]]] = {}
        for chat_id, language, reference in rows:
            assert chat_id is not None
            entry = by_chat.setdefault(chat_id, (language, []))
            entry[1].append(reference)
            by_chat[chat_id] = (language, entry[1])
        await session.execute(update(ReportRow).where(pending).values(chat_id=None))
        return [FollowUp(chat_id, lang, service_id, tuple(refs)) for chat_id, (lang, refs) in by_chat.items()]

    # --- retention and erasure -----------------------------------------------------------------

    async def purge(self) -> PurgeResult:
        """Anonymise reports past retention, drop chat ids past the follow-up window, drop stale flows."""
        now = self.clock()
        async with self.store.sessions.begin() as session:
            old = ReportRow.created_at < now - self.policy.retention
            anonymised = await session.execute(
                update(ReportRow).where(old, (ReportRow.reporter_key.is_not(None)) | ReportRow.text.is_not(None)
                                        | ReportRow.chat_id.is_not(None) | ReportRow.text_hash.is_not(None))
                .values(reporter_key=None, chat_id=None, text=None, text_hash=None))
            dropped = await session.execute(
                update(ReportRow).where(ReportRow.chat_id.is_not(None),
                                        ReportRow.created_at < now - self.policy.follow_up_window)
                .values(chat_id=None))
            flows = await session.execute(
                delete(ReportFlowRow).where(ReportFlowRow.updated_at < now - self.policy.flow_timeout))
        return PurgeResult(rowcount(anonymised), rowcount(dropped), rowcount(flows))

    async def erase_chat(self, session: AsyncSession, chat_id: int) -> None:
        """Erase a chat's reports and its report in progress (part of /forget's transaction)."""
        key = reporter_key(await self._key_secret(session), chat_id)
        await session.execute(delete(ReportRow).where((ReportRow.reporter_key == key) | (ReportRow.chat_id == chat_id)))
        await session.execute(delete(ReportFlowRow).where(ReportFlowRow.chat_id == chat_id))

    async def count_for_chat(self, chat_id: int) -> int:
        """How many reports the store holds from this chat (for /privacy)."""
        async with self.store.sessions() as session:
            key = reporter_key(await self._key_secret(session), chat_id)
            return int(await session.scalar(
                select(func.count()).select_from(ReportRow).where(ReportRow.reporter_key == key)) or 0)

    # --- operators -----------------------------------------------------------------------------

    async def export(self, since: datetime) -> list[ExportRow]:
        async with self.store.sessions() as session:
            rows = (await session.scalars(
                select(ReportRow).where(ReportRow.created_at >= since).order_by(ReportRow.created_at))).all()
        return [ExportRow(r.reference, r.created_at, r.service_id, r.symptom, r.counted, r.flagged, r.text)
                for r in rows]

    async def summary(
        self, since: datetime, *, service_id: str | None = None, crowd_signals: Mapping[str, CrowdSignal] | None = None
    ) -> list[ServiceSummary]:
        """Reports since `since` per service (only services with reports, or the one asked for)."""
        now = self.clock()
        query = select(ReportRow.service_id, ReportRow.symptom, ReportRow.counted, ReportRow.flagged,
                       ReportRow.text).where(ReportRow.created_at >= since)
        if service_id is not None:
            query = query.where(ReportRow.service_id == service_id)
        async with self.store.sessions() as session:
            rows = (await session.execute(query)).all()
        grouped: dict[str, list[tuple[str, bool, bool, str | None]]] = {}
        for sid, symptom, counted, flagged, text in rows:
            grouped.setdefault(sid, []).append((symptom, counted, flagged, text))
        ids = [service_id] if service_id is not None else sorted(set(grouped) | set(crowd_signals or {}))
        summaries = []
        for sid in ids:
            items = grouped.get(sid, [])
            flagged_texts = Counter(t for _, _, f, t in items if f and t)
            summaries.append(ServiceSummary(
                sid, since, now, len(items), sum(1 for _, c, _, _ in items if c),
                sum(1 for _, _, f, _ in items if f), dict(Counter(s for s, _, _, _ in items).most_common()),
                (crowd_signals or {}).get(sid), tuple(t for t, _ in flagged_texts.most_common(3)),
            ))
        return summaries

    # --- the crowd's counts --------------------------------------------------------------------

    async def counted_since(self, since: datetime) -> dict[str, list[tuple[datetime, str]]]:
        """Counted reports since a moment: per service, (time, symptom), oldest first."""
        async with self.store.sessions() as session:
            rows = (await session.execute(
                select(ReportRow.service_id, ReportRow.created_at, ReportRow.symptom)
                .where(ReportRow.counted.is_(True), ReportRow.created_at >= since)
                .order_by(ReportRow.created_at))).all()
        result: dict[str, list[tuple[datetime, str]]] = {}
        for sid, at, symptom in rows:
            result.setdefault(sid, []).append((at, symptom))
        return result

    async def hourly_counts(self, first_hour: int, end_hour: int) -> dict[str, dict[int, int]]:
        async with self.store.sessions() as session:
            rows = (await session.execute(
                select(ReportRow.service_id, ReportRow.hour, func.count())
                .where(ReportRow.counted.is_(True), ReportRow.hour >= first_hour, ReportRow.hour < end_hour)
                .group_by(ReportRow.service_id, ReportRow.hour))).all()
        result: dict[str, dict[int, int]] = {}
        for sid, hour, count in rows:
            result.setdefault(sid, {})[int(hour)] = int(count)
        return result

    async def first_report_hour(self) -> int | None:
        async with self.store.sessions() as session:
            value = await session.scalar(select(func.min(ReportRow.hour)))
        return int(value) if value is not None else None




@dataclass
class CrowdSignals:
    """The crowd signal as a status-board provider: a CrowdSignal for each service where it fires.

    Baselines are recomputed at most every `baseline_seconds`; the recent counts on every call.
    """

    reports: ReportStore
    params: crowd.CrowdParams = field(default_factory=crowd.CrowdParams)
    baseline_seconds: float = 600.0
    _baselines: dict[str, tuple[float, ...]] = field(default_factory=dict)
    _default: tuple[float, ...] = ()
    _baseline_at: datetime | None = None

    async def signals(self, catalog: Catalog) -> dict[str, list[Signal]]:
        return {sid: [signal] for sid, signal in (await self.current(catalog)).items()}

    async def current(self, catalog: Catalog) -> dict[str, CrowdSignal]:
        now = self.reports.clock()
        await self._refresh_baselines(now)
        window = self.params.longest_window
        recent = await self.reports.counted_since(_minute(now) - timedelta(minutes=window - 1))
        found: dict[str, CrowdSignal] = {}
        for service in catalog.services:
            items = recent.get(service.id)
            if not items or len(items) < self.params.min_reporters:
                continue
            baseline = self._baselines.get(service.id, self._default)
            counts = _per_minute(items, now, window)
            verdict = crowd.assess(counts, _rate(baseline, now), self.params)
            if not verdict.active:
                continue
            since = await self._onset(service.id, now, baseline)
            in_window = [s for at, s in items if at >= _minute(now) - timedelta(minutes=verdict.window_minutes - 1)]
            symptom = Counter(in_window).most_common(1)[0][0] if in_window else None
            found[service.id] = CrowdSignal(
                Source.REPORTS, State.DEGRADED, since, reports=verdict.count,
                window_minutes=verdict.window_minutes, symptom=Symptom(symptom) if symptom else None,
                expected=verdict.expected, p_value=verdict.p_value,
            )
        return found

    async def _onset(self, service_id: str, now: datetime, baseline: tuple[float, ...]) -> datetime:
        """When the current run of firing minutes began, looking back at most a day."""
        span = 24 * 60 + self.params.longest_window
        start = _minute(now) - timedelta(minutes=span - 1)
        items = (await self.reports.counted_since(start)).get(service_id, [])
        counts = _per_minute(items, now, span)
        rates = [_rate(baseline, start + timedelta(minutes=i)) for i in range(span)]
        ago = crowd.onset(counts, rates, self.params)
        return _minute(now) - timedelta(minutes=ago or 0)

    async def _refresh_baselines(self, now: datetime) -> None:
        if self._baseline_at is not None and (now - self._baseline_at).total_seconds() < self.baseline_seconds:
            return
        end = hour_number(now)
        first = max(end - self.params.history_weeks * crowd.HOURS_PER_WEEK,
                    await self.reports.first_report_hour() or end)
        self._baseline_at = now
        if end - first < crowd.HOURS_PER_WEEK:
            # Less than a week of history says nothing about the week's rhythm: the floor for all.
            self._baselines = {}
            self._default = (self.params.floor_per_hour,) * crowd.HOURS_PER_WEEK
            return
        hourly = await self.reports.hourly_counts(first, end)
        self._baselines = {
            sid: crowd.baseline_from_history(counts, first_hour=first, end_hour=end, params=self.params)
            for sid, counts in hourly.items()
        }
        self._default = crowd.baseline_from_history({}, first_hour=first, end_hour=end, params=self.params)


def _minute(moment: datetime) -> datetime:
    return moment.replace(second=0, microsecond=0)


def _per_minute(items: Sequence[tuple[datetime, str]], now: datetime, minutes: int) -> list[int]:
    counts = [0] * minutes
    last = _minute(now)
    for at, _ in items:
        ago = int((last - _minute(at)).total_seconds() // 60)
        if 0 <= ago < minutes:
            counts[minutes - 1 - ago] += 1
    return counts


def _rate(baseline: tuple[float, ...], moment: datetime) -> float:
    return baseline[crowd.hour_of_week(hour_number(moment))]
