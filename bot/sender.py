"""The sender: drains the outbox of each channel at its rate limit, replies before bulk traffic.

How a row travels. Per channel, a feeder claims due rows in small batches (status ``sending``),
replies (priority 0) first; it looks again at once on ``wake()`` and every ``poll`` seconds even
while bulk rows are buffered, and buffers only about a second of bulk traffic, so a reply never
waits behind a large broadcast. The replies of a batch of handled updates are usually written as
claimed already and handed straight to the sender (``take``), which saves the claim. A dispatcher gives the most urgent ready row to a delivery task
when a concurrency slot and a rate permit are free; bulk rows to a chat that got a message less
than ``per_chat_interval`` ago wait their turn while other chats go ahead. A writer commits the
outcomes in small groups, then calls the listeners with each group.

Errors: HTTP 429 pauses the whole channel for ``retry_after`` and slows it for a while; the row
is sent again afterwards and the attempt is not counted. "Blocked" marks the identity inactive and
fails the row without retry; "rejected" (bad request) fails it. Timeouts, network errors and 5xx
are retried with exponential backoff, then the row fails with the reason after ``max_attempts``.

Crash window. A row is marked ``sent`` only after the platform accepted it, so a crash never loses
a message. A row is *in flight* from the moment its call starts until its outcome is committed,
and a concurrency slot is held for that whole time: at most ``concurrency`` rows per channel
(default 32, ``SENDER_CONCURRENCY``) are in flight in a worker, and every call also takes a rate
permit, so at the platforms' rates only rate × round-trip calls (a handful) are ever in flight;
the full window is reached only in a burst at a high rate, where the writer then records the
outcomes of about that many calls per transaction. After ``kill -9`` they are still ``sending`` and
``requeue_stale`` queues them again on restart; only those can reach a recipient twice (the
platform may have accepted them just before the kill). Rows claimed but not started are queued
again as well, but they were never sent. A timed-out call is the same case: it is retried, and the
platform may have delivered the first attempt.

Several workers may drain one PostgreSQL outbox: claims use ``FOR UPDATE SKIP LOCKED``, a worker
refreshes the claim time of the rows it holds, and takes back rows left by a dead worker after
``STALE_AFTER``. Rate limits and the per-chat spacing are per worker: give each of N workers 1/N
of the channel's rate. Listeners run in the writer after each commit and must return quickly.
"""

from __future__ import annotations

import asyncio
import heapq
import logging
import math
import random
import time
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy.ext.asyncio import async_sessionmaker

from bot.channels import ChannelAdapter
from bot.clock import Clock
from bot.errors import ChannelBlocked, ChannelError, ChannelRateLimited, ChannelRejected
from handlers.types import BUTTONLESS
from storage.repos.outbox import ClaimedRow
from storage.uow import UnitOfWork

log = logging.getLogger(__name__)

BULK_PRIORITY = 1  # rows at or above this are bulk traffic: one per second per chat
STALE_AFTER = timedelta(minutes=2)
HEARTBEAT = 30.0  # seconds between claim-time refreshes of held rows
HOLD_LIMIT = 10.0  # on a longer 429 pause, buffered rows go back to the database
MAX_BATCH_WRITE = 500
COALESCE = 0.002  # seconds the writer waits for outcomes of calls about to finish


