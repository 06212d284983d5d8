"""The sender: drains the outbox of each channel at its rate limit, replies before bulk traffic.

Delivery guarantee: a row is claimed (status ``sending``) before the call and marked ``sent`` after it.
A crash between the two leaves the row ``sending``; on start it is queued again, so at most the
rows in flight at the moment of the crash (``concurrency`` per channel) can be delivered twice.
"""

from __future__ import annotations

import asyncio
import logging
import random
import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy.ext.asyncio import async_sessionmaker

from bot.channels import ChannelAdapter
from bot.clock import Clock
from bot.errors import ChannelBlocked, ChannelError, ChannelRateLimited, ChannelRejected, ChannelUnavailable
from storage.models import OutboxItem
from storage.uow import UnitOfWork

log = logging.getLogger(__name__)

BULK_PRIORITY = 1  # rows at or above this are bulk traffic: one per second per chat
STALE_AFTER = timedelta(minutes=2)


class RateLimiter:
    """Evenly spaced permits (no burst) with a pause that holds back the whole channel."""

    def __init__(self, rate: float) -> None:
        self.interval = 1.0 / rate
        self._next_at = 0.0
        self._paused_until = 0.0
        self._lock = asyncio.Lock()

    def pause(self, seconds: float) -> None:
        self._paused_until = max(self._paused_until, time.monotonic() + seconds)

    async def acquire(self) -> None:
        async with self._lock:
            while True:
                now = time.monotonic()
                at = max(self._next_at, self._paused_until, now)
                if at <= now:
                    self._next_at = now + self.interval
                    return
                await asyncio.sleep(at - now)


@dataclass
class Outcome:
    row_id: int
    status: str  # sent | failed | retry
    message_id: str | None = None
    error: str | None = None
    not_before: datetime | None = None
    identity_id: int | None = None
    blocked: bool = False


Listener = Callable[[list[Outcome]], Any]


