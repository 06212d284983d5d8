"""Group chats registered as office groups."""

from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from storage.models import OfficeGroup


class GroupRepo:
    def __init__(self, session: AsyncSession) -> None:
        self.session = session

    async def is_office_group(self, channel: str, chat_id: str) -> bool:
        stmt = select(OfficeGroup.id).where(OfficeGroup.channel == channel, OfficeGroup.chat_id == chat_id)
        return (await self.session.execute(stmt)).first() is not None

    async def add(self, channel: str, chat_id: str, unit_id: int, name: str = "") -> OfficeGroup:
        group = OfficeGroup(channel=channel, chat_id=chat_id, unit_id=unit_id, name=name)
        self.session.add(group)
        await self.session.flush()
        return group