class RateLimiter:
    """Evenly spaced permits, never more than ``rate`` in any ``1 + guard`` seconds; 429 pauses the channel.

    The window is measured on the permits actually granted, so a late wake-up never lets ``rate + 1``
    calls into one second; ``guard`` absorbs network jitter on the way (0.02 s keeps 98 % of the
    rate). After a 429 the whole channel waits ``retry_after``, then runs slower for ``recovery``
    seconds, climbing back to the configured rate.
    """

    def __init__(self, rate: float, *, guard: float = 0.02, slowdown: float = 0.9, recovery: float = 10.0) -> None:
        self.rate = rate
        self.guard = guard
        self.slowdown = slowdown
        self.recovery = recovery
        self._factor_after_429 = 1.0
        self._paused_until = 0.0
        self._next_at = 0.0
        self._recent: deque[float] = deque()
        self._lock = asyncio.Lock()

    @property
    def factor(self) -> float:
        """Return the share of the configured rate in use now (below 1 for a while after a 429)."""
        since = time.monotonic() - self._paused_until
        if since <= 0:
            return self._factor_after_429
        return min(1.0, self._factor_after_429 + (1 - self._factor_after_429) * since / self.recovery)

    def pause(self, seconds: float) -> None:
        """Hold every call of the channel for ``seconds`` and resume at a reduced rate."""
        if self.paused_for() <= 0:  # calls already in flight may bring more 429s: slow down once
            self._factor_after_429 = max(0.25, self.factor * self.slowdown)
        self._paused_until = max(self._paused_until, time.monotonic() + seconds)

    def paused_for(self) -> float:
        return max(0.0, self._paused_until - time.monotonic())

    def started(self, granted: float) -> None:
        """Count a permit from when its call really leaves: a busy event loop must not squeeze the window."""
        now = time.monotonic()
        if now - granted <= 0.001:
            return
        # The permit is among the last granted: look from the recent end (the window may hold thousands).
        recent = self._recent
        for i in range(len(recent) - 1, max(-1, len(recent) - 1 - 256), -1):
            if recent[i] == granted:
                recent[i] = now
                return

    async def acquire(self) -> float | None:
        """Wait for the next permit and return its time; return None at once while the channel is paused."""
        async with self._lock:
            while True:
                now = time.monotonic()
                if self._paused_until > now:
                    return None
                rate = self.rate * self.factor
                interval, burst = 1.0 / rate, max(1, math.floor(rate))
                while len(self._recent) > burst:
                    self._recent.popleft()
                slot = max(self._next_at, self._paused_until)
                if len(self._recent) == burst:
                    slot = max(slot, self._recent[0] + 1.0 + self.guard)
                if slot <= now:
                    # Schedule from the slot, not from the late wake-up, so sleep overshoot does not
                    # lower the rate (the window above still holds); after an idle spell start afresh.
                    self._next_at = (slot if now - slot < interval else now) + interval
                    self._recent.append(now)
                    return now
                await asyncio.sleep(slot - now)


@dataclass
class Outcome:
    row_id: int
    status: str  # sent | failed | retry
    message_id: str | None = None
    error: str | None = None
    not_before: datetime | None = None
    identity_id: int | None = None
    blocked: bool = False
    kind: str = ""
    dedupe_key: str = ""
    person_id: int | None = None
    channel: str = ""


Listener = Callable[[list[Outcome]], Any]


def _outcome(row: ClaimedRow, channel: str, status: str, *, message_id: str | None = None, error: str | None = None,
             not_before: datetime | None = None, blocked: bool = False) -> Outcome:
    return Outcome(row.id, status, message_id=message_id, error=error[:300] if error else None, not_before=not_before,
                   identity_id=row.identity_id, blocked=blocked, kind=row.kind, dedupe_key=row.dedupe_key,
                   person_id=row.person_id, channel=channel)


@dataclass
class _Lane:
    """One channel's rows in memory: ready (heap by urgency) and waiting for their chat's turn."""

    name: str
    slots: asyncio.Semaphore
    ready: list[tuple[int, int, ClaimedRow]] = field(default_factory=list)
    waiting: list[tuple[float, int, ClaimedRow]] = field(default_factory=list)
    last_to_chat: dict[str, float] = field(default_factory=dict)
    inflight: dict[int, ClaimedRow] = field(default_factory=dict)
    tasks: set[asyncio.Task[None]] = field(default_factory=set)
    more: bool = True  # the last claim came back full: the database may hold more due rows
    changed: asyncio.Event = field(default_factory=asyncio.Event)
    wake: asyncio.Event = field(default_factory=asyncio.Event)
    done: bool = False
    accepting: bool = False  # new rows may be handed over (``Sender.take``)

    def held_ids(self) -> list[int]:
        return [r.id for *_, r in self.ready] + [r.id for *_, r in self.waiting] + list(self.inflight)

    def push(self, row: ClaimedRow) -> None:
        heapq.heappush(self.ready, (row.priority, row.id, row))

    def buffered(self) -> int:
        return len(self.ready) + len(self.waiting)