class Sender:
    """One drain loop per channel; outcomes are written in small batches."""

    def __init__(
        self,
        session_factory: async_sessionmaker[Any],
        clock: Clock,
        channels: dict[str, ChannelAdapter],
        rates: dict[str, float],
        *,
        concurrency: int = 8,
        max_attempts: int = 5,
        backoff_base: float = 2.0,
    ) -> None:
        self.session_factory = session_factory
        self.clock = clock
        self.channels = channels
        self.limiters = {name: RateLimiter(rates.get(name, 10.0)) for name in channels}
        self.concurrency = concurrency
        self.max_attempts = max_attempts
        self.backoff_base = backoff_base
        self.listeners: list[Listener] = []
        self._wake = {name: asyncio.Event() for name in channels}
        self._last_bulk_send: dict[tuple[str, str], float] = {}
        self._stopping = asyncio.Event()
        self.stats = {"sent": 0, "failed": 0, "retried": 0, "rate_limited": 0}

    def wake(self) -> None:
        for event in self._wake.values():
            event.set()

    async def requeue_stale(self, older_than: timedelta = STALE_AFTER) -> int:
        """Queue again rows left in flight by a crashed process (claimed longer ago than ``older_than``).

        A single process calls this with zero at start; workers sharing PostgreSQL use the default so
        that they never take back rows a live worker is still sending.
        """
        async with UnitOfWork(self.session_factory) as uow:
            count = await uow.outbox.requeue_stale(self.clock.now() - older_than)
            await uow.commit()
        if count:
            log.warning("requeued %d outbox rows left in flight by a previous run", count)
        return count

    async def run(self) -> None:
        """Drain every channel until ``stop()``."""
        await asyncio.gather(*(self._run_channel(name) for name in self.channels))

    def stop(self) -> None:
        self._stopping.set()
        self.wake()

    async def drain(self, channel: str | None = None) -> int:
        """Send everything due now on one or all channels, then return (for CLI runs and tests)."""
        total = 0
        for name in [channel] if channel else list(self.channels):
            while batch := await self._claim(name):
                total += len(batch)
                await self._send_batch(name, batch)
        return total

    async def _run_channel(self, name: str) -> None:
        wake = self._wake[name]
        while not self._stopping.is_set():
            wake.clear()
            try:
                batch = await self._claim(name)
            except Exception:  # noqa: BLE001 - a database hiccup must not end the loop
                log.exception("claiming outbox rows failed")
                batch = []
            if batch:
                await self._send_batch(name, batch)
                continue
            try:
                await asyncio.wait_for(wake.wait(), timeout=1.0)
            except TimeoutError:
                pass

    async def _claim(self, name: str) -> list[OutboxItem]:
        async with UnitOfWork(self.session_factory) as uow:
            rows = list(await uow.outbox.claim(name, self.clock.now(), self.concurrency))
            await uow.commit()
        return rows

    async def _send_batch(self, name: str, batch: list[OutboxItem]) -> None:
        outcomes = await asyncio.gather(*(self._send_one(name, row) for row in batch))
        await self._record(list(outcomes))

    async def _send_one(self, name: str, row: OutboxItem) -> Outcome:
        adapter, limiter = self.channels[name], self.limiters[name]
        if row.priority >= BULK_PRIORITY:
            await self._space_chat(name, row.chat_id)
        await limiter.acquire()
        try:
            message_id = await adapter.deliver(row.chat_id, row.payload)
            return Outcome(row.id, "sent", message_id=message_id)
        except ChannelRateLimited as exc:
            limiter.pause(exc.retry_after)
            self.stats["rate_limited"] += 1
            wait = timedelta(seconds=exc.retry_after)
            return Outcome(row.id, "retry", error="rate limited", not_before=self.clock.now() + wait)
        except ChannelBlocked as exc:
            return Outcome(row.id, "failed", error=f"blocked: {exc.description}"[:300],
                           identity_id=row.identity_id, blocked=True)
        except ChannelRejected as exc:
            return Outcome(row.id, "failed", error=f"rejected: {exc.description}"[:300])
        except (ChannelUnavailable, ChannelError) as exc:
            return self._retry_or_fail(row, f"unavailable: {exc.description}")
        except Exception as exc:  # noqa: BLE001 - an adapter bug must not lose the row
            log.exception("adapter %s failed on outbox row %s", name, row.id)
            return self._retry_or_fail(row, f"error: {type(exc).__name__}")

    def _retry_or_fail(self, row: OutboxItem, error: str) -> Outcome:
        if row.attempts + 1 >= self.max_attempts:
            return Outcome(row.id, "failed", error=error[:300])
        delay = self.backoff_base ** (row.attempts + 1) * (0.5 + random.random())
        return Outcome(row.id, "retry", error=error[:300], not_before=self.clock.now() + timedelta(seconds=delay))

    async def _space_chat(self, name: str, chat_id: str) -> None:
        key = (name, chat_id)
        last = self._last_bulk_send.get(key, 0.0)
        wait = last + 1.0 - time.monotonic()
        self._last_bulk_send[key] = max(last + 1.0, time.monotonic())
        if wait > 0:
            await asyncio.sleep(wait)
        if len(self._last_bulk_send) > 50_000:
            self._last_bulk_send.clear()

    async def _record(self, outcomes: list[Outcome]) -> None:
        now = self.clock.now()
        async with UnitOfWork(self.session_factory) as uow:
            for o in outcomes:
                row = await uow.outbox.get(o.row_id)
                if row is None:
                    continue
                row.error = o.error
                if o.status == "retry":
                    row.status, row.not_before, row.claimed_at = "pending", o.not_before, None
                    row.attempts += 0 if o.error == "rate limited" else 1
                    self.stats["retried"] += 1
                    continue
                row.attempts += 1
                row.status, row.sent_at = o.status, now
                row.message_id = o.message_id
                self.stats["sent" if o.status == "sent" else "failed"] += 1
                if o.blocked and o.identity_id:
                    await uow.people.deactivate_identity(o.identity_id)
            await uow.commit()
        for listener in self.listeners:
            try:
                res = listener(outcomes)
                if asyncio.iscoroutine(res):
                    await res
            except Exception:  # noqa: BLE001
                log.exception("outbox listener failed")
