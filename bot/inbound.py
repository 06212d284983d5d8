"""Shared inbound handling for every channel: store first, then handle in arrival order per chat."""

from __future__ import annotations

import asyncio
from collections import defaultdict
from collections.abc import Awaitable, Callable
from typing import Any

from bot.pipeline import Handled, Pipeline

AfterCommit = Callable[[Handled], Awaitable[None]]


class Inbound:
    """Accept raw updates of one channel; each is durably stored before this returns."""

    def __init__(self, channel: str, pipeline: Pipeline, after: AfterCommit | None = None) -> None:
        self.channel = channel
        self.pipeline = pipeline
        self.after = after
        self._chat_locks: defaultdict[str, asyncio.Lock] = defaultdict(asyncio.Lock)
        self._tasks: set[asyncio.Task[None]] = set()

    async def accept(self, update_key: str, chat_key: str, payload: dict[str, Any]) -> bool:
        """Store a raw update and handle it in the background; False means it was a duplicate."""
        item_id = await self.pipeline.ingest(self.channel, update_key, payload)
        if item_id is None:
            return False
        task = asyncio.create_task(self._handle(item_id, chat_key))
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)
        return True

    async def _handle(self, item_id: int, chat_key: str) -> None:
        # One chat's updates are handled in the order they arrived (asyncio locks are FIFO).
        async with self._chat_locks[chat_key]:
            handled = await self.pipeline.process(item_id)
        if len(self._chat_locks) > 10_000:
            busy = {k: v for k, v in self._chat_locks.items() if v.locked()}
            self._chat_locks = defaultdict(asyncio.Lock, busy)
        if handled is not None and self.after is not None:
            await self.after(handled)

    async def drain(self) -> None:
        """Wait until every accepted update has been handled."""
        while self._tasks:
            await asyncio.gather(*list(self._tasks), return_exceptions=True)
