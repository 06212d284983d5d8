"""The outbox sender: order, rate limits, 429, blocked users, retries, crash resume and two workers."""

from __future__ import annotations

import asyncio
import os
import signal
import time
from collections import Counter
from datetime import timedelta
from typing import Any

import pytest
from aiogram import Bot
from aiogram.client.session.aiohttp import AiohttpSession
from aiogram.client.telegram import TelegramAPIServer
from sqlalchemy import select

from bench.broadcast import start_worker, worker_command, worker_events
from bot.errors import ChannelRateLimited, ChannelUnavailable
from bot.sandbox.fake_telegram import FakeTelegramServer
from bot.sender import Outcome, RateLimiter, Sender
from bot.telegram.channel import TelegramChannel
from storage.models import Identity, OutboxItem
from storage.repos.outbox import OutboxRepo
from tests.conftest import USE_PG
from tests.harness import Harness


@pytest.fixture
async def server():
    async with FakeTelegramServer() as srv:
        yield srv


@pytest.fixture
async def channel(server: FakeTelegramServer):
    bot = Bot(server.token, session=AiohttpSession(api=TelegramAPIServer.from_base(server.base_url)))
    yield TelegramChannel(bot)
    await bot.session.close()


class FakeChannel:
    """An in-memory adapter: records deliveries, raises scripted errors per chat."""

    def __init__(self, name: str = "telegram") -> None:
        self.name = name
        self.sent: list[tuple[str, dict[str, Any]]] = []
        self.errors: dict[str, list[Exception]] = {}

    async def deliver(self, chat_id: str, payload: dict[str, Any]) -> str | None:
        await asyncio.sleep(0)
        if self.errors.get(chat_id):
            raise self.errors[chat_id].pop(0)
        self.sent.append((chat_id, payload))
        return str(len(self.sent))


async def queue(h: Harness, chat_ids: list[int], *, priority: int, prefix: str, channel: str = "telegram",
                buttons: list[list[dict[str, str]]] | None = None) -> None:
    async with h.uow() as uow:
        for chat in chat_ids:
            ident = await uow.people.identity(channel, str(chat))
            payload: dict[str, Any] = {"text": f"{prefix} {chat}"}
            if buttons:
                payload["buttons"] = buttons
            await uow.outbox.add(
                dedupe_key=f"{prefix}:{chat}", channel=channel, chat_id=str(chat), priority=priority,
                payload=payload, at=h.clock.now(), identity_id=ident.id if ident else None,
                person_id=ident.person_id if ident else None, kind="notice",
            )
        await uow.commit()


def sender(h: Harness, channel: Any, rate: float = 500.0, **kw: Any) -> Sender:
    return Sender(h.sf, h.clock, {channel.name: channel}, {channel.name: rate}, backoff_base=0.01, **kw)


def sent_texts(server: FakeTelegramServer) -> list[str]:
    return [c.params["text"] for c in server.calls_to("sendMessage") if c.ok]


async def statuses(h: Harness) -> Counter[str]:
    async with h.uow() as uow:
        return Counter((await uow.session.execute(select(OutboxItem.status))).scalars().all())


async def wait_until(predicate: Any, timeout: float = 20.0) -> None:  # noqa: ASYNC109
    deadline = time.monotonic() + timeout
    while not predicate():
        assert time.monotonic() < deadline, "timed out"
        await asyncio.sleep(0.01)


# --- order and priority ------------------------------------------------------------------------


async def test_replies_go_before_bulk_and_nothing_is_sent_twice(harness: Harness, server, channel) -> None:
    await queue(harness, list(range(1, 41)), priority=5, prefix="bulk")
    await queue(harness, [900, 901], priority=0, prefix="reply")
    s = sender(harness, channel, concurrency=1)  # one call at a time: arrival order is dispatch order
    assert await s.drain() == 42
    texts = sent_texts(server)
    assert texts[:2] == ["reply 900", "reply 901"]
    assert len(texts) == 42 and len(set(texts)) == 42
    assert server.invalid_calls == []
    assert await statuses(harness) == {"sent": 42}


