"""One-time codes that link a second channel to a person."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from storage.models import LinkCode


class LinkRepo:
    def __init__(self, session: AsyncSession) -> None:
        self.session = session

    async def add(self, code_hash: str, person_id: int, expires_at: datetime, at: datetime) -> None:
        self.session.add(LinkCode(code_hash=code_hash, person_id=person_id, expires_at=expires_at, created_at=at))
        await self.session.flush()

    async def by_hash(self, code_hash: str) -> LinkCode | None:
        stmt = select(LinkCode).where(LinkCode.code_hash == code_hash).with_for_update()
        return (await self.session.execute(stmt)).scalar_one_or_none()
