"""Invite codes and the throttle on wrong codes."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import delete, func, select
from sqlalchemy.ext.asyncio import AsyncSession

from storage.models import Invite, InviteFailure


class InviteRepo:
    def __init__(self, session: AsyncSession) -> None:
        self.session = session

    async def add(
        self, code_hash: str, unit_id: int | None, role: str, expires_at: datetime, created_by: int | None
    ) -> Invite:
        invite = Invite(code_hash=code_hash, unit_id=unit_id, role=role, expires_at=expires_at, created_by=created_by)
        self.session.add(invite)
        await self.session.flush()
        return invite

    async def by_hash(self, code_hash: str, *, lock: bool = False) -> Invite | None:
        stmt = select(Invite).where(Invite.code_hash == code_hash)
        if lock:
            stmt = stmt.with_for_update()
        return (await self.session.execute(stmt)).scalar_one_or_none()

    async def record_failure(self, channel: str, external_user_id: str, at: datetime) -> None:
        self.session.add(InviteFailure(channel=channel, external_user_id=external_user_id, at=at))
        await self.session.flush()

    async def failures_since(self, channel: str, external_user_id: str, since: datetime) -> int:
        stmt = select(func.count(InviteFailure.id)).where(
            InviteFailure.channel == channel,
            InviteFailure.external_user_id == external_user_id,
            InviteFailure.at >= since,
        )
        return (await self.session.execute(stmt)).scalar_one()

    async def clear_failures(self, channel: str, external_user_id: str) -> None:
        await self.session.execute(
            delete(InviteFailure).where(
                InviteFailure.channel == channel, InviteFailure.external_user_id == external_user_id
            )
        )
