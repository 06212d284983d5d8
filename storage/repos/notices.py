"""Notices (broadcasts), their recipients' outbox rows and acknowledgements.

A notice's own messages are the outbox rows ``notice:{id}:{person_id}``. They are inserted in one
transaction, so they lie between two outbox ids that the service keeps in ``audience["rows"]``;
queries scan that id range (primary key) instead of the whole outbox.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import and_, false, func, or_, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from storage.models import Identity, Notice, NoticeAck, OutboxItem, Person, Unit
from storage.repos.base import insert_ignore
from storage.repos.outbox import affected


@dataclass(frozen=True)
class Candidate:
    """An active person who may receive a notice, with one of their active identities."""

    person_id: int
    unit_id: int | None
    preferred_channel: str | None
    identity_id: int
    channel: str
    chat_id: str


@dataclass(frozen=True)
class RecipientRow:
    """A notice's outbox row for one person, with the person's unit and acknowledgement."""

    person_id: int
    unit_id: int | None
    status: str
    error: str | None
    channel: str
    chat_id: str
    identity_id: int | None
    acked: bool


class NoticeRepo:
    def __init__(self, session: AsyncSession) -> None:
        self.session = session

    async def add(self, notice: Notice) -> Notice:
        self.session.add(notice)
        await self.session.flush()
        return notice

    async def get(self, notice_id: int) -> Notice | None:
        return await self.session.get(Notice, notice_id)

    async def start(self, notice_id: int, author_id: int) -> bool:
        """Move a draft to ``sending`` once; False when it was sent or cancelled already."""
        result = await self.session.execute(
            update(Notice)
            .where(Notice.id == notice_id, Notice.author_id == author_id, Notice.status == "draft")
            .values(status="sending")
        )
        return affected(result) == 1

    async def finish(self, notice_id: int, at: datetime) -> bool:
        """Mark a sending notice done once (several workers may notice the end together)."""
        result = await self.session.execute(
            update(Notice).where(Notice.id == notice_id, Notice.status == "sending").values(status="done", finished_at=at)
        )
        return affected(result) == 1

    async def claim_reminder(self, notice_id: int, at: datetime) -> bool:
        """Take the right to send a notice's reminder once."""
        result = await self.session.execute(
            update(Notice).where(Notice.id == notice_id, Notice.reminded_at.is_(None)).values(reminded_at=at)
        )
        return affected(result) == 1

    async def sending(self) -> Sequence[Notice]:
        stmt = select(Notice).where(Notice.status == "sending").order_by(Notice.id)
        return (await self.session.execute(stmt)).scalars().all()

    async def reminders_due(self) -> Sequence[Notice]:
        """Return sent notices with a reminder not yet sent (the caller checks the time)."""
        stmt = (
            select(Notice)
            .where(Notice.status.in_(("sending", "done")), Notice.remind_after_hours.is_not(None),
                   Notice.reminded_at.is_(None), Notice.sent_at.is_not(None))
            .order_by(Notice.id)
        )
        return (await self.session.execute(stmt)).scalars().all()

    async def recent(self, author_id: int | None, limit: int = 5) -> Sequence[Notice]:
        """Return the latest sent notices, of one author or of everyone."""
        stmt = select(Notice).where(Notice.status.in_(("sending", "done"))).order_by(Notice.id.desc()).limit(limit)
        if author_id is not None:
            stmt = stmt.where(Notice.author_id == author_id)
        return (await self.session.execute(stmt)).scalars().all()

    async def candidates(self, unit_paths: Sequence[str] | None, role: str | None) -> list[Candidate]:
        """Return active people (within the subtrees of ``unit_paths`` when given) with their active identities."""
        stmt = (
            select(Person.id, Person.unit_id, Person.preferred_channel, Identity.id, Identity.channel,
                   Identity.chat_id)
            .join(Identity, and_(Identity.person_id == Person.id, Identity.active.is_(True)))
            .where(Person.active.is_(True))
        )
        if role:
            stmt = stmt.where(Person.role == role)
        if unit_paths is not None:
            stmt = stmt.join(Unit, Unit.id == Person.unit_id)
            conds = [Unit.path.startswith(p, autoescape=True) for p in unit_paths]
            stmt = stmt.where(or_(*conds)) if conds else stmt.where(false())
        rows = await self.session.execute(stmt.order_by(Person.id, Identity.id))
        return [Candidate(*row) for row in rows.all()]

    def _rows_of(self, notice: Notice) -> Any:
        lo, hi = (notice.audience or {}).get("rows") or (0, -1)
        return and_(
            OutboxItem.id.between(lo, hi),
            OutboxItem.dedupe_key.startswith(f"notice:{notice.id}:", autoescape=True),
        )

    async def status_counts(self, notice: Notice) -> dict[str, int]:
        """Return how many of the notice's messages are pending, sending, sent and failed."""
        stmt = select(OutboxItem.status, func.count()).where(self._rows_of(notice)).group_by(OutboxItem.status)
        return {status: count for status, count in (await self.session.execute(stmt)).all()}

    async def failure_reasons(self, notice: Notice) -> list[str]:
        stmt = select(OutboxItem.error).where(self._rows_of(notice), OutboxItem.status == "failed")
        return [e or "" for e in (await self.session.execute(stmt)).scalars().all()]

    async def recipients(self, notice: Notice) -> list[RecipientRow]:
        """Return every recipient row of a notice with the person's unit and whether they acknowledged."""
        stmt = (
            select(OutboxItem.person_id, Person.unit_id, OutboxItem.status, OutboxItem.error, OutboxItem.channel,
                   OutboxItem.chat_id, OutboxItem.identity_id, NoticeAck.person_id.is_not(None))
            .join(Person, Person.id == OutboxItem.person_id)
            .outerjoin(NoticeAck, and_(NoticeAck.notice_id == notice.id, NoticeAck.person_id == OutboxItem.person_id))
            .where(self._rows_of(notice))
            .order_by(OutboxItem.id)
        )
        rows = (await self.session.execute(stmt)).all()
        return [RecipientRow(int(p or 0), unit, status, error, channel, chat, ident, bool(acked))
                for p, unit, status, error, channel, chat, ident, acked in rows]

    async def acknowledge(self, notice_id: int, person_id: int, at: datetime) -> bool:
        """Record an acknowledgement; False when the person had acknowledged already."""
        values = {"notice_id": notice_id, "person_id": person_id, "at": at}
        return bool(await insert_ignore(self.session, NoticeAck, values))

    async def ack_of(self, notice_id: int, person_id: int) -> NoticeAck | None:
        return await self.session.get(NoticeAck, (notice_id, person_id))

    async def ack_count(self, notice_id: int) -> int:
        stmt = select(func.count()).select_from(NoticeAck).where(NoticeAck.notice_id == notice_id)
        return (await self.session.execute(stmt)).scalar_one()