@pytest.mark.parametrize("woken", [True, False], ids=["woken", "found-by-polling"])
async def test_a_reply_overtakes_a_running_broadcast(harness: Harness, server, channel, woken: bool) -> None:
    await queue(harness, list(range(1, 401)), priority=5, prefix="bulk")
    # Eight slots: the bulk calls already under way when the reply comes are bounded by them below.
    s = sender(harness, channel, rate=100.0, concurrency=8)
    runner = asyncio.create_task(s.run())
    await wait_until(lambda: len(sent_texts(server)) >= 60)
    await queue(harness, [900], priority=0, prefix="reply")
    before = len(sent_texts(server))
    if woken:
        s.wake()
    await wait_until(lambda: "reply 900" in sent_texts(server))
    overtaken = sent_texts(server).index("reply 900") - before
    s.stop()
    await runner
    # About one second of bulk rows is buffered (100 here); the reply must not wait behind them.
    limit = s.concurrency + 3 if woken else s.concurrency + 3 + int(100 * s.poll * 1.5)
    assert overtaken <= limit < 100 // 2, overtaken


class Hanging(FakeChannel):
    """An adapter whose calls never return: the process dies with them under way."""

    def __init__(self) -> None:
        super().__init__()
        self.started: list[str] = []

    async def deliver(self, chat_id: str, payload: dict[str, Any]) -> str | None:
        self.started.append(chat_id)
        await asyncio.Event().wait()
        return None


def count_claimed(monkeypatch: pytest.MonkeyPatch) -> list[int]:
    """Record how many rows each outbox claim takes."""
    taken: list[int] = []
    real = OutboxRepo.claim

    async def claim(self: OutboxRepo, *args: Any, **kwargs: Any) -> Any:
        rows = await real(self, *args, **kwargs)
        taken.append(len(rows))
        return rows

    monkeypatch.setattr(OutboxRepo, "claim", claim)
    return taken


async def test_replies_of_handled_messages_go_straight_to_the_running_sender(
    harness: Harness, server, channel, monkeypatch: pytest.MonkeyPatch
) -> None:
    taken = count_claimed(monkeypatch)
    await harness.add_person(7, "Điểu Hùng", "reporter", "X1-T1")
    s = sender(harness, channel)
    harness.pipeline.handoff = s
    runner = asyncio.create_task(s.run())
    await wait_until(lambda: s.room("telegram") > 0)
    await harness.send(7, "Bà con phản ánh giá phân bón tăng")
    await wait_until(lambda: any("Đã nhận báo cáo số" in t for t in sent_texts(server)))
    for _ in range(500):  # the outcome is committed moments after the call
        if await statuses(harness) == {"sent": 1}:
            break
        await asyncio.sleep(0.01)
    assert await statuses(harness) == {"sent": 1}
    assert sum(taken) == 0, "the reply was handed over, not claimed from the table"
    # A stopping sender takes nothing: the reply waits in the table and the next run sends it.
    s.stop()
    await runner
    assert s.room("telegram") == 0
    await harness.send(7, "Giá lúa giảm mạnh, bà con lo lắng")
    assert await statuses(harness) == {"sent": 1, "pending": 1}
    await sender(harness, channel).drain()
    assert len(sent_texts(server)) == 2 and await statuses(harness) == {"sent": 2}


