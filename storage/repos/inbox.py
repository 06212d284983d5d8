"""The inbox of raw incoming updates."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Any, NamedTuple, cast

from sqlalchemy import Table, func, select, update
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.ext.asyncio import AsyncSession

from storage.models import InboxItem
from storage.repos.base import dialect_name


class ClaimedItem(NamedTuple):
    """An update taken for handling whose content the caller holds already (see ``claim_held``)."""

    id: int
    channel: str
    update_key: str


class InboxRepo:
    def __init__(self, session: AsyncSession) -> None:
        self.session = session

    async def store_many(
        self, channel: str, updates: Sequence[tuple[str, dict[str, Any]]], at: datetime
    ) -> dict[str, int]:
        """Store raw updates in one statement; return the ids of the new ones by update key.

        Updates stored before, and repeats of a key within ``updates``, are left out of the answer.
        """
        rows, seen = [], set()
        for key, payload in updates:
            if key not in seen:
                seen.add(key)
                rows.append({"channel": channel, "update_key": key, "payload": payload, "status": "new",
                             "attempts": 0, "received_at": at})
        if not rows:
            return {}
        module = postgresql if dialect_name(self.session) == "postgresql" else sqlite
        table = InboxItem.__table__
        stmt = module.insert(table).on_conflict_do_nothing().returning(table.c.id, table.c.update_key)
        result = await (await self.session.connection()).execute(stmt, rows)
        return {key: item_id for item_id, key in result.all()}

    async def claim_many(self, item_ids: Sequence[int], at: datetime) -> list[InboxItem]:
        """Take the unhandled items among ``item_ids``, in id order, and mark them handled at ``at``.

        The items come back with their content; in the database the content is dropped at once.
        The mark is part of the caller's transaction, undone if it rolls back, and it makes the
        transaction hold SQLite's write lock before any handler runs. Items handled already or
        locked by another worker (PostgreSQL: ``SKIP LOCKED``) are left out.
        """
        stmt = (
            select(InboxItem)
            .where(InboxItem.id.in_(item_ids), InboxItem.status == "new")
            .order_by(InboxItem.id)
            .with_for_update(skip_locked=True)
        )
        items = list((await self.session.execute(stmt)).scalars().all())
        if items:
            await self.session.execute(
                update(InboxItem)
                .where(InboxItem.id.in_([i.id for i in items]))
                .values(status="done", handled_at=at, payload=None),
                execution_options={"synchronize_session": False},
            )
        return items

    async def claim_held(self, item_ids: Sequence[int], at: datetime) -> list[ClaimedItem]:
        """Like ``claim_many`` for updates whose content the caller still holds from storing them.

        One statement marks them and returns their keys; their content is not read back.
        """
        pick = (
            select(_TABLE.c.id)
            .where(_TABLE.c.id.in_(item_ids), _TABLE.c.status == "new")
            .with_for_update(skip_locked=True)
        ).scalar_subquery()
        stmt = (
            update(_TABLE)
            .where(_TABLE.c.id.in_(pick), _TABLE.c.status == "new")
            .values(status="done", handled_at=at, payload=None)
            .returning(_TABLE.c.id, _TABLE.c.channel, _TABLE.c.update_key)
        )
        rows = (await (await self.session.connection()).execute(stmt)).all()
        return sorted((ClaimedItem._make(row) for row in rows), key=lambda item: item.id)

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


_TABLE = cast(Table, InboxItem.__table__)
