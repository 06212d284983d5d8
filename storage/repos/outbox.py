"""The outbox: one row per message and recipient, written before anything is sent."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Any

from sqlalchemy import func, or_, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from storage.models import OutboxItem
from storage.repos.base import insert_ignore


class OutboxRepo:
    def __init__(self, session: AsyncSession) -> None:
        self.session = session

    async def add(
        self,
        *,
        dedupe_key: str,
        channel: str,
        chat_id: str,
        payload: dict[str, Any],
        at: datetime,
        identity_id: int | None = None,
        person_id: int | None = None,
        priority: int = 0,
        kind: str = "reply",
        not_before: datetime | None = None,
    ) -> int | None:
        """Queue a message; return its id, or None when the same dedupe key is queued already."""
        values = {
            "dedupe_key": dedupe_key,
            "channel": channel,
            "chat_id": chat_id,
            "identity_id": identity_id,
            "person_id": person_id,
            "priority": priority,
            "kind": kind,
            "payload": payload,
            "status": "pending",
            "attempts": 0,
            "not_before": not_before,
            "created_at": at,
        }
        return await insert_ignore(self.session, OutboxItem, values, returning=OutboxItem.id)

    async def claim(self, channel: str, now: datetime, limit: int, max_priority: int | None = None) -> Sequence[OutboxItem]:
        """Take up to ``limit`` due rows of a channel, most urgent first, and mark them as sending.

        On PostgreSQL ``SKIP LOCKED`` lets several workers drain the same outbox without overlap.
        """
        stmt = (
            select(OutboxItem)
            .where(
                OutboxItem.status == "pending",
                OutboxItem.channel == channel,
                or_(OutboxItem.not_before.is_(None), OutboxItem.not_before <= now),
            )
            .order_by(OutboxItem.priority, OutboxItem.id)
            .limit(limit)
            .with_for_update(skip_locked=True)
        )
        if max_priority is not None:
            stmt = stmt.where(OutboxItem.priority <= max_priority)
        rows = (await self.session.execute(stmt)).scalars().all()
        for row in rows:
            row.status, row.claimed_at = "sending", now
        await self.session.flush()
        return rows

    async def requeue_stale(self, before: datetime) -> int:
        """Put rows claimed before ``before`` back in the queue (their worker died mid-send)."""
        result = await self.session.execute(
            update(OutboxItem)
            .where(OutboxItem.status == "sending", OutboxItem.claimed_at <= before)
            .values(status="pending", claimed_at=None)
        )
        return result.rowcount or 0

    async def get(self, item_id: int) -> OutboxItem | None:
        return await self.session.get(OutboxItem, item_id)

    async def pending_count(self, channel: str | None = None) -> int:
        stmt = select(func.count(OutboxItem.id)).where(OutboxItem.status.in_(("pending", "sending")))
        if channel:
            stmt = stmt.where(OutboxItem.channel == channel)
        return (await self.session.execute(stmt)).scalar_one()

    async def next_due(self, channel: str) -> datetime | None:
        stmt = select(func.min(OutboxItem.not_before)).where(
            OutboxItem.status == "pending", OutboxItem.channel == channel
        )
        return (await self.session.execute(stmt)).scalar_one_or_none()

    async def by_prefix(self, prefix: str) -> Sequence[OutboxItem]:
        stmt = select(OutboxItem).where(OutboxItem.dedupe_key.startswith(prefix, autoescape=True)).order_by(OutboxItem.id)
        return (await self.session.execute(stmt)).scalars().all()