async def test_a_handed_over_reply_survives_a_crash_before_it_is_sent(harness: Harness, server, channel) -> None:
    await harness.add_person(7, "Điểu Hùng", "reporter", "X1-T1")
    hanging = Hanging()
    crashed = sender(harness, hanging)
    harness.pipeline.handoff = crashed
    runner = asyncio.create_task(crashed.run())
    await wait_until(lambda: crashed.room("telegram") > 0)
    await harness.send(7, "Sạt lở bờ sông, 3 hộ phải di dời")
    await wait_until(lambda: hanging.started == ["7"])
    # The process dies here, its call under way: the table says the row is being sent.
    assert await statuses(harness) == {"sending": 1}
    restarted = sender(harness, channel)
    assert await restarted.requeue_stale(older_than=timedelta(0)) == 1  # what App.start does
    await restarted.drain()
    assert [t for t in sent_texts(server) if "Đã nhận báo cáo số" in t] != []
    assert await statuses(harness) == {"sent": 1}
    for task in crashed._lanes["telegram"].tasks:  # clean up the dead process's call
        task.cancel()
    crashed.stop()
    await runner
    assert await statuses(harness) == {"sent": 1}


async def test_stop_puts_unsent_rows_back_and_a_restart_finishes(harness: Harness, server, channel) -> None:
    await queue(harness, list(range(1, 201)), priority=5, prefix="bulk")
    s = sender(harness, channel, rate=100.0)
    runner = asyncio.create_task(s.run())
    await wait_until(lambda: len(sent_texts(server)) >= 30)
    s.stop()
    await runner
    counts = await statuses(harness)
    assert counts["sending"] == 0 and counts["sent"] == len(sent_texts(server)) and counts["pending"] > 0
    await sender(harness, channel).drain()
    assert Counter(sent_texts(server)) == Counter(f"bulk {i}" for i in range(1, 201))


# --- rate limits and 429 -------------------------------------------------------------------------


async def test_the_configured_rate_is_reached_and_respected(harness: Harness, server, channel) -> None:
    server.global_rate = 20  # the server answers 429 beyond 20 per second
    await queue(harness, list(range(1, 61)), priority=5, prefix="bulk")
    await sender(harness, channel, rate=20.0).drain()
    times = [c.at for c in server.calls_to("sendMessage") if c.ok]
    assert len(times) == 60
    # On a busy machine jitter may still cause a 429; its pause (a second) is left out of the rate,
    # and after it the sender runs at 90 % for a while by design (RateLimiter's slowdown). The
    # window also counts each call from when it really left, so a late event loop (a long test
    # run on a loaded machine) costs some rate rather than risking a 429: 17.3/s seen in CI-like runs.
    limited = len(server.rate_limited_calls)
    gaps = [b - a for a, b in zip(times, times[1:], strict=False)]
    achieved = len(gaps) / sum(g for g in gaps if g < 0.5)
    assert 0.8 * 20 * 0.9**limited <= achieved <= 20.5, (achieved, limited)
    assert limited <= 2, "evenly spaced permits should stay under the limit"


async def test_429_pauses_the_whole_channel_and_every_message_still_arrives_once(
    harness: Harness, server, channel
) -> None:
    server.global_rate = 10
    await queue(harness, list(range(1, 31)), priority=5, prefix="bulk")
    s = sender(harness, channel, rate=40.0)  # four times what the server allows
    await s.drain()
    counts = Counter(sent_texts(server))
    assert len(counts) == 30 and max(counts.values()) == 1
    limited = server.rate_limited_calls
    assert limited and s.stats["rate_limited"] == len(limited)
    calls = server.calls_to("sendMessage")
    for hit in limited:
        retry_after = int(hit.error.rsplit(" ", 1)[-1])
        # Calls already on the wire may land just after the 429; after that, silence on every chat.
        during = [c for c in calls if hit.at + 0.15 < c.at < hit.at + retry_after - 0.05]
        assert during == [], f"{len(during)} calls during the pause after a 429"
    async with harness.uow() as uow:
        rows = (await uow.session.execute(select(OutboxItem))).scalars().all()
    assert all(r.status == "sent" and r.attempts == 1 for r in rows), "a 429 is not a failed attempt"


