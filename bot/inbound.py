"""Shared inbound handling for every channel: store first, then handle in batches, in order per chat.

Storing: ``accept`` and ``accept_many`` return once their updates are in the inbox. Updates that
arrive while a write is under way are written together by the next one, so a burst costs a few
transactions instead of one per update.

Handling: stored updates wait in arrival order and are handled in batches of up to ``max_batch``
(see ``Pipeline.process_batch``). A batch takes at most one update per chat, and a chat's next
update waits until the batch with its previous one is committed and its after-commit actions are
done, so every chat sees its updates handled in the order it sent them. ``workers`` batches may
run at once (one for SQLite, whose single connection serialises them anyway).
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable, Sequence
from typing import Any

from bot.pipeline import Handled, Pipeline

log = logging.getLogger(__name__)
AfterCommit = Callable[[Handled], Awaitable[None]]
MAX_STORE = 500  # updates per inbox write


class Inbound:
    """Accept raw updates of one channel; each is durably stored before ``accept`` returns."""

    def __init__(self, channel: str, pipeline: Pipeline, after: AfterCommit | None = None, *,
                 max_batch: int = 100, workers: int = 1) -> None:
        self.channel = channel
        self.pipeline = pipeline
        self.after = after
        self.max_batch = max_batch
        self.workers = workers
        self._to_store: list[tuple[str, str, dict[str, Any], asyncio.Future[bool]]] = []
        # Stored, not handled yet: (inbox id, chat key, content), the content kept so as not to read it back.
        self._waiting: list[tuple[int, str, dict[str, Any]]] = []
        self._busy: set[str] = set()  # chats with an update in a running batch
        self._running = 0
        self._batches: set[asyncio.Task[None]] = set()
        self._wake_store = asyncio.Event()
        self._wake_handle = asyncio.Event()
        self._idle = asyncio.Event()
        self._idle.set()
        self._loops: list[asyncio.Task[None]] = []

    async def accept(self, update_key: str, chat_key: str, payload: dict[str, Any]) -> bool:
        """Store a raw update and handle it in the background; False means it was a duplicate."""
        return (await self.accept_many([(update_key, chat_key, payload)]))[0]

    async def accept_many(self, updates: Sequence[tuple[str, str, dict[str, Any]]]) -> list[bool]:
        """Store raw updates (key, chat key, payload) and handle them in the background.

        Returns, for each, whether it was new; raises if the inbox could not be written.
        """
        self._start()
        loop = asyncio.get_running_loop()
        futures = []
        for key, chat, payload in updates:
            future: asyncio.Future[bool] = loop.create_future()
            self._to_store.append((key, chat, payload, future))
            futures.append(future)
        self._idle.clear()
        self._wake_store.set()
        return list(await asyncio.gather(*futures))

    async def drain(self) -> None:
        """Wait until every accepted update has been handled."""
        while not self._idle.is_set():
            await self._idle.wait()
            await asyncio.sleep(0)  # let a write that just finished hand over its updates

    async def close(self) -> None:
        """Handle what was accepted, then stop."""
        await self.drain()
        for task in self._loops:
            task.cancel()
        await asyncio.gather(*self._loops, return_exceptions=True)
        self._loops = []

    # ------------------------------------------------------------------ internals

    def _start(self) -> None:
        if not self._loops:
            self._loops = [
                asyncio.create_task(self._store_loop(), name=f"inbox-{self.channel}"),
                asyncio.create_task(self._handle_loop(), name=f"handle-{self.channel}"),
            ]

    def _check_idle(self) -> None:
        if not self._to_store and not self._waiting and self._running == 0 and not self._batches:
            self._idle.set()

    async def _store_loop(self) -> None:
        while True:
            await self._wake_store.wait()
            self._wake_store.clear()
            while self._to_store:
                group, self._to_store = self._to_store[:MAX_STORE], self._to_store[MAX_STORE:]
                try:
                    ids = await self.pipeline.ingest_many(self.channel, [(key, payload) for key, _, payload, _ in group])
                except Exception as exc:  # noqa: BLE001 - the callers learn it and the updates come again
                    log.exception("storing %d %s updates failed (%s)", len(group), self.channel, type(exc).__name__)
                    for *_, future in group:
                        if not future.done():
                            future.set_exception(exc)
                    continue
                for key, chat, payload, future in group:
                    item_id = ids.pop(key, None)  # pop: a key repeated in the group is new only once
                    if item_id is not None:
                        self._waiting.append((item_id, chat, payload))
                    if not future.done():
                        future.set_result(item_id is not None)
                self._wake_handle.set()
            self._check_idle()

    async def _handle_loop(self) -> None:
        while True:
            await self._wake_handle.wait()
            self._wake_handle.clear()
            while self._running < self.workers:
                batch = self._next_batch()
                if not batch:
                    break
                self._running += 1
                task = asyncio.create_task(self._run_batch(batch))
                self._batches.add(task)
                task.add_done_callback(self._batch_done)
            self._check_idle()

    def _next_batch(self) -> list[tuple[int, str, dict[str, Any]]]:
        """Take up to max_batch waiting updates in arrival order, one per chat, none of a busy chat."""
        batch: list[tuple[int, str, dict[str, Any]]] = []
        rest: list[tuple[int, str, dict[str, Any]]] = []
        taken: set[str] = set()
        for entry in self._waiting:
            chat = entry[1]
            if len(batch) < self.max_batch and chat not in self._busy and chat not in taken:
                batch.append(entry)
            else:
                rest.append(entry)
            taken.add(chat)  # a chat's later updates wait behind its earlier ones
        self._waiting = rest
        self._busy.update(chat for _, chat, _ in batch)
        return batch

    def _batch_done(self, task: asyncio.Task[None]) -> None:
        self._batches.discard(task)
        self._check_idle()

    async def _run_batch(self, batch: list[tuple[int, str, dict[str, Any]]]) -> None:
        chats = {chat for _, chat, _ in batch}
        try:
            try:
                handled = await self.pipeline.process_batch([item_id for item_id, _, _ in batch],
                                                            {item_id: payload for item_id, _, payload in batch})
            finally:
                self._running -= 1
                self._wake_handle.set()  # the next batch may start while the actions below run
            if self.after is not None:
                results = await asyncio.gather(*(self.after(h) for h in handled), return_exceptions=True)
                for result in results:
                    if isinstance(result, Exception):
                        log.warning("after-commit action failed (%s)", type(result).__name__)
        finally:
            self._busy -= chats
            self._wake_handle.set()
