"""The tables of the status store. Only what the service needs is kept about people."""

from __future__ import annotations

from datetime import UTC, date, datetime
from typing import Any

from sqlalchemy import (
    JSON,
    BigInteger,
    Boolean,
    Date,
    DateTime,
    Float,
    ForeignKey,
    ForeignKeyConstraint,
    Index,
    Integer,
    MetaData,
    SmallInteger,
    String,
    Text,
    UniqueConstraint,
)
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column, relationship
from sqlalchemy.types import TypeDecorator

NAMING = {
    "ix": "ix_%(column_0_label)s",
    "uq": "uq_%(table_name)s_%(column_0_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}


def utcnow() -> datetime:
    return datetime.now(UTC)


class UTCDateTime(TypeDecorator[datetime]):
    """Timezone-aware UTC datetimes on every backend (SQLite drops the zone)."""

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect: Any) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError("naive datetime given to the store; use datetime.now(UTC)")
        return value.astimezone(UTC)

    def process_result_value(self, value: datetime | None, dialect: Any) -> datetime | None:
        if value is None:
            return None
        return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)


class Base(DeclarativeBase):
    metadata = MetaData(naming_convention=NAMING)


class ServiceRow(Base):
    """A catalogue entry as the running bot sees it; `edited_by` protects operators' changes on reload."""

    __tablename__ = "services"

    id: Mapped[str] = mapped_column(String(64), primary_key=True)
    position: Mapped[int] = mapped_column(Integer, default=0)
    data: Mapped[dict[str, Any]] = mapped_column(JSON)
    edited_by: Mapped[str | None] = mapped_column(String(128), default=None)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


class IncidentRow(Base):
    __tablename__ = "incidents"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    service_id: Mapped[str] = mapped_column(ForeignKey("services.id"), index=True)
    status: Mapped[str] = mapped_column(String(32))
    title_en: Mapped[str] = mapped_column(Text)
    title_sw: Mapped[str | None] = mapped_column(Text, default=None)
    workaround_en: Mapped[str | None] = mapped_column(Text, default=None)
    workaround_sw: Mapped[str | None] = mapped_column(Text, default=None)
    opened_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    opened_by: Mapped[str] = mapped_column(String(128))
    resolved_at: Mapped[datetime | None] = mapped_column(UTCDateTime, default=None, index=True)

    updates: Mapped[list[IncidentUpdateRow]] = relationship(
        back_populates="incident", order_by="IncidentUpdateRow.id", cascade="all, delete-orphan"
    )