async def test_a_long_flood_wait_hands_the_rows_back(harness: Harness) -> None:
    fake = FakeChannel()
    fake.errors["1"] = [ChannelRateLimited(60, "Too Many Requests: retry after 60")]
    await queue(harness, list(range(1, 11)), priority=5, prefix="bulk")
    s = sender(harness, fake, concurrency=1)
    started = time.monotonic()
    await s.drain()
    assert time.monotonic() - started < 5, "a worker must not sit on rows through a long flood wait"
    async with harness.uow() as uow:
        rows = (await uow.session.execute(select(OutboxItem))).scalars().all()
    waiting = [r for r in rows if r.status == "pending"]
    assert waiting and all(r.not_before and r.not_before >= harness.clock.now() + timedelta(seconds=59) for r in waiting)
    assert {r.status for r in rows} <= {"pending", "sent"} and len(fake.sent) + len(waiting) == 10


async def test_bulk_rows_to_one_chat_are_one_second_apart(harness: Harness, server, channel) -> None:
    server.per_chat_rate = 1
    async with harness.uow() as uow:
        for n in range(3):
            await uow.outbox.add(dedupe_key=f"same:{n}", channel="telegram", chat_id="5", priority=5,
                                 payload={"text": f"same {n}"}, at=harness.clock.now())
        await uow.commit()
    await queue(harness, list(range(10, 20)), priority=5, prefix="other")
    await sender(harness, channel).drain()
    same = [c.at for c in server.calls_to("sendMessage") if c.params["chat_id"] == 5]
    others = [c.at for c in server.calls_to("sendMessage") if c.params["chat_id"] != 5]
    assert len(same) == 3 and server.rate_limited_calls == []
    assert all(b - a >= 0.95 for a, b in zip(same, same[1:], strict=False))
    assert max(others) < same[1], "other chats do not wait for one busy chat"


def test_the_rate_limiter_never_grants_more_than_the_rate_in_a_second() -> None:
    async def grab(limiter: RateLimiter, n: int) -> list[float]:
        times = []
        for _ in range(n):
            await limiter.acquire()
            times.append(time.monotonic())
        return times

    times = asyncio.run(grab(RateLimiter(50.0), 120))
    assert all(times[i + 50] - times[i] >= 1.0 for i in range(len(times) - 50))
    assert (len(times) - 1) / (times[-1] - times[0]) >= 0.95 * 50


# --- failures ------------------------------------------------------------------------------------


async def test_blocked_user_is_marked_inactive_and_not_retried(harness: Harness, server, channel) -> None:
    await harness.add_person(77, "Người Chặn", "reporter", "X1-T1")
    server.block_user(77)
    await queue(harness, [77], priority=5, prefix="bulk")
    await sender(harness, channel).drain()
    async with harness.uow() as uow:
        row = (await uow.session.execute(select(OutboxItem))).scalar_one()
        ident = (await uow.session.execute(select(Identity))).scalar_one()
    assert row.status == "failed" and (row.error or "").startswith("blocked") and not ident.active
    assert len(server.calls_to("sendMessage")) == 1


async def test_server_errors_are_retried_with_backoff_then_fail_with_reason(harness: Harness, server, channel) -> None:
    await queue(harness, [5], priority=5, prefix="bulk")
    server.fail_next("sendMessage", status=500, count=2)
    s = sender(harness, channel)
    for _ in range(3):
        await s.drain()
        harness.clock.advance(seconds=10)
    assert sent_texts(server) == ["bulk 5"]
    await queue(harness, [6], priority=5, prefix="doomed")
    server.fail_next("sendMessage", status=502, count=10)
    s = sender(harness, channel, max_attempts=3)
    for _ in range(4):
        await s.drain()
        harness.clock.advance(seconds=10)
    async with harness.uow() as uow:
        row = (await uow.session.execute(select(OutboxItem).where(OutboxItem.dedupe_key == "doomed:6"))).scalar_one()
    assert row.status == "failed" and row.attempts == 3 and "unavailable" in (row.error or "")


