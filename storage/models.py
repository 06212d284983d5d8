"""SQLAlchemy models: the schema of the service, shared by SQLite and PostgreSQL."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from sqlalchemy import (
    JSON,
    BigInteger,
    Boolean,
    DateTime,
    ForeignKey,
    Index,
    Integer,
    String,
    Text,
    TypeDecorator,
    UniqueConstraint,
)
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column


class UTCDateTime(TypeDecorator[datetime]):
    """Store aware datetimes as UTC and always read them back aware (SQLite drops the zone)."""

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect: Any) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError("naive datetime given to a UTC column")
        value = value.astimezone(UTC)
        return value.replace(tzinfo=None) if dialect.name == "sqlite" else value

    def process_result_value(self, value: datetime | None, dialect: Any) -> datetime | None:
        if value is None:
            return None
        return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)


def utcnow() -> datetime:
    return datetime.now(UTC)


class Base(DeclarativeBase):
    type_annotation_map = {datetime: UTCDateTime, dict[str, Any]: JSON, list[Any]: JSON}


class Unit(Base):
    """A node of the administrative tree (province → [district] → commune → hamlet), any depth."""

    __tablename__ = "units"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    code: Mapped[str] = mapped_column(String(64), unique=True)
    name: Mapped[str] = mapped_column(String(200))
    level: Mapped[str] = mapped_column(String(50))
    parent_id: Mapped[int | None] = mapped_column(ForeignKey("units.id"), index=True)
    # Materialised path of ids ("/1/5/23/"): subtree queries become one indexed prefix match.
    path: Mapped[str] = mapped_column(String(1000), index=True, default="")
    created_at: Mapped[datetime] = mapped_column(default=utcnow)


class Person(Base):
    """A registered member of staff."""

    __tablename__ = "persons"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    name: Mapped[str] = mapped_column(String(200))
    role: Mapped[str] = mapped_column(String(20))  # reporter | officer | admin
    unit_id: Mapped[int | None] = mapped_column(ForeignKey("units.id"), index=True)
    active: Mapped[bool] = mapped_column(Boolean, default=True)
    preferred_channel: Mapped[str | None] = mapped_column(String(20))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)


class Identity(Base):
    """A person's account on one channel; one person may have a Telegram and a Zalo identity."""

    __tablename__ = "identities"
    __table_args__ = (UniqueConstraint("channel", "external_user_id", name="uq_identity_channel_user"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    person_id: Mapped[int] = mapped_column(ForeignKey("persons.id"), index=True)
    channel: Mapped[str] = mapped_column(String(20))
    external_user_id: Mapped[str] = mapped_column(String(64))
    chat_id: Mapped[str] = mapped_column(String(64))
    display_name: Mapped[str] = mapped_column(String(200), default="")
    active: Mapped[bool] = mapped_column(Boolean, default=True)  # False once the person blocked the bot
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    # On channels without buttons the latest choices are numbered; a reply "2" maps back to menu[1].
    menu: Mapped[list[Any] | None]
    menu_at: Mapped[datetime | None]


class Invite(Base):
    """A single-use registration code; only its hash is stored."""

    __tablename__ = "invites"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    code_hash: Mapped[str] = mapped_column(String(64), unique=True)
    unit_id: Mapped[int | None] = mapped_column(ForeignKey("units.id"))
    role: Mapped[str] = mapped_column(String(20))
    created_by: Mapped[int | None] = mapped_column(ForeignKey("persons.id"))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    expires_at: Mapped[datetime]
    used_at: Mapped[datetime | None]
    used_by: Mapped[int | None] = mapped_column(ForeignKey("persons.id"))


class InviteFailure(Base):
    """A wrong invite code sent by one account; counted to throttle guessing."""

    __tablename__ = "invite_failures"
    __table_args__ = (Index("ix_invite_failures_who", "channel", "external_user_id", "at"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    channel: Mapped[str] = mapped_column(String(20))
    external_user_id: Mapped[str] = mapped_column(String(64))
    at: Mapped[datetime] = mapped_column(default=utcnow)


class InboxItem(Base):
    """A raw incoming update, stored before it is handled so that none is lost or handled twice."""

    __tablename__ = "inbox"
    __table_args__ = (
        UniqueConstraint("channel", "update_key", name="uq_inbox_channel_key"),
        Index("ix_inbox_status", "status", "id"),
    )

    id: Mapped[int] = mapped_column(BigInteger().with_variant(Integer, "sqlite"), primary_key=True)
    channel: Mapped[str] = mapped_column(String(20))
    update_key: Mapped[str] = mapped_column(String(100))
    # Cleared once handled: the content lives on only where the handler put it (e.g. a report).
    payload: Mapped[dict[str, Any] | None]
    status: Mapped[str] = mapped_column(String(10), default="new")  # new | done | failed
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    received_at: Mapped[datetime] = mapped_column(default=utcnow)
    handled_at: Mapped[datetime | None]
    error: Mapped[str | None] = mapped_column(String(500))


class ConversationState(Base):
    """Which step of a multi-step conversation a person is in; survives restarts and channels."""

    __tablename__ = "conversation_states"

    person_id: Mapped[int] = mapped_column(ForeignKey("persons.id"), primary_key=True)
    flow: Mapped[str] = mapped_column(String(50))
    step: Mapped[str] = mapped_column(String(50))
    data: Mapped[dict[str, Any]] = mapped_column(default=dict)
    updated_at: Mapped[datetime] = mapped_column(default=utcnow)


class AuditEntry(Base):
    """One admin or security-relevant action."""

    __tablename__ = "audit_log"

    id: Mapped[int] = mapped_column(BigInteger().with_variant(Integer, "sqlite"), primary_key=True)
    at: Mapped[datetime] = mapped_column(default=utcnow, index=True)
    actor_id: Mapped[int | None] = mapped_column(ForeignKey("persons.id"))
    actor: Mapped[str] = mapped_column(String(200))  # "person:3", "cli", "system", "telegram:12345"
    action: Mapped[str] = mapped_column(String(50), index=True)
    target: Mapped[str] = mapped_column(String(200), default="")
    details: Mapped[dict[str, Any]] = mapped_column(default=dict)


class OfficeGroup(Base):
    """A group chat registered as an office group; other groups are ignored."""

    __tablename__ = "office_groups"
    __table_args__ = (UniqueConstraint("channel", "chat_id", name="uq_office_group"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    channel: Mapped[str] = mapped_column(String(20))
    chat_id: Mapped[str] = mapped_column(String(64))
    unit_id: Mapped[int] = mapped_column(ForeignKey("units.id"))
    name: Mapped[str] = mapped_column(String(200), default="")


class OutboxItem(Base):
    """One message to one recipient, written before it is sent; drained by the sender."""

    __tablename__ = "outbox"
    __table_args__ = (Index("ix_outbox_queue", "status", "channel", "priority", "id"),)

    id: Mapped[int] = mapped_column(BigInteger().with_variant(Integer, "sqlite"), primary_key=True)
    dedupe_key: Mapped[str] = mapped_column(String(200), unique=True)
    channel: Mapped[str] = mapped_column(String(20))
    chat_id: Mapped[str] = mapped_column(String(64))
    identity_id: Mapped[int | None] = mapped_column(ForeignKey("identities.id"))
    person_id: Mapped[int | None] = mapped_column(ForeignKey("persons.id"), index=True)
    priority: Mapped[int] = mapped_column(Integer, default=0)  # 0 replies first, then bulk
    kind: Mapped[str] = mapped_column(String(20), default="reply")
    payload: Mapped[dict[str, Any]]
    status: Mapped[str] = mapped_column(String(10), default="pending")  # pending|sending|sent|failed
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    not_before: Mapped[datetime | None]
    claimed_at: Mapped[datetime | None]
    sent_at: Mapped[datetime | None]
    message_id: Mapped[str | None] = mapped_column(String(64))
    error: Mapped[str | None] = mapped_column(String(300))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)


class Report(Base):
    """A situation report filed by a reporter for their unit."""

    __tablename__ = "reports"
    __table_args__ = (
        UniqueConstraint("channel", "source_key", name="uq_report_source"),
        # Covers the digest's GROUP BY: counts come from the index alone, never from the table rows.
        Index(
            "ix_reports_digest", "period_key", "unit_id", "state", "dan_toc", "ton_giao", "nhan_dan", "urgent",
            "status", "person_id",
        ),
        Index("ix_reports_unit_created", "unit_id", "created_at"),
        Index("ix_reports_person_created", "person_id", "created_at"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    person_id: Mapped[int] = mapped_column(ForeignKey("persons.id"))
    unit_id: Mapped[int] = mapped_column(ForeignKey("units.id"))
    channel: Mapped[str] = mapped_column(String(20))
    source_key: Mapped[str] = mapped_column(String(100))  # chat id + message id on that channel
    text: Mapped[str] = mapped_column(Text, default="")
    attachments: Mapped[list[Any]] = mapped_column(default=list)
    location: Mapped[dict[str, Any] | None]
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(default=utcnow)
    period_key: Mapped[str] = mapped_column(String(10))
    # The three topics as columns so that digests aggregate them in SQL; provenance lives in tag_meta.
    dan_toc: Mapped[bool] = mapped_column(Boolean, default=False)
    ton_giao: Mapped[bool] = mapped_column(Boolean, default=False)
    nhan_dan: Mapped[bool] = mapped_column(Boolean, default=False)
    urgent: Mapped[bool] = mapped_column(Boolean, default=False)
    tag_meta: Mapped[dict[str, Any]] = mapped_column(default=dict)  # {label: {"source": ..., "cues": [...]}}
    # draft: waiting for a description or a "file it?" answer; filed; withdrawn; discarded
    state: Mapped[str] = mapped_column(String(12), default="filed", index=True)
    status: Mapped[str] = mapped_column(String(12), default="new")  # new|acknowledged|in_progress|resolved
    acknowledged_by: Mapped[int | None] = mapped_column(ForeignKey("persons.id"))
    acknowledged_at: Mapped[datetime | None]
    withdrawn_at: Mapped[datetime | None]


class ReportEvent(Base):
    """The history of a report: creation, corrections, status changes, replies."""

    __tablename__ = "report_events"

    id: Mapped[int] = mapped_column(BigInteger().with_variant(Integer, "sqlite"), primary_key=True)
    report_id: Mapped[int] = mapped_column(ForeignKey("reports.id"), index=True)
    at: Mapped[datetime] = mapped_column(default=utcnow)
    actor_id: Mapped[int | None] = mapped_column(ForeignKey("persons.id"))
    action: Mapped[str] = mapped_column(String(20))
    details: Mapped[dict[str, Any]] = mapped_column(default=dict)


class LinkCode(Base):
    """A one-time code that links a second channel to a registered person (/lienket)."""

    __tablename__ = "link_codes"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    code_hash: Mapped[str] = mapped_column(String(64), unique=True)
    person_id: Mapped[int] = mapped_column(ForeignKey("persons.id"), index=True)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    expires_at: Mapped[datetime]
    used_at: Mapped[datetime | None]


class ChannelUsage(Base):
    """Messages sent per channel per month, to stay within a plan's monthly quota."""

    __tablename__ = "channel_usage"

    channel: Mapped[str] = mapped_column(String(20), primary_key=True)
    month: Mapped[str] = mapped_column(String(7), primary_key=True)  # "2026-03"
    sent: Mapped[int] = mapped_column(Integer, default=0)
    warned_percent: Mapped[int] = mapped_column(Integer, default=0)


class PeriodicReport(Base):
    """A unit's guided periodic report for one period; resubmissions keep history, the last one counts."""

    __tablename__ = "periodic_reports"
    __table_args__ = (Index("ix_periodic_period_unit", "period_key", "unit_id", "current"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    unit_id: Mapped[int] = mapped_column(ForeignKey("units.id"))
    period_key: Mapped[str] = mapped_column(String(10))
    person_id: Mapped[int] = mapped_column(ForeignKey("persons.id"))
    submitted_at: Mapped[datetime]
    late: Mapped[bool] = mapped_column(Boolean, default=False)
    current: Mapped[bool] = mapped_column(Boolean, default=True)
    # {"dan_toc": str | None, "ton_giao": ..., "nhan_dan": ..., "kien_nghi": ...}; None = "stable, nothing new"
    answers: Mapped[dict[str, Any]] = mapped_column(default=dict)


class JobRun(Base):
    """One scheduled job for one period: when it was due, when it ran, or that it was missed."""

    __tablename__ = "job_runs"
    __table_args__ = (UniqueConstraint("job", "period_key", name="uq_job_run"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    job: Mapped[str] = mapped_column(String(30))
    period_key: Mapped[str] = mapped_column(String(10))
    due_at: Mapped[datetime]
    started_at: Mapped[datetime | None]
    finished_at: Mapped[datetime | None]
    status: Mapped[str] = mapped_column(String(10), default="running")  # running | done | missed
    queued: Mapped[int] = mapped_column(Integer, default=0)


class SettingValue(Base):
    """Settings changed at run time by admins (e.g. the reporting schedule)."""

    __tablename__ = "setting_values"

    key: Mapped[str] = mapped_column(String(50), primary_key=True)
    value: Mapped[dict[str, Any]] = mapped_column(default=dict)
    updated_at: Mapped[datetime] = mapped_column(default=utcnow)
    updated_by: Mapped[int | None] = mapped_column(ForeignKey("persons.id"))


class Notice(Base):
    """A broadcast notice from an admin or officer to staff."""

    __tablename__ = "notices"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    author_id: Mapped[int] = mapped_column(ForeignKey("persons.id"))
    text: Mapped[str] = mapped_column(Text, default="")
    attachment: Mapped[dict[str, Any] | None]  # {"kind": "photo"|"document", "file_id"/"url": ...}
    # {"kind": "all"|"unit"|"role"|"channel", "unit_id": ..., "role": ..., "channel": ...}
    audience: Mapped[dict[str, Any]] = mapped_column(default=dict)
    status: Mapped[str] = mapped_column(String(12), default="draft")  # draft|sending|done|cancelled
    total: Mapped[int] = mapped_column(Integer, default=0)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    sent_at: Mapped[datetime | None]
    finished_at: Mapped[datetime | None]
    # Where the "Đang gửi 1.240/5.000" progress message lives, to update it in place.
    progress_channel: Mapped[str | None] = mapped_column(String(20))
    progress_chat_id: Mapped[str | None] = mapped_column(String(64))
    progress_message_id: Mapped[str | None] = mapped_column(String(64))
    remind_after_hours: Mapped[int | None] = mapped_column(Integer)
    reminded_at: Mapped[datetime | None]


class NoticeAck(Base):
    """A recipient pressed "Đã nhận" on a notice."""

    __tablename__ = "notice_acks"

    notice_id: Mapped[int] = mapped_column(ForeignKey("notices.id"), primary_key=True)
    person_id: Mapped[int] = mapped_column(ForeignKey("persons.id"), primary_key=True)
    at: Mapped[datetime] = mapped_column(default=utcnow)
