"""The inbox of raw incoming updates."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from storage.models import InboxItem
from storage.repos.base import insert_ignore


class InboxRepo:
    def __init__(self, session: AsyncSession) -> None:
        self.session = session

    async def store(self, channel: str, update_key: str, payload: dict[str, Any], at: datetime) -> int | None:
        """Store a raw update; return its id, or None when the same update was stored before."""
        values = {
            "channel": channel,
            "update_key": update_key,
            "payload": payload,
            "status": "new",
            "attempts": 0,
            "received_at": at,
        }
        return await insert_ignore(self.session, InboxItem, values, returning=InboxItem.id)

    async def claim(self, item_id: int) -> InboxItem | None:
        """Lock an unhandled item for handling; None if it is handled already or taken by another worker."""
        stmt = select(InboxItem).where(InboxItem.id == item_id, InboxItem.status == "new")
        stmt = stmt.with_for_update(skip_locked=True)
        return (await self.session.execute(stmt)).scalar_one_or_none()

    async def mark_done(self, item: InboxItem, at: datetime) -> None:
        item.status, item.handled_at, item.payload = "done", at, None
        await self.session.flush()

    async def mark_failed(self, item_id: int, error: str, at: datetime, max_attempts: int) -> None:
        """Count a failed attempt; give up (status failed, content dropped) after ``max_attempts``."""
        item = await self.session.get(InboxItem, item_id)
        if item is None or item.status != "new":
            return
        item.attempts += 1
        item.error = error[:500]
        if item.attempts >= max_attempts:
            item.status, item.handled_at, item.payload = "failed", at, None
        await self.session.flush()

    async def unhandled_ids(self, channel: str | None = None, limit: int = 1000) -> Sequence[int]:
        stmt = select(InboxItem.id).where(InboxItem.status == "new").order_by(InboxItem.id).limit(limit)
        if channel:
            stmt = stmt.where(InboxItem.channel == channel)
        return (await self.session.execute(stmt)).scalars().all()

    async def get(self, item_id: int) -> InboxItem | None:
        return await self.session.get(InboxItem, item_id)

    async def count(self, status: str | None = None) -> int:
        stmt = select(func.count(InboxItem.id))
        if status:
            stmt = stmt.where(InboxItem.status == status)
        return (await self.session.execute(stmt)).scalar_one()