async def test_timeouts_back_off_exponentially(harness: Harness) -> None:
    fake = FakeChannel()
    fake.errors["8"] = [ChannelUnavailable("timeout")] * 3
    await queue(harness, [8], priority=5, prefix="slow")
    s = Sender(harness.sf, harness.clock, {"telegram": fake}, {"telegram": 500.0}, backoff_base=4.0, max_attempts=5)
    delays = []
    for _ in range(4):
        await s.drain()
        async with harness.uow() as uow:
            row = (await uow.session.execute(select(OutboxItem))).scalar_one()
        if row.status == "pending":
            assert row.not_before is not None
            delays.append((row.not_before - harness.clock.now()).total_seconds())
            harness.clock.set(row.not_before)
    assert row.status == "sent" and row.attempts == 4 and len(delays) == 3
    assert all(0.5 * 4.0 ** (n + 1) <= d <= 1.5 * 4.0 ** (n + 1) for n, d in enumerate(delays)), delays


async def test_listeners_hear_outcomes_and_numbered_choices_follow_delivery(harness: Harness) -> None:
    fake = FakeChannel("zalo")
    await harness.add_person("z1", "Người Zalo", "reporter", "X1-T1", channel="zalo")
    buttons = [[{"label": "Đã nhận", "payload": "nack:3"}]]
    await queue(harness, ["z1"], priority=5, prefix="notice", channel="zalo", buttons=buttons)  # type: ignore[list-item]
    heard: list[Outcome] = []
    s = sender(harness, fake)
    s.listeners.append(heard.extend)
    await s.drain()
    assert [(o.status, o.dedupe_key, o.kind) for o in heard] == [("sent", "notice:z1", "notice")]
    async with harness.uow() as uow:
        ident = await uow.people.identity("zalo", "z1")
    assert ident is not None and ident.menu == ["nack:3"]


# --- crash and several workers -------------------------------------------------------------------


async def test_kill_9_mid_broadcast_then_restart_loses_nothing(harness: Harness, server: FakeTelegramServer) -> None:
    """A real worker process is killed with SIGKILL half way; the restarted one finishes the job."""
    await queue(harness, list(range(1, 401)), priority=5, prefix="bulk")
    cmd = worker_command(harness.settings.database_url, server.base_url, server.token, rate=100.0, concurrency=8)
    proc = await start_worker(cmd)
    await wait_until(lambda: len(sent_texts(server)) >= 150 or proc.returncode is not None, timeout=60)
    os.kill(proc.pid, signal.SIGKILL)
    await proc.wait()
    held = (await statuses(harness))["sending"]
    events = await worker_events(await start_worker(cmd))
    assert events[0]["requeued"] == held
    counts = Counter(sent_texts(server))
    assert set(counts) == {f"bulk {i}" for i in range(1, 401)}, "no message lost"
    duplicates = sum(n - 1 for n in counts.values())
    assert duplicates <= 8, f"{duplicates} duplicates: more than the rows in flight at the kill"
    assert await statuses(harness) == {"sent": 400}


@pytest.mark.skipif(not USE_PG, reason="several workers need PostgreSQL (FOR UPDATE SKIP LOCKED); set DATABASE_URL")
async def test_two_worker_processes_share_the_outbox_without_sending_twice(
    harness: Harness, server: FakeTelegramServer
) -> None:
    await queue(harness, list(range(1, 801)), priority=5, prefix="bulk")
    cmd = worker_command(harness.settings.database_url, server.base_url, server.token, rate=100.0,
                         concurrency=8, requeue_older_than=120)
    procs = [await start_worker(cmd), await start_worker(cmd)]
    results = await asyncio.wait_for(asyncio.gather(*(worker_events(p) for p in procs)), timeout=120)
    counts = Counter(sent_texts(server))
    assert set(counts) == {f"bulk {i}" for i in range(1, 801)} and max(counts.values()) == 1
    per_worker = [events[-1]["stats"]["sent"] for events in results]
    assert sum(per_worker) == 800 and min(per_worker) > 100, per_worker
    assert await statuses(harness) == {"sent": 800}
