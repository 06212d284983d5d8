"""Monthly message quotas (Zalo's plans cap messages per month): count, warn admins, keep room for replies."""

from __future__ import annotations

import logging
from collections import Counter
from datetime import datetime
from typing import Any

from bot import texts
from bot.clock import Clock
from bot.outbox import queue_to_person
from handlers.types import Reply
from storage.uow import UnitOfWork

log = logging.getLogger(__name__)
WARN_AT = (80, 95)
# Bulk traffic (notices, prompts, digests) stops at this share of the quota; the rest is kept for
# replies to people who are talking to the bot.
BULK_SHARE = 0.9


class QuotaTracker:
    """Listen to the sender's outcomes and keep per-month counts for channels with a quota."""

    def __init__(self, session_factory: Any, clock: Clock, quotas: dict[str, int], tz: Any) -> None:
        self.session_factory = session_factory
        self.clock = clock
        self.quotas = {channel: q for channel, q in quotas.items() if q > 0}
        self.tz = tz
        self._sent: dict[tuple[str, str], int] = {}
        self.on_queued: Any = None

    def month(self, now: datetime | None = None) -> str:
        return (now or self.clock.now()).astimezone(self.tz).strftime("%Y-%m")

    def allow_bulk(self, channel: str) -> bool:
        """Tell whether bulk messages may still go out on a channel this month."""
        quota = self.quotas.get(channel)
        if quota is None:
            return True
        return self._sent.get((channel, self.month()), 0) < quota * BULK_SHARE

    async def load(self) -> None:
        """Read this month's counts (at start)."""
        async with UnitOfWork(self.session_factory) as uow:
            for channel in self.quotas:
                row = await uow.usage.get(channel, self.month())
                self._sent[(channel, self.month())] = row.sent if row else 0

    async def on_outcomes(self, outcomes: list[Any]) -> None:
        """Count sent messages and warn admins when a quota reaches 80 % and 95 %."""
        counts = Counter(o.channel for o in outcomes if o.status == "sent" and o.channel in self.quotas)
        if not counts:
            return
        now = self.clock.now()
        month = self.month(now)
        queued = False
        async with UnitOfWork(self.session_factory) as uow:
            for channel, n in counts.items():
                row = await uow.usage.add(channel, month, n)
                self._sent[(channel, month)] = row.sent
                queued |= await self._warn(uow, row, self.quotas[channel], now)
            await uow.commit()
        if queued and self.on_queued:
            self.on_queued()

    async def _warn(self, uow: UnitOfWork, row: Any, quota: int, now: datetime) -> bool:
        percent = row.sent * 100 // quota
        level = max((w for w in WARN_AT if percent >= w), default=0)
        if level <= row.warned_percent:
            return False
        row.warned_percent = level
        log.warning("%s has used %d%% of its monthly quota", row.channel, percent)
        reply = Reply(texts.quota_warning(row.channel, row.sent, quota, level), priority=0)
        for admin in await uow.people.admins():
            await queue_to_person(uow, admin, reply, dedupe=f"quota:{row.channel}:{row.month}:{level}:{admin.id}",
                                  kind="system", now=now)
        return True