class IncidentUpdateRow(Base):
    __tablename__ = "incident_updates"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    incident_id: Mapped[int] = mapped_column(ForeignKey("incidents.id", ondelete="CASCADE"), index=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    author: Mapped[str] = mapped_column(String(128))
    kind: Mapped[str] = mapped_column(String(16))  # opened, update, resolved
    status: Mapped[str | None] = mapped_column(String(32), default=None)
    message_en: Mapped[str | None] = mapped_column(Text, default=None)
    message_sw: Mapped[str | None] = mapped_column(Text, default=None)

    incident: Mapped[IncidentRow] = relationship(back_populates="updates")


class UserRow(Base):
    """A chat that talked to Hali: its id, its language choice and when it was seen. Nothing more."""

    __tablename__ = "users"

    chat_id: Mapped[int] = mapped_column(BigInteger, primary_key=True, autoincrement=False)
    language: Mapped[str | None] = mapped_column(String(8), default=None)
    first_seen: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    last_seen: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


class AuditRow(Base):
    """Who changed what and when, with the state before and after."""

    __tablename__ = "audit_log"
    __table_args__ = (Index("ix_audit_log_at", "at"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    actor: Mapped[str] = mapped_column(String(128))
    action: Mapped[str] = mapped_column(String(64))
    target: Mapped[str] = mapped_column(String(128))
    before: Mapped[dict[str, Any] | None] = mapped_column(JSON, default=None)
    after: Mapped[dict[str, Any] | None] = mapped_column(JSON, default=None)


class ReportRow(Base):
    """A citizen's failure report: no name, no chat id once the follow-up is done, scrubbed text only.

    `reporter_key` is an HMAC of the chat id, to count each citizen once; `hour` (hours since the epoch)
    lets the crowd baseline group by hour on every backend. Anonymising drops the key, chat id and text.
    """

    __tablename__ = "reports"
    __table_args__ = (
        Index("ix_reports_service_created", "service_id", "created_at"),
        Index("ix_reports_service_hour", "service_id", "hour"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    reference: Mapped[str] = mapped_column(String(16), unique=True)
    service_id: Mapped[str] = mapped_column(ForeignKey("services.id"))
    symptom: Mapped[str] = mapped_column(String(32))
    text: Mapped[str | None] = mapped_column(Text, default=None)
    text_hash: Mapped[str | None] = mapped_column(String(64), default=None, index=True)
    reporter_key: Mapped[str | None] = mapped_column(String(64), default=None, index=True)
    chat_id: Mapped[int | None] = mapped_column(BigInteger, default=None, index=True)
    language: Mapped[str | None] = mapped_column(String(8), default=None)
    counted: Mapped[bool] = mapped_column(Boolean, default=False)
    flagged: Mapped[bool] = mapped_column(Boolean, default=False)
    hour: Mapped[int] = mapped_column(Integer)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow, index=True)


class ReportFlowRow(Base):
    """A report being written in a private chat: the step reached and the answers so far (scrubbed)."""

    __tablename__ = "report_flows"

    chat_id: Mapped[int] = mapped_column(BigInteger, primary_key=True, autoincrement=False)
    nonce: Mapped[str] = mapped_column(String(16))
    step: Mapped[str] = mapped_column(String(16))
    service_id: Mapped[str | None] = mapped_column(String(64), default=None)
    symptom: Mapped[str | None] = mapped_column(String(32), default=None)
    text: Mapped[str | None] = mapped_column(Text, default=None)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow, index=True)


class SecretRow(Base):
    """Secrets Hali generated for itself (e.g. the reporter-key secret when none is configured)."""

    __tablename__ = "secrets"

    name: Mapped[str] = mapped_column(String(64), primary_key=True)
    value: Mapped[str] = mapped_column(String(256))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
# --- automatic checks, maintenance windows (issue 5) ---------------------------------------------


class CheckStateRow(Base):
    """Where each check stands: its Gatus-style verdict, the current streak, and what it saw last."""

    __tablename__ = "check_states"

    key: Mapped[str] = mapped_column(String(255), primary_key=True)
    service_id: Mapped[str] = mapped_column(String(64), index=True)
    level: Mapped[str | None] = mapped_column(String(16), default=None)  # up, degraded, down; None: no verdict
    since: Mapped[datetime | None] = mapped_column(UTCDateTime, default=None)
    streak: Mapped[int] = mapped_column(Integer, default=0)
    streak_level: Mapped[str | None] = mapped_column(String(16), default=None)
    counted_at: Mapped[datetime | None] = mapped_column(UTCDateTime, default=None)  # last result that counted
    last_at: Mapped[datetime | None] = mapped_column(UTCDateTime, default=None)
    last_outcome: Mapped[str | None] = mapped_column(String(16), default=None)
    last_latency_ms: Mapped[int | None] = mapped_column(Integer, default=None)
    last_status_code: Mapped[int | None] = mapped_column(Integer, default=None)
    last_detail: Mapped[str | None] = mapped_column(String(300), default=None)
    last_offline: Mapped[bool] = mapped_column(Boolean, default=False)


class CheckResultRow(Base):
    """One probe's result; kept for two days (the hourly table keeps the uptime for longer)."""

    __tablename__ = "check_results"
    __table_args__ = (Index("ix_check_results_key_at", "key", "at"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    key: Mapped[str] = mapped_column(String(255))
    service_id: Mapped[str] = mapped_column(String(64))
    at: Mapped[datetime] = mapped_column(UTCDateTime, index=True)
    outcome: Mapped[str] = mapped_column(String(16))
    latency_ms: Mapped[int | None] = mapped_column(Integer, default=None)
    status_code: Mapped[int | None] = mapped_column(Integer, default=None)
    detail: Mapped[str | None] = mapped_column(String(300), default=None)
    offline: Mapped[bool] = mapped_column(Boolean, default=False)


class CheckHourRow(Base):
    """Counts per check and hour: 720 rows a month per check give the 24 h / 7 d / 30 d uptime."""

    __tablename__ = "check_hours"

    key: Mapped[str] = mapped_column(String(255), primary_key=True)
    hour: Mapped[datetime] = mapped_column(UTCDateTime, primary_key=True)
    service_id: Mapped[str] = mapped_column(String(64), index=True)
    total: Mapped[int] = mapped_column(Integer, default=0)
    good: Mapped[int] = mapped_column(Integer, default=0)  # answered as expected (slow included)
    slow: Mapped[int] = mapped_column(Integer, default=0)
    offline: Mapped[int] = mapped_column(Integer, default=0)  # Hali itself was cut off: not counted
    latency_ms_sum: Mapped[int] = mapped_column(BigInteger, default=0)


class LeaseRow(Base):
    """A named lease: the one process among replicas allowed to run a job until `expires_at`."""

    __tablename__ = "leases"

    name: Mapped[str] = mapped_column(String(64), primary_key=True)
    holder: Mapped[str] = mapped_column(String(128))
    acquired_at: Mapped[datetime] = mapped_column(UTCDateTime)
    expires_at: Mapped[datetime] = mapped_column(UTCDateTime)


class MaintenanceRow(Base):
    """A planned maintenance window, once or repeated weekly or monthly (in East Africa Time)."""

    __tablename__ = "maintenance_windows"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    service_id: Mapped[str] = mapped_column(ForeignKey("services.id"), index=True)
    starts_at: Mapped[datetime] = mapped_column(UTCDateTime)
    ends_at: Mapped[datetime] = mapped_column(UTCDateTime)
    every: Mapped[str | None] = mapped_column(String(16), default=None)  # None, weekly, monthly
    until: Mapped[datetime | None] = mapped_column(UTCDateTime, default=None)
    title_en: Mapped[str] = mapped_column(Text)
    title_sw: Mapped[str | None] = mapped_column(Text, default=None)
    created_by: Mapped[str] = mapped_column(String(128))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    cancelled_at: Mapped[datetime | None] = mapped_column(UTCDateTime, default=None)
# --- notifications: subscriptions and the outbox -------------------------------------------------


class SubscriberRow(Base):
    """A recipient that asked for notifications (`bot.core.recipient`: a medium and an address on it,
    on Telegram the chat id as text): the language it used then, optional quiet hours (EAT).

    `active` turns false when the medium says the recipient is gone (a Telegram chat that blocked the
    bot, or was not found); its subscriptions are deleted then, so only the address and that flag
    remain until /forget.
    """

    __tablename__ = "subscribers"

    medium: Mapped[str] = mapped_column(String(16), primary_key=True)
    address: Mapped[str] = mapped_column(String(64), primary_key=True)
    language: Mapped[str | None] = mapped_column(String(8), default=None)
    quiet_start: Mapped[int | None] = mapped_column(SmallInteger, default=None)  # hour 0-23, EAT
    quiet_end: Mapped[int | None] = mapped_column(SmallInteger, default=None)
    active: Mapped[bool] = mapped_column(Boolean, default=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    # The public channel (HALI_CHANNEL) is a subscriber of every service with one post in both languages.
    channel: Mapped[bool] = mapped_column(Boolean, default=False)
    link: Mapped[str | None] = mapped_column(String(256), default=None)  # the channel's t.me link


class SubscriptionRow(Base):
    """One recipient following one service; service_id "*" follows every service."""

    __tablename__ = "subscriptions"
    __table_args__ = (
        ForeignKeyConstraint(["medium", "address"], ["subscribers.medium", "subscribers.address"],
                             ondelete="CASCADE"),
        Index("ix_subscriptions_service_recipient", "service_id", "medium", "address"),
    )

    medium: Mapped[str] = mapped_column(String(16), primary_key=True)
    address: Mapped[str] = mapped_column(String(64), primary_key=True)
    service_id: Mapped[str] = mapped_column(String(64), primary_key=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


class NotificationEventRow(Base):
    """Something subscribers of a service are told once: an operator's incident change or a status change.

    `payload` keeps the texts as they were at the time, so a delivery sent later still says what was
    true when the event happened.
    """

    __tablename__ = "notification_events"
    __table_args__ = (Index("ix_notification_events_service_created", "service_id", "created_at"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    service_id: Mapped[str] = mapped_column(String(64))
    kind: Mapped[str] = mapped_column(String(32))
    state: Mapped[str] = mapped_column(String(32))
    previous_state: Mapped[str | None] = mapped_column(String(32), default=None)
    incident_id: Mapped[int | None] = mapped_column(Integer, default=None)
    since: Mapped[datetime | None] = mapped_column(UTCDateTime, default=None)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    payload: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)


# A delivery's status: pending until Telegram (or its medium) confirms it; failed for good; deactivated
# when its recipient is gone.
PENDING, SENT, FAILED, DEACTIVATED = "pending", "sent", "failed", "deactivated"


class DeliveryRow(Base):
    """The outbox: one row per (event, recipient), claimed by a dispatcher under a lease and marked once sent."""

    __tablename__ = "deliveries"
    __table_args__ = (
        UniqueConstraint("event_id", "medium", "address", name="uq_deliveries_event_recipient"),
        # Claims read this index in order: due rows, oldest first, without sorting the queue.
        Index("ix_deliveries_due", "status", "not_before", "id"),
        Index("ix_deliveries_recipient", "medium", "address"),
    )

    id: Mapped[int] = mapped_column(BigInteger().with_variant(Integer, "sqlite"), primary_key=True,
                                    autoincrement=True)
    event_id: Mapped[int] = mapped_column(ForeignKey("notification_events.id", ondelete="CASCADE"))
    medium: Mapped[str] = mapped_column(String(16))
    address: Mapped[str] = mapped_column(String(64))
    language: Mapped[str] = mapped_column(String(8), default="en")
    status: Mapped[str] = mapped_column(String(16), default=PENDING)  # PENDING SENT FAILED DEACTIVATED
    not_before: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    claimed_by: Mapped[str | None] = mapped_column(String(64), default=None)
    claimed_until: Mapped[datetime | None] = mapped_column(UTCDateTime, default=None)
    sent_at: Mapped[datetime | None] = mapped_column(UTCDateTime, default=None)
    error: Mapped[str | None] = mapped_column(String(200), default=None)
    # When a send first failed for a reason worth retrying: retries go on for HALI_NOTIFY_MAX_AGE from here.
    first_failed_at: Mapped[datetime | None] = mapped_column(UTCDateTime, default=None)


class WatchStateRow(Base):
    """What subscribers of a service were last told, and a change still settling; survives restarts."""

    __tablename__ = "watch_state"

    service_id: Mapped[str] = mapped_column(String(64), primary_key=True)
    told_state: Mapped[str] = mapped_column(String(32))
    told_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    pending_state: Mapped[str | None] = mapped_column(String(32), default=None)
    window_start: Mapped[datetime | None] = mapped_column(UTCDateTime, default=None)
    last_change: Mapped[datetime | None] = mapped_column(UTCDateTime, default=None)
    changes: Mapped[int] = mapped_column(Integer, default=0)
    unstable: Mapped[bool] = mapped_column(Boolean, default=False)
    checked_at: Mapped[datetime | None] = mapped_column(UTCDateTime, default=None)


# --- the inbox and the send budget ---------------------------------------------------------------


class InboxRow(Base):
    """An update from Telegram, kept from before Telegram is told it arrived until it is answered.

    `payload` (the update as Telegram sent it: it holds the citizen's text) is dropped as soon as the
    update is done; the row itself, only its id and time, stays a day so that a second delivery of the
    same update is recognised. An update that cannot be read is set aside with its `reason`.
    """

    __tablename__ = "inbox"
    __table_args__ = (
        Index("ix_inbox_status_update", "status", "update_id"),
        Index("ix_inbox_chat_update", "chat_id", "update_id"),
    )

    update_id: Mapped[int] = mapped_column(BigInteger, primary_key=True, autoincrement=False)
    chat_id: Mapped[int | None] = mapped_column(BigInteger, default=None)
    kind: Mapped[str] = mapped_column(String(32), default="")
    payload: Mapped[dict[str, Any] | None] = mapped_column(JSON, default=None)
    status: Mapped[str] = mapped_column(String(16), default="pending")  # pending done invalid
    received_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    claimed_by: Mapped[str | None] = mapped_column(String(64), default=None)
    claimed_until: Mapped[datetime | None] = mapped_column(UTCDateTime, default=None)
    done_at: Mapped[datetime | None] = mapped_column(UTCDateTime, default=None, index=True)
    reason: Mapped[str | None] = mapped_column(String(200), default=None)


class SendSlotsRow(Base):
    """One lane of the send budget, shared by every process: the next free moment, and a 429's pause.

    Times are seconds since the epoch. A process reserves a few evenly spaced moments at a time by
    moving `next_at` on; `granted_from`/`granted` say what the last reservation got.
    """

    __tablename__ = "send_slots"

    name: Mapped[str] = mapped_column(String(32), primary_key=True)
    next_at: Mapped[float] = mapped_column(Float, default=0.0)
    paused_until: Mapped[float] = mapped_column(Float, default=0.0)
    granted_from: Mapped[float] = mapped_column(Float, default=0.0)
    granted: Mapped[int] = mapped_column(Integer, default=0)


class SenderRow(Base):
    """A running process that sends (the bot, a dispatcher): what waits in its queues, and its totals."""

    __tablename__ = "senders"

    id: Mapped[str] = mapped_column(String(64), primary_key=True)
    role: Mapped[str] = mapped_column(String(16))
    seen_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    answers_waiting: Mapped[int] = mapped_column(Integer, default=0)
    notices_waiting: Mapped[int] = mapped_column(Integer, default=0)
    paid_waiting: Mapped[int] = mapped_column(Integer, default=0)
    rate: Mapped[float] = mapped_column(Float, default=0.0)
    sent: Mapped[int] = mapped_column(BigInteger, default=0)
    throttled: Mapped[int] = mapped_column(BigInteger, default=0)
    dropped: Mapped[int] = mapped_column(BigInteger, default=0)


class SenderMinuteRow(Base):
    """What one process sent, was throttled on and dropped in one minute: the last hour for `hali sending`."""

    __tablename__ = "sender_minutes"

    minute: Mapped[datetime] = mapped_column(UTCDateTime, primary_key=True)
    sender: Mapped[str] = mapped_column(String(64), primary_key=True)
    role: Mapped[str] = mapped_column(String(16), default="")
    sent: Mapped[int] = mapped_column(Integer, default=0)
    throttled: Mapped[int] = mapped_column(Integer, default=0)
    dropped: Mapped[int] = mapped_column(Integer, default=0)


# --- history for the public status page (issue 13): bot/store/history.py --------------------------


class CheckDayRow(Base):
    """Counts per check and East Africa day, kept about 100 days: the public page's 90-day bars.

    Counted with the hourly table as each result is recorded; `check_hours` alone lasts only 31 days.
    """

    __tablename__ = "check_days"

    key: Mapped[str] = mapped_column(String(255), primary_key=True)
    day: Mapped[date] = mapped_column(Date, primary_key=True)  # the date in East Africa Time
    service_id: Mapped[str] = mapped_column(String(64), index=True)
    total: Mapped[int] = mapped_column(Integer, default=0)
    good: Mapped[int] = mapped_column(Integer, default=0)  # answered as expected (slow included)
    slow: Mapped[int] = mapped_column(Integer, default=0)
    offline: Mapped[int] = mapped_column(Integer, default=0)  # Hali itself was cut off: not counted


class CheckFailureRow(Base):
    """A run of failed (or slow) results of one check: first and last failure and the reasons seen.

    Raw results last two days; these runs keep what an outage record needs for much longer.
    `reasons` counts outcomes ("timeout", "http_status 503", "slow"); no detail text is kept.
    """

    __tablename__ = "check_failures"
    __table_args__ = (
        Index("ix_check_failures_key_last", "key", "last_at"),
        Index("ix_check_failures_service_last", "service_id", "last_at"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    key: Mapped[str] = mapped_column(String(255))
    service_id: Mapped[str] = mapped_column(String(64))
    first_at: Mapped[datetime] = mapped_column(UTCDateTime)
    last_at: Mapped[datetime] = mapped_column(UTCDateTime)
    failures: Mapped[int] = mapped_column(Integer, default=0)
    reasons: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)


# --- alert hooks and the operator API (issue 13): bot/store/alerts.py, bot/store/tokens.py ----------


class ApiTokenRow(Base):
    """A token for the hooks and the operator API: only its SHA-256 is kept, never the token itself.

    `services` is the list of service ids it may touch, or None for every service (later ones too).
    """

    __tablename__ = "api_tokens"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    name: Mapped[str] = mapped_column(String(64), unique=True)
    digest: Mapped[str] = mapped_column(String(64), unique=True)
    services: Mapped[list[str] | None] = mapped_column(JSON, default=None)
    hooks: Mapped[bool] = mapped_column(Boolean, default=False)
    incidents: Mapped[bool] = mapped_column(Boolean, default=False)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    created_by: Mapped[str] = mapped_column(String(128))
    revoked_at: Mapped[datetime | None] = mapped_column(UTCDateTime, default=None)


class AlertSignalRow(Base):
    """A firing alert from an agency's own monitoring, until it resolves: a Source.MONITORING signal.

    `key` names the alert within its hook ("alertmanager:<fingerprint>"), so a re-sent firing alert
    finds its row and changes nothing; a resolved one deletes it.
    """

    __tablename__ = "alert_signals"
    __table_args__ = (UniqueConstraint("key", "service_id"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    key: Mapped[str] = mapped_column(String(255))
    service_id: Mapped[str] = mapped_column(ForeignKey("services.id"), index=True)
    state: Mapped[str] = mapped_column(String(32))
    since: Mapped[datetime] = mapped_column(UTCDateTime)
    seen_at: Mapped[datetime] = mapped_column(UTCDateTime)  # the last delivery that said it fires
    token: Mapped[str] = mapped_column(String(64))  # the name of the token that sent it
    name: Mapped[str] = mapped_column(String(255), default="")  # the alert's name, for operators