class Sender:
    """Drain every channel's outbox; see the module docstring for ordering, errors and the crash window."""

    def __init__(
        self,
        session_factory: async_sessionmaker[Any],
        clock: Clock,
        channels: dict[str, ChannelAdapter],
        rates: dict[str, float],
        *,
        concurrency: int = 32,
        max_attempts: int = 5,
        backoff_base: float = 2.0,
        per_chat_interval: float = 1.0,
        poll: float = 0.25,
        idle_poll: float = 1.0,
        guard: float = 0.02,
        reclaim_stale: bool = True,
    ) -> None:
        self.session_factory = session_factory
        self.clock = clock
        self.channels = channels
        self.rates = {name: rates.get(name, 10.0) for name in channels}
        self.limiters = {name: RateLimiter(self.rates[name], guard=guard) for name in channels}
        self.concurrency = concurrency
        self.max_attempts = max_attempts
        self.backoff_base = backoff_base
        self.per_chat_interval = per_chat_interval + guard  # the same margin against jitter
        self.poll = poll
        self.idle_poll = idle_poll
        self.reclaim_stale = reclaim_stale
        self.listeners: list[Listener] = []
        # Asked before claiming bulk rows for a channel (the quota tracker); None = always allowed.
        self.bulk_allowed: Callable[[str], bool] | None = None
        self.stats = {"sent": 0, "failed": 0, "retried": 0, "rate_limited": 0}
        self._lanes: dict[str, _Lane] = {}
        self._stopping = asyncio.Event()
        self._pending_outcomes: list[tuple[Outcome, dict[str, Any], asyncio.Future[None]]] = []
        self._writer_wake = asyncio.Event()
        self._writer: asyncio.Task[None] | None = None

    # ------------------------------------------------------------------ public API

    def wake(self) -> None:
        """Look for new rows now (a reply was queued)."""
        for lane in self._lanes.values():
            lane.wake.set()

    def room(self, channel: str) -> int:
        """Return how many new reply rows of ``channel`` this sender takes into memory now (``take``)."""
        lane = self._lanes.get(channel)
        if lane is None or not lane.accepting or self._stopping.is_set() or self.limiters[channel].paused_for() > 0:
            return 0
        return max(0, 4 * self._batch(lane) - lane.buffered())

    def take(self, channel: str, rows: list[ClaimedRow]) -> bool:
        """Send rows that were just written as claimed (status ``sending``), as if claimed here.

        Handing the replies of a handled batch straight over saves a claim's round trip through
        the database. Rows are held as claimed rows are, so the crash window is the same. False when
        the channel no longer takes rows (stopping): the caller puts them back in the queue.
        """
        lane = self._lanes.get(channel)
        if lane is None or not lane.accepting or self._stopping.is_set():
            return False
        for row in rows:
            lane.push(row)
        lane.changed.set()
        return True

    async def release(self, rows: list[ClaimedRow]) -> None:
        """Put rows that ``take`` refused back in the queue."""
        await self._safe(self._release([r.id for r in rows], None))

    def stop(self) -> None:
        self._stopping.set()
        for lane in self._lanes.values():
            lane.wake.set()
            lane.changed.set()

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
        self._stopping.clear()
        try:
            await asyncio.gather(*(self._pump(name, until_idle=False) for name in self.channels))
        finally:
            await self._stop_writer()

    async def drain(self, channel: str | None = None) -> int:
        """Send everything due now on one or all channels, then return how many rows were taken."""
        total = 0
        try:
            for name in [channel] if channel else list(self.channels):
                total += await self._pump(name, until_idle=True)
        finally:
            await self._stop_writer()
        return total

    # ------------------------------------------------------------------ one channel

    async def _pump(self, name: str, *, until_idle: bool) -> int:
        lane = _Lane(name, asyncio.Semaphore(self.concurrency), accepting=not until_idle)
        self._lanes[name] = lane
        self._ensure_writer()
        counter = {"taken": 0}
        feeder = asyncio.create_task(self._feed(lane, until_idle, counter), name=f"feed-{name}")
        try:
            await self._dispatch(lane, until_idle)
        finally:
            lane.accepting = False
            # Let the feeder finish its claim rather than cancel it mid-commit (rows would stay claimed).
            lane.wake.set()
            try:
                await asyncio.wait_for(asyncio.shield(feeder), timeout=5.0)
            except Exception:  # noqa: BLE001 - a timeout, or an error it has logged
                feeder.cancel()
            while lane.inflight:
                lane.changed.clear()
                await lane.changed.wait()
            await self._release_buffer(lane, None)
            self._lanes.pop(name, None)
        return counter["taken"]

    async def _feed(self, lane: _Lane, until_idle: bool, counter: dict[str, int]) -> None:
        """Keep about a second of rows in memory, replies first; detect the end of a drain."""
        batch = self._batch(lane)
        last_beat = last_reclaim = time.monotonic()
        while not self._stopping.is_set():
            lane.wake.clear()
            if until_idle and not lane.buffered() and not lane.inflight:
                await self._flush()
            want_bulk = len(lane.ready) < batch // 2 and lane.buffered() < 4 * batch
            try:
                limit = batch if want_bulk else self.concurrency
                got = await self._claim(lane, limit, want_bulk)
                if want_bulk:
                    lane.more = got == limit
            except Exception:  # noqa: BLE001 - a database hiccup must not end the loop
                log.exception("claiming outbox rows failed")
                got = 0
                await asyncio.sleep(1.0)
            counter["taken"] += got
            if until_idle and got == 0 and not lane.buffered() and not lane.inflight and not self._pending_outcomes:
                lane.done = True
                lane.changed.set()
                return
            now = time.monotonic()
            if now - last_beat >= HEARTBEAT:
                last_beat = now
                await self._heartbeat(lane)
            if not until_idle and self.reclaim_stale and now - last_reclaim >= STALE_AFTER.total_seconds() / 2:
                last_reclaim = now
                await self._safe(self.requeue_stale())
            wait = self.poll if (lane.buffered() or lane.inflight or until_idle) else self.idle_poll
            if until_idle:
                wait = min(wait, 0.05)
            try:
                await asyncio.wait_for(lane.wake.wait(), timeout=wait)
            except TimeoutError:
                pass

    async def _claim(self, lane: _Lane, limit: int, bulk: bool) -> int:
        if bulk and self.bulk_allowed is not None and not self.bulk_allowed(lane.name):
            bulk = False  # the channel's monthly quota is nearly used up: keep it for replies
        async with UnitOfWork(self.session_factory) as uow:
            rows = await uow.outbox.claim(lane.name, self.clock.now(), limit, max_priority=None if bulk else 0)
            await uow.commit()
        for row in rows:
            lane.push(row)
        if rows:
            lane.changed.set()
        return len(rows)

    async def _dispatch(self, lane: _Lane, until_idle: bool) -> None:
        limiter = self.limiters[lane.name]
        while not self._stopping.is_set():
            if until_idle and lane.done and not lane.buffered() and not lane.inflight:
                return
            if not self._has_ready(lane):
                lane.changed.clear()
                timeout = self._next_turn(lane)
                try:
                    await asyncio.wait_for(lane.changed.wait(), timeout=timeout)
                except TimeoutError:
                    pass
                continue
            await lane.slots.acquire()
            granted = await limiter.acquire()
            if granted is None:  # paused by a 429: wait, but stay responsive
                lane.slots.release()
                lane.changed.clear()
                try:
                    await asyncio.wait_for(lane.changed.wait(), timeout=limiter.paused_for())
                except TimeoutError:
                    pass
                continue
            row = self._pop_ready(lane)  # the most urgent row now, maybe a reply that came meanwhile
            if row is None or self._stopping.is_set():
                if row is not None:
                    lane.push(row)
                lane.slots.release()
                continue
            self._note_chat(lane, row.chat_id)
            lane.inflight[row.id] = row
            task = asyncio.create_task(self._deliver(lane, row, granted))
            lane.tasks.add(task)
            task.add_done_callback(lane.tasks.discard)
            if lane.more and len(lane.ready) < self._batch(lane) // 2:
                lane.wake.set()

    def _batch(self, lane: _Lane) -> int:
        return max(2 * self.concurrency, math.ceil(self.rates[lane.name]))

    def _note_chat(self, lane: _Lane, chat_id: str) -> None:
        now = time.monotonic()
        if len(lane.last_to_chat) > 10_000:
            old = now - self.per_chat_interval
            lane.last_to_chat = {c: t for c, t in lane.last_to_chat.items() if t > old}
        lane.last_to_chat[chat_id] = now

    def _has_ready(self, lane: _Lane) -> bool:
        row = self._pop_ready(lane)
        if row is None:
            return False
        lane.push(row)
        return True

    def _pop_ready(self, lane: _Lane) -> ClaimedRow | None:
        """Return the most urgent row that may go now; bulk rows wait for their chat's turn."""
        now = time.monotonic()
        while lane.waiting and lane.waiting[0][0] <= now:
            lane.push(heapq.heappop(lane.waiting)[2])
        while lane.ready:
            _, _, row = heapq.heappop(lane.ready)
            turn = lane.last_to_chat.get(row.chat_id, -math.inf) + self.per_chat_interval
            if row.priority < BULK_PRIORITY or turn <= now:
                return row
            heapq.heappush(lane.waiting, (turn, row.id, row))
        return None

    def _next_turn(self, lane: _Lane) -> float:
        if lane.waiting:
            return max(0.001, lane.waiting[0][0] - time.monotonic())
        return self.poll

    # ------------------------------------------------------------------ one row

    async def _deliver(self, lane: _Lane, row: ClaimedRow, granted: float) -> None:
        try:
            outcome = await self._send_one(lane.name, row, granted)
            if outcome is None:  # rate limited: back in memory, sent after the pause
                await self._after_429(lane, row)
            else:
                await self._record(outcome, row)
        except Exception:  # noqa: BLE001 - never leave a slot taken
            log.exception("delivering outbox row %s failed unexpectedly", row.id)
        finally:
            lane.inflight.pop(row.id, None)
            lane.slots.release()
            lane.changed.set()

    async def _send_one(self, name: str, row: ClaimedRow, granted: float) -> Outcome | None:
        adapter, limiter = self.channels[name], self.limiters[name]
        limiter.started(granted)
        try:
            message_id = await adapter.deliver(row.chat_id, row.payload)
            return _outcome(row, name, "sent", message_id=message_id)
        except ChannelRateLimited as exc:
            limiter.pause(exc.retry_after)
            self.stats["rate_limited"] += 1
            return None
        except ChannelBlocked as exc:
            return _outcome(row, name, "failed", error=f"blocked: {exc.description}", blocked=True)
        except ChannelRejected as exc:
            return _outcome(row, name, "failed", error=f"rejected: {exc.description}")
        except ChannelError as exc:
            return self._retry_or_fail(row, name, f"unavailable: {exc.description}")
        except Exception as exc:  # noqa: BLE001 - an adapter bug must not lose the row
            log.exception("adapter %s failed on outbox row %s", name, row.id)
            return self._retry_or_fail(row, name, f"error: {type(exc).__name__}")

    def _retry_or_fail(self, row: ClaimedRow, name: str, error: str) -> Outcome:
        if row.attempts + 1 >= self.max_attempts:
            return _outcome(row, name, "failed", error=error)
        delay = self.backoff_base ** (row.attempts + 1) * (0.5 + random.random())
        return _outcome(row, name, "retry", error=error, not_before=self.clock.now() + timedelta(seconds=delay))

    async def _after_429(self, lane: _Lane, row: ClaimedRow) -> None:
        pause = self.limiters[lane.name].paused_for()
        lane.push(row)
        if pause > HOLD_LIMIT:
            # A long flood wait: let the rows go rather than hold them (another worker may be free).
            await self._release_buffer(lane, self.clock.now() + timedelta(seconds=pause))

    async def _release_buffer(self, lane: _Lane, not_before: datetime | None) -> None:
        ids = [r.id for *_, r in lane.ready] + [r.id for *_, r in lane.waiting]
        lane.ready.clear()
        lane.waiting.clear()
        if ids:
            await self._safe(self._release(ids, not_before))

    async def _release(self, ids: list[int], not_before: datetime | None) -> None:
        async with UnitOfWork(self.session_factory) as uow:
            await uow.outbox.release(ids, not_before)
            await uow.commit()

    async def _heartbeat(self, lane: _Lane) -> None:
        async def touch() -> None:
            async with UnitOfWork(self.session_factory) as uow:
                await uow.outbox.touch(lane.held_ids(), self.clock.now())
                await uow.commit()

        await self._safe(touch())

    async def _safe(self, coro: Any) -> Any:
        try:
            return await coro
        except Exception:  # noqa: BLE001 - housekeeping must not stop the sender
            log.exception("outbox housekeeping failed")
            return None

    # ------------------------------------------------------------------ outcomes

    async def _record(self, outcome: Outcome, row: ClaimedRow) -> None:
        """Queue an outcome for the writer and wait until it is committed (the row stays in flight)."""
        now = self.clock.now()
        values: dict[str, Any] = {"id": row.id, "error": outcome.error, "message_id": outcome.message_id,
                                  "attempts": row.attempts + 1}
        if outcome.status == "retry":
            values.update(status="pending", not_before=outcome.not_before, claimed_at=None, sent_at=None)
        else:
            values.update(status=outcome.status, not_before=row.not_before, claimed_at=row.claimed_at, sent_at=now)
        if outcome.status == "sent" and row.payload.get("buttons") and outcome.channel in BUTTONLESS:
            values["_menu"] = [b["payload"] for line in row.payload["buttons"] for b in line]
        future: asyncio.Future[None] = asyncio.get_running_loop().create_future()
        self._pending_outcomes.append((outcome, values, future))
        self._writer_wake.set()
        await future

    def _ensure_writer(self) -> None:
        if self._writer is None or self._writer.done():
            self._writer = asyncio.create_task(self._write_loop(), name="outbox-writer")

    async def _flush(self) -> None:
        """Wait until every outcome handed to the writer is committed."""
        pending = [future for *_, future in self._pending_outcomes]
        if pending:
            await asyncio.gather(*pending, return_exceptions=True)

    async def _stop_writer(self) -> None:
        await self._flush()
        if self._writer is not None:
            self._writer.cancel()
            await asyncio.gather(self._writer, return_exceptions=True)
            self._writer = None

    async def _write_loop(self) -> None:
        while True:
            await self._writer_wake.wait()
            self._writer_wake.clear()
            if self._in_call() > 0:
                # Calls still under way finish within moments: one commit for their outcomes too
                # costs less than one each. Their slots stay held meanwhile, so the window is unchanged.
                await asyncio.sleep(COALESCE)
            while self._pending_outcomes:
                group = self._pending_outcomes[:MAX_BATCH_WRITE]
                try:
                    await self._write(group)
                except Exception:  # noqa: BLE001 - keep the outcomes and try again
                    log.exception("recording %d outbox outcomes failed; retrying", len(group))
                    await asyncio.sleep(0.5)
                    continue
                del self._pending_outcomes[:len(group)]
                for _, _, future in group:
                    if not future.done():
                        future.set_result(None)
                await self._notify([o for o, _, _ in group])

    def _in_call(self) -> int:
        """Return how many deliveries are waiting on the platform (not yet on the writer)."""
        return sum(len(lane.inflight) for lane in self._lanes.values()) - len(self._pending_outcomes)

    async def _write(self, group: list[tuple[Outcome, dict[str, Any], asyncio.Future[None]]]) -> None:
        now = self.clock.now()
        async with UnitOfWork(self.session_factory) as uow:
            await uow.outbox.record([{k: v for k, v in values.items() if k != "_menu"} for _, values, _ in group])
            for outcome, values, _ in group:
                if outcome.blocked and outcome.identity_id:
                    await uow.people.deactivate_identity(outcome.identity_id)
                if values.get("_menu") and outcome.identity_id:
                    # On numbered channels the choices count from the message the person saw last.
                    await uow.people.set_menu(outcome.identity_id, values["_menu"], now)
            await uow.commit()
        for outcome, _, _ in group:
            self.stats[{"sent": "sent", "failed": "failed"}.get(outcome.status, "retried")] += 1

    async def _notify(self, outcomes: list[Outcome]) -> None:
        for listener in self.listeners:
            try:
                res = listener(outcomes)
                if asyncio.iscoroutine(res):
                    await res
            except Exception:  # noqa: BLE001
                log.exception("outbox listener failed")
