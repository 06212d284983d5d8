"""The inbound path: store each raw update in the inbox, handle it once, queue the replies in the outbox."""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from sqlalchemy.ext.asyncio import async_sessionmaker

from bot.outbox import queue_replies
from handlers.context import Ctx, Services
from handlers.router import dispatch
from handlers.types import Incoming, Result
from storage.uow import UnitOfWork

log = logging.getLogger(__name__)

Parser = Callable[[dict[str, Any]], Incoming | None]
MAX_ATTEMPTS = 5


@dataclass
class Handled:
    """What the adapter still has to do after the commit: answer a button press, refresh a menu."""

    incoming: Incoming | None
    result: Result


class Pipeline:
    """Inbox → handler → outbox, each update in one transaction."""

    def __init__(
        self,
        session_factory: async_sessionmaker[Any],
        services: Services,
        parsers: dict[str, Parser],
        on_queued: Callable[[], None] | None = None,
    ) -> None:
        self.session_factory = session_factory
        self.services = services
        self.parsers = parsers
        self.on_queued = on_queued

    async def ingest(self, channel: str, update_key: str, payload: dict[str, Any]) -> int | None:
        """Store a raw update durably; None means it was stored before (a redelivery)."""
        async with UnitOfWork(self.session_factory) as uow:
            item_id = await uow.inbox.store(channel, update_key, payload, self.services.clock.now())
            await uow.commit()
        return item_id

    async def receive(self, channel: str, update_key: str, payload: dict[str, Any]) -> Handled | None:
        """Store then handle one update; a redelivered update does nothing."""
        item_id = await self.ingest(channel, update_key, payload)
        if item_id is None:
            return None
        return await self.process(item_id)

    async def process(self, item_id: int) -> Handled | None:
        """Handle one stored update exactly once; on failure count the attempt and keep it for retry."""
        try:
            return await self._process(item_id)
        except Exception as exc:  # noqa: BLE001 - one bad update must not stop the bot
            # Log the type only: the exception text could quote the report.
            log.exception("handling inbox item %s failed (%s)", item_id, type(exc).__name__)
            async with UnitOfWork(self.session_factory) as uow:
                await uow.inbox.mark_failed(item_id, type(exc).__name__, self.services.clock.now(), MAX_ATTEMPTS)
                await uow.commit()
            return None

    async def _process(self, item_id: int) -> Handled | None:
        async with UnitOfWork(self.session_factory) as uow:
            item = await uow.inbox.claim(item_id)
            if item is None:
                return None
            now = self.services.clock.now()
            parser = self.parsers.get(item.channel)
            msg = parser(item.payload or {}) if parser else None
            result = Result()
            if msg is not None:
                ctx = Ctx(uow=uow, services=self.services, msg=msg, now=now)
                result = await dispatch(ctx)
                await queue_replies(
                    uow, msg, result.replies, f"r:{item.channel}:{item.update_key}", now, ctx.identity
                )
            await uow.inbox.mark_done(item, now)
            await uow.commit()
        if result.replies and self.on_queued:
            self.on_queued()
        return Handled(msg, result)

    async def retry_unhandled(self) -> int:
        """Handle updates stored before a crash or restart; return how many were handled."""
        async with UnitOfWork(self.session_factory) as uow:
            ids = await uow.inbox.unhandled_ids()
        done = 0
        for item_id in ids:
            done += (await self.process(item_id)) is not None
        return done
