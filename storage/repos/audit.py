"""The audit log of admin and security-relevant actions."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from storage.models import AuditEntry


class AuditRepo:
    def __init__(self, session: AsyncSession) -> None:
        self.session = session

    async def add(
        self,
        action: str,
        *,
        actor: str,
        at: datetime,
        actor_id: int | None = None,
        target: str = "",
        details: dict[str, Any] | None = None,
    ) -> AuditEntry:
        entry = AuditEntry(action=action, actor=actor, actor_id=actor_id, target=target, details=details or {}, at=at)
        self.session.add(entry)
        await self.session.flush()
        return entry

    async def count_since(self, action: str, actor: str, since: datetime) -> int:
        stmt = select(func.count(AuditEntry.id)).where(
            AuditEntry.action == action, AuditEntry.actor == actor, AuditEntry.at >= since
        )
        return (await self.session.execute(stmt)).scalar_one()

    async def recent(self, limit: int = 50, action: str | None = None) -> Sequence[AuditEntry]:
        stmt = select(AuditEntry).order_by(AuditEntry.id.desc()).limit(limit)
        if action:
            stmt = stmt.where(AuditEntry.action == action)
        return (await self.session.execute(stmt)).scalars().all()
