"""The outbox sender against the fake Bot API: order, rate limits, 429, blocked users, retries, crash resume."""

from __future__ import annotations

import asyncio
from collections import Counter
from datetime import timedelta

import pytest
from aiogram import Bot
from aiogram.client.session.aiohttp import AiohttpSession
from aiogram.client.telegram import TelegramAPIServer
from sqlalchemy import select

from bot.sandbox.fake_telegram import FakeTelegramServer
from bot.sender import Sender
from bot.telegram.channel import TelegramChannel
from storage.models import Identity, OutboxItem
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


async def queue(h: Harness, chat_ids: list[int], *, priority: int, prefix: str) -> None:
    async with h.uow() as uow:
        for chat in chat_ids:
            ident = await uow.people.identity("telegram", str(chat))
            await uow.outbox.add(
                dedupe_key=f"{prefix}:{chat}", channel="telegram", chat_id=str(chat), priority=priority,
                payload={"text": f"{prefix} {chat}"}, at=h.clock.now(), identity_id=ident.id if ident else None,
                person_id=ident.person_id if ident else None, kind="notice",
            )
        await uow.commit()


def sender(h: Harness, channel: TelegramChannel, rate: float = 200.0, **kw) -> Sender:
    return Sender(h.sf, h.clock, {"telegram": channel}, {"telegram": rate}, backoff_base=0.01, **kw)


def sent_texts(server: FakeTelegramServer) -> list[str]:
    return [c.params["text"] for c in server.calls_to("sendMessage") if c.ok]


async def test_replies_go_before_bulk_and_nothing_is_sent_twice(harness: Harness, server, channel) -> None:
    await queue(harness, list(range(1, 41)), priority=5, prefix="bulk")
    await queue(harness, [900, 901], priority=0, prefix="reply")
    s = sender(harness, channel)
    assert await s.drain() == 42
    texts = sent_texts(server)
    assert texts[:2] == ["reply 900", "reply 901"]
    assert len(texts) == 42 and len(set(texts)) == 42
    assert server.invalid_calls == []


async def test_429_pauses_the_channel_and_every_message_still_arrives_once(harness: Harness, server, channel) -> None:
    server.global_rate = 10
    from bot.sandbox import fake_telegram

    server._global_window = fake_telegram._Window(10, 1.0)
    await queue(harness, list(range(1, 31)), priority=5, prefix="bulk")
    s = sender(harness, channel, rate=40)
    deadline = asyncio.get_running_loop().time() + 20
    while asyncio.get_running_loop().time() < deadline:
        await s.drain()
        async with harness.uow() as uow:
            if await uow.outbox.pending_count() == 0:
                break
        harness.clock.advance(seconds=2)
        await asyncio.sleep(0.2)
    counts = Counter(sent_texts(server))
    assert len(counts) == 30 and max(counts.values()) == 1
    assert len(server.rate_limited_calls) >= 1 and s.stats["rate_limited"] >= 1


async def test_blocked_user_is_marked_inactive_and_not_retried(harness: Harness, server, channel) -> None:
    await harness.add_person(77, "Người Chặn", "reporter", "X1-T1")
    server.block_user(77)
    await queue(harness, [77], priority=5, prefix="bulk")
    await sender(harness, channel).drain()
    async with harness.uow() as uow:
        row = (await uow.session.execute(select(OutboxItem))).scalar_one()
        ident = (await uow.session.execute(select(Identity))).scalar_one()
    assert row.status == "failed" and row.error.startswith("blocked") and not ident.active
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
    assert row.status == "failed" and row.attempts == 3 and "unavailable" in row.error


async def test_rows_in_flight_at_a_crash_are_sent_again_and_nothing_else(harness: Harness, server, channel) -> None:
    await queue(harness, list(range(1, 21)), priority=5, prefix="bulk")
    s = sender(harness, channel, concurrency=4)
    claimed = await s._claim("telegram")  # the crash happens right after the claim: nothing recorded
    for row in claimed[:2]:  # two of the four had reached Telegram before the crash
        await channel.deliver(row.chat_id, row.payload)
    restarted = sender(harness, channel, concurrency=4)
    assert await restarted.requeue_stale(older_than=timedelta(0)) == 4
    await restarted.drain()
    counts = Counter(sent_texts(server))
    assert len(counts) == 20, "no message lost"
    assert sum(v - 1 for v in counts.values()) == 2, "only messages in flight at the crash are duplicated"
