"""Long-polling loop for the Zalo Bot API with a poll floor, de-duplication and backoff."""

from __future__ import annotations

import asyncio
import logging
import random
import time
from collections import OrderedDict
from collections.abc import Awaitable, Callable, Coroutine
from contextlib import suppress
from typing import Any, Protocol, TypeVar

from bot.errors import ChannelRateLimited, ChannelUnavailable

logger = logging.getLogger(__name__)

T = TypeVar("T")
_MAX_DOUBLINGS = 32  # beyond this the backoff is long capped anyway; avoids float overflow


class PollingClient(Protocol):
    """The part of ZaloClient the poller needs."""

    async def delete_webhook(self) -> Any: ...

    async def get_updates(self, timeout: float = 30) -> Any: ...  # noqa: ASYNC109 (server-side hold)


class ZaloPoller:
    """Fetch updates one at a time and hand each new one to `on_update`."""

    def __init__(
        self,
        client: PollingClient,
        on_update: Callable[[Any], Awaitable[None]],
        *,
        poll_timeout: float = 30,
        min_interval: float = 1.0,
        dedupe_size: int = 10_000,
        max_backoff: float = 60,
        initial_backoff: float = 1.0,
    ) -> None:
        self._client = client
        self._on_update = on_update
        self._poll_timeout = poll_timeout
        self._min_interval = min_interval
        self._dedupe_size = dedupe_size
        self._max_backoff = max_backoff
        self._initial_backoff = initial_backoff
        self._seen: OrderedDict[str, None] = OrderedDict()
        self._failures = 0
        self._stop = asyncio.Event()

    def stop(self) -> None:
        """Ask run() to return; an in-flight long poll is abandoned."""
        self._stop.set()

    async def run(self) -> None:
        """Poll until stop(); ChannelRejected (bad token, webhook set elsewhere) ends the loop."""
        # Webhook mode and getUpdates are exclusive: clear any webhook once before polling.
        if not await self._retry_until_done(self._client.delete_webhook):
            return
        next_poll = 0.0
        while not self._stop.is_set():
            await self._sleep(next_poll - time.monotonic())
            if self._stop.is_set():
                break
            # The platform may answer at once (and replay), so a floor keeps us from spinning.
            next_poll = time.monotonic() + self._min_interval
            await self._poll_once()

    async def _poll_once(self) -> None:
        """Fetch one update and deliver it, backing off on transient failures."""
        try:
            finished, update = await self._unless_stopped(
                self._client.get_updates(timeout=self._poll_timeout)
            )
        except (ChannelUnavailable, ChannelRateLimited) as exc:
            await self._sleep(self._backoff(exc))
            return
        self._failures = 0
        if finished and update is not None:
            await self._deliver(update)

    async def _retry_until_done(self, call: Callable[[], Coroutine[Any, Any, Any]]) -> bool:
        """Run call until it succeeds, backing off on transient errors; False if stopped first."""
        while not self._stop.is_set():
            try:
                finished, _ = await self._unless_stopped(call())
            except (ChannelUnavailable, ChannelRateLimited) as exc:
                await self._sleep(self._backoff(exc))
                continue
            self._failures = 0
            return finished
        return False

    async def _deliver(self, update: Any) -> None:
        """Pass a not-yet-seen update to on_update; remember it only once that succeeded."""
        key = _dedupe_key(update)
        if key is not None and key in self._seen:
            self._seen.move_to_end(key)
            logger.debug("skipping replayed zalo message %s", key)
            return
        try:
            await self._on_update(update)
        except Exception:
            # Keep polling: one bad update must not stop everyone else's messages.
            logger.exception("on_update failed for zalo message %s", key)
            return
        if key is not None:
            self._remember(key)

    def _remember(self, key: str) -> None:
        """Add a message id to the bounded LRU of seen ids."""
        self._seen[key] = None
        while len(self._seen) > self._dedupe_size:
            self._seen.popitem(last=False)

    def _backoff(self, exc: Exception) -> float:
        """Return the next wait: exponential with equal jitter, honouring a retry hint up to max_backoff."""
        self._failures += 1
        step = min(self._max_backoff, self._initial_backoff * 2 ** min(self._failures - 1, _MAX_DOUBLINGS))
        # Equal jitter: spreads restarts apart while every wait stays at least half the step.
        delay = step / 2 + random.uniform(0, step / 2)
        if isinstance(exc, ChannelRateLimited):
            delay = max(delay, min(exc.retry_after, self._max_backoff))
        logger.warning("zalo polling failed (%s); retrying in %.1f s", exc, delay)
        return delay

    async def _sleep(self, delay: float) -> None:
        """Wait for `delay` seconds or until stop(), whichever comes first."""
        if delay <= 0:
            return
        with suppress(TimeoutError):
            await asyncio.wait_for(self._stop.wait(), delay)

    async def _unless_stopped(self, coro: Coroutine[Any, Any, T]) -> tuple[bool, T | None]:
        """Await coro unless stop() comes first; return (finished, result)."""
        task = asyncio.ensure_future(coro)
        stopper = asyncio.ensure_future(self._stop.wait())
        try:
            await asyncio.wait({task, stopper}, return_when=asyncio.FIRST_COMPLETED)
        finally:
            stopper.cancel()
            task.cancel()  # no-op when it already finished
        if task.done() and not task.cancelled():
            return True, task.result()
        return False, None


def _dedupe_key(update: Any) -> str | None:
    """Return the update's message id, or None when the update is malformed."""
    message = update.get("message") if isinstance(update, dict) else None
    message_id = message.get("message_id") if isinstance(message, dict) else None
    return str(message_id) if message_id else None
