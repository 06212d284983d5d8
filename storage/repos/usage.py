"""Messages sent per channel per month."""

from __future__ import annotations

from sqlalchemy import update
from sqlalchemy.ext.asyncio import AsyncSession

from storage.models import ChannelUsage
from storage.repos.base import insert_ignore


class UsageRepo:
    def __init__(self, session: AsyncSession) -> None:
        self.session = session

    async def add(self, channel: str, month: str, count: int) -> ChannelUsage:
        """Count ``count`` more sent messages; return the month's row."""
        await insert_ignore(self.session, ChannelUsage, {"channel": channel, "month": month, "sent": 0,
                                                          "warned_percent": 0})
        await self.session.execute(
            update(ChannelUsage)
            .where(ChannelUsage.channel == channel, ChannelUsage.month == month)
            .values(sent=ChannelUsage.sent + count)
        )
        row = await self.session.get(ChannelUsage, (channel, month), populate_existing=True)
        assert row is not None
        return row

    async def get(self, channel: str, month: str) -> ChannelUsage | None:
        return await self.session.get(ChannelUsage, (channel, month))
